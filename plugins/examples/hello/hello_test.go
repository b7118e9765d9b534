package main

import (
	"context"
	"testing"

	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
)

func TestHello(t *testing.T) {
	// sdktest serves the endpoint in-process, through the real plugin protocol.
	h := sdktest.New(t, sdk.Endpoint{Version: "1.0", Impl: Greeter{}})

	var got string
	if err := h.Call(context.Background(), "hello", map[string]any{"name": "oslo"}, &got); err != nil {
		t.Fatal(err)
	}
	if got != "hello, oslo" {
		t.Errorf("hello(name=oslo) = %q, want %q", got, "hello, oslo")
	}
}
