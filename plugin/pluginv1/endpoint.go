package pluginv1

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Endpoint is the host's view of a running endpoint plugin. Implementations
// returned by this package are safe for concurrent use; the host still calls
// Configure once and before Describe, and Describe before Invoke and Notify.
//
// Errors returned by these methods are gRPC status errors: the call could not
// be made or the plugin refused it (codes.FailedPrecondition when not
// configured, codes.InvalidArgument for a bad config, codes.NotFound for an
// unknown notification handler, codes.ResourceExhausted for a request or
// result over the message size cap, codes.Unavailable when the plugin's
// Calls stream broke with the call pending). A method's own error is not an
// error here but InvokeResponse.GetFailure(), or a REQUEUE NotifyResult.
//
// Invoke and Notify are calls on the plugin's one Calls stream (calls.go):
// the context's deadline travels in the frame and its cancellation sends a
// cancel frame.
type Endpoint interface {
	// Configure hands the plugin its name and its config block (a JSON
	// object; nil or empty when none is configured). Of opts,
	// [WithHostService] tells the plugin where the host serves it the Host
	// service.
	Configure(ctx context.Context, pluginName string, configJSON []byte, opts ...ConfigureOption) error
	// Describe lists the endpoints the plugin serves, in dispatch order.
	Describe(ctx context.Context) (*DescribeResponse, error)
	// Invoke calls one method of a described endpoint.
	Invoke(ctx context.Context, req *InvokeRequest) (*InvokeResponse, error)
	// Notify hands notifications to a described notification handler. A
	// response always holds exactly one result per notification, in order;
	// a plugin answering otherwise yields a codes.Internal error.
	Notify(ctx context.Context, req *NotifyRequest) (*NotifyResponse, error)
	// Close runs the plugin's close hook. Idempotent on the plugin side.
	Close(ctx context.Context) error
}

// GRPCPlugin is the go-plugin glue of the endpoint plugin (gRPC only). On the
// plugin side Impl is the server registered with the gRPC server; on the host
// side Impl is nil and GRPCClient returns an [Endpoint]. go-plugin calls its
// methods; it holds no state of its own beyond Impl.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl EndpointServer

	client  []ClientOption // host side: options of the client GRPCClient returns
	maxSize int            // plugin side: the message size cap of connections to the host service
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers Impl with s. It is called by go-plugin in the plugin
// process. An Impl implementing [HostUser] gets a [HostDialer] over broker
// (none when broker is nil, as in in-process tests).
func (p *GRPCPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return fmt.Errorf("pluginv1: GRPCPlugin.Impl is nil")
	}
	if hu, ok := p.Impl.(HostUser); ok && broker != nil {
		hu.SetHostDialer(brokerDialer(broker, p.maxSize))
	}
	RegisterEndpointServer(s, p.Impl)
	return nil
}

// GRPCClient returns an [Endpoint] over c. It is called by go-plugin in the
// host; the endpoint keeps broker for [ServeHost].
func (p *GRPCPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	ep := NewClient(c, p.client...).(*client)
	ep.broker = broker
	return ep, nil
}

// NewClient returns an [Endpoint] that calls the plugin served on cc. The host
// normally gets one from [Dispense]; NewClient serves in-process tests. Of
// opts, [WithMaxMessageSize] (the cap cc was dialled with, from
// [DialOptions]) applies.
//
// Invoke and Notify calls are multiplexed over one long-lived Calls stream,
// opened on the first call and again on the next call after it broke. A
// call pending when the stream breaks fails with codes.Unavailable. The
// stream's receiving goroutine ends when the stream does: when cc is closed
// or the plugin goes away.
func NewClient(cc grpc.ClientConnInterface, opts ...ClientOption) Endpoint {
	var o clientOptions
	for _, opt := range opts {
		opt(&o)
	}
	c := &client{c: NewEndpointClient(cc), maxSize: effectiveSize(o.maxMessageSize)}
	c.mux = newCallMux(c.c, c.maxSize)
	return c
}

// Dispense returns the [Endpoint] of a started plugin client:
//
//	c := plugin.NewClient(pluginv1.ClientConfig(cmd, logger))
//	rpc, err := c.Client()
//	...
//	ep, err := pluginv1.Dispense(rpc)
func Dispense(c plugin.ClientProtocol) (Endpoint, error) {
	raw, err := c.Dispense(PluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense %q: %w", PluginName, err)
	}
	ep, ok := raw.(Endpoint)
	if !ok {
		return nil, fmt.Errorf("dispense %q: got %T, want pluginv1.Endpoint", PluginName, raw)
	}
	return ep, nil
}

type client struct {
	c       EndpointClient
	mux     *callMux
	broker  *plugin.GRPCBroker // nil: from NewClient, no host service
	maxSize int
}

var _ Endpoint = (*client)(nil)

func (c *client) Configure(ctx context.Context, pluginName string, configJSON []byte, opts ...ConfigureOption) error {
	req := &ConfigureRequest{PluginName: pluginName, ConfigJson: configJSON}
	for _, o := range opts {
		o(req)
	}
	_, err := c.c.Configure(ctx, req)
	return err
}

func (c *client) Describe(ctx context.Context) (*DescribeResponse, error) {
	return c.c.Describe(ctx, &DescribeRequest{})
}

func (c *client) Invoke(ctx context.Context, req *InvokeRequest) (*InvokeResponse, error) {
	res, err := c.mux.call(ctx, &CallFrame{Op: &CallFrame_Invoke{Invoke: req}})
	return outcomeOf(res, err, (*CallResult).GetInvoke, "invoke")
}

func (c *client) Notify(ctx context.Context, req *NotifyRequest) (*NotifyResponse, error) {
	res, err := c.mux.call(ctx, &CallFrame{Op: &CallFrame_Notify{Notify: req}})
	resp, err := outcomeOf(res, err, (*CallResult).GetNotify, "notify")
	if err != nil {
		return nil, err
	}
	if got, want := len(resp.GetResults()), len(req.GetNotifications()); got != want {
		return nil, status.Errorf(codes.Internal, "plugin returned %d notify results for %d notifications", got, want)
	}
	return resp, nil
}

// outcomeOf is the response of the kind get returns in the result of a
// call, or the call's error; a result of another kind is codes.Internal.
func outcomeOf[T any](res *CallResult, err error, get func(*CallResult) *T, kind string) (*T, error) {
	if err != nil {
		return nil, err
	}
	if resp := get(res); resp != nil {
		return resp, nil
	}
	return nil, status.Errorf(codes.Internal, "plugin answered a %s frame with another result", kind)
}

func (c *client) Close(ctx context.Context) error {
	_, err := c.c.Close(ctx, &CloseRequest{})
	return err
}
