package pluginv1

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ErrNoBroker is returned by [ServeHost] for an [Endpoint] that has no
// go-plugin broker (one from [NewClient] rather than [Dispense]).
var ErrNoBroker = errors.New("pluginv1: endpoint has no go-plugin broker")

// ConfigureOption adjusts one [Endpoint.Configure] call.
type ConfigureOption func(*ConfigureRequest)

// WithHostService tells the plugin the go-plugin broker id on which the host
// serves the Host service for it (see [ServeHost]); 0 means none.
func WithHostService(brokerID uint32) ConfigureOption {
	return func(r *ConfigureRequest) { r.HostServiceBrokerId = brokerID }
}

// ServeHost serves impl to the plugin behind ep over go-plugin's broker and
// returns the broker id to hand to the plugin with [WithHostService]. The
// server runs until the plugin client is killed (go-plugin closes the
// broker then). ep must come from [Dispense]; otherwise ServeHost returns
// [ErrNoBroker]. Each call starts another server under a new id; safe for
// concurrent use.
func ServeHost(ep Endpoint, impl HostServer) (uint32, error) {
	c, ok := ep.(*client)
	if !ok || c.broker == nil {
		return 0, ErrNoBroker
	}
	id := c.broker.NextId()
	size := c.maxSize
	go c.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(append(opts, ServerOptions(size)...)...)
		RegisterHostServer(s, impl)
		return s
	})
	return id, nil
}

// HostDialer connects to the Host service the host serves under a broker id.
// The returned closer releases the connection.
type HostDialer func(ctx context.Context, brokerID uint32) (HostClient, func() error, error)

// HostUser is implemented by an [EndpointServer] that makes outgoing calls
// through the host: on the plugin side [GRPCPlugin.GRPCServer] hands it a
// [HostDialer] over go-plugin's broker before serving, so its Configure can
// dial ConfigureRequest.host_service_broker_id.
type HostUser interface {
	SetHostDialer(d HostDialer)
}

// brokerDialer dials the host over broker with the message size cap size.
func brokerDialer(broker *plugin.GRPCBroker, size int) HostDialer {
	return func(_ context.Context, id uint32) (HostClient, func() error, error) {
		conn, err := broker.DialWithOptions(id, DialOptions(size)...)
		if err != nil {
			return nil, nil, fmt.Errorf("dial host service %d: %w", id, err)
		}
		return NewHostClient(conn), conn.Close, nil
	}
}

// WithTelemetry hands the plugin the host's span export settings; nil
// (tracing off) sends none.
func WithTelemetry(t *Telemetry) ConfigureOption {
	return func(r *ConfigureRequest) { r.Telemetry = t }
}
