// Command helloplugin is a plugin built and launched by the SDK's subprocess test.
package main

import (
	"context"

	"github.com/oslohost/oslohost/plugin/sdk"
)

type Greeter struct {
	greeting string
}

type HelloArgs struct {
	Name string `json:"name"`
}

func (g *Greeter) Configure(_ context.Context, cfg sdk.Config) error {
	g.greeting = "hello"
	var c struct {
		Greeting string `json:"greeting"`
	}
	if err := cfg.Decode(&c); err != nil {
		return err
	}
	if c.Greeting != "" {
		g.greeting = c.Greeting
	}
	return nil
}

func (g *Greeter) Hello(ctx context.Context, a HelloArgs) (string, error) {
	if a.Name == "" {
		return "", sdk.ValueError("name is empty")
	}
	sdk.Logger(ctx).Info("saying hello", "name", a.Name)
	return g.greeting + ", " + a.Name, nil
}

func (g *Greeter) Boom(context.Context) (any, error) {
	panic("boom")
}

// Greetings handles info notifications: handled, requeued when the payload
// asks for it, or a panic.
type Greetings struct{}

func (Greetings) Info(ctx context.Context, n sdk.Notification) (sdk.NotificationResult, error) {
	var p struct {
		Requeue bool `json:"requeue"`
		Panic   bool `json:"panic"`
	}
	if err := n.DecodePayload(&p); err != nil {
		return sdk.Requeue, err
	}
	if p.Panic {
		panic("notification boom")
	}
	sdk.Logger(ctx).Info("greeting noted", "publisher_id", n.PublisherID)
	if p.Requeue {
		return sdk.Requeue, nil
	}
	return sdk.Handled, nil
}

func main() {
	sdk.ServeAll(
		sdk.Endpoint{Version: "1.2", Impl: &Greeter{}},
		sdk.Notifications{Name: "greetings", Impl: Greetings{}},
	)
}
