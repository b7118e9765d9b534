package host

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/internal/transportx/wrap"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// hostService implements the Host service the host offers its plugins
// (plugin/pluginv1/host.proto): outgoing calls, casts and notifications
// over the host's own broker connection, so a plugin needs no broker
// credentials. One serves every plugin of a Host; it is safe for
// concurrent use.
//
// Plugins start before Host.Start dials the broker (a plugin that fails is
// reported without waiting for the broker), so a request arriving before
// the connection exists waits for it, bounded by the request's context. A
// plugin calling through the host from its configure hook therefore waits
// until the host is connected, which happens only after every plugin has
// started: its configure hook times out instead. Call the host from RPC
// methods and notification handlers (or later goroutines), not from Configure.
type hostService struct {
	pluginv1.UnimplementedHostServer

	h   *Host
	log hclog.Logger

	once sync.Once
	t    *client.Transport // set by once, after the connection exists
}

var _ pluginv1.HostServer = (*hostService)(nil)

func newHostService(h *Host) *hostService {
	return &hostService{h: h, log: h.log.Named("host_service")}
}

// transport waits for the host's broker connection (until ctx ends) and
// returns the transport over it, created on first use. It is never closed:
// it shares the host's connection, which Host.Shutdown closes.
func (s *hostService) transport(ctx context.Context) (*client.Transport, error) {
	select {
	case <-s.h.connReady:
	case <-ctx.Done():
		return nil, status.FromContextError(context.Cause(ctx)).Err()
	}
	s.once.Do(func() {
		s.h.mu.RLock()
		conn, exchange := s.h.conn, s.h.cfg.Transport.ControlExchange
		s.h.mu.RUnlock()
		s.t = wrap.Conn(conn, s.h.url.Options, exchange, s.log)
	})
	return s.t, nil
}

func (s *hostService) Call(ctx context.Context, req *pluginv1.HostCallRequest) (resp *pluginv1.HostCallResponse, err error) {
	ctx, span := tracing.StartFromTraceparent(ctx, req.GetTraceparent(), "host.call", req.GetMethod())
	defer func() { span.End(err) }()
	t, err := s.transport(ctx)
	if err != nil {
		return nil, err
	}
	opts := []client.Option{}
	if ms := req.GetTimeoutMs(); ms > 0 {
		opts = append(opts, client.Timeout(time.Duration(ms)*time.Millisecond))
	}
	if ms := req.GetCallMonitorTimeoutMs(); ms > 0 {
		opts = append(opts, client.CallMonitorTimeout(time.Duration(ms)*time.Millisecond))
	}
	c := client.New(t, target(req.GetTarget()), opts...)
	var result json.RawMessage
	err = c.Call(ctx, rawObject(req.GetContextJson()), req.GetMethod(), rawObject(req.GetArgsJson()), &result)
	var re *client.RemoteError
	if errors.As(err, &re) {
		return &pluginv1.HostCallResponse{Outcome: &pluginv1.HostCallResponse_Failure{Failure: failureOf(re)}}, nil
	}
	if err != nil {
		return nil, statusOf(err)
	}
	return &pluginv1.HostCallResponse{Outcome: &pluginv1.HostCallResponse_ResultJson{ResultJson: result}}, nil
}

func (s *hostService) Cast(ctx context.Context, req *pluginv1.HostCastRequest) (resp *pluginv1.HostCastResponse, err error) {
	ctx, span := tracing.StartFromTraceparent(ctx, req.GetTraceparent(), "host.cast", req.GetMethod())
	defer func() { span.End(err) }()
	if ms := req.GetTimeoutMs(); ms > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
		defer cancel()
	}
	t, err := s.transport(ctx)
	if err != nil {
		return nil, err
	}
	c := client.New(t, target(req.GetTarget()))
	if err := c.Cast(ctx, rawObject(req.GetContextJson()), req.GetMethod(), rawObject(req.GetArgsJson())); err != nil {
		return nil, statusOf(err)
	}
	return &pluginv1.HostCastResponse{}, nil
}

func (s *hostService) Notify(ctx context.Context, req *pluginv1.HostNotifyRequest) (resp *pluginv1.HostNotifyResponse, err error) {
	ctx, span := tracing.StartFromTraceparent(ctx, req.GetTraceparent(), "host.notify", req.GetEventType())
	defer func() { span.End(err) }()
	t, err := s.transport(ctx)
	if err != nil {
		return nil, err
	}
	var opts []client.NotifierOption
	if len(req.GetTopics()) > 0 {
		opts = append(opts, client.Topics(req.GetTopics()...))
	}
	n, err := client.NewNotifier(t, req.GetPublisherId(), opts...)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	payload := json.RawMessage("null")
	if len(req.GetPayloadJson()) > 0 {
		payload = req.GetPayloadJson()
	}
	if err := n.Notify(ctx, rawObject(req.GetContextJson()), req.GetPriority(), req.GetEventType(), payload); err != nil {
		return nil, statusOf(err)
	}
	return &pluginv1.HostNotifyResponse{}, nil
}

func target(t *pluginv1.HostTarget) oslo.Target {
	return oslo.Target{
		Exchange: t.GetExchange(), Topic: t.GetTopic(), Server: t.GetServer(),
		Namespace: t.GetNamespace(), Version: t.GetVersion(), Fanout: t.GetFanout(),
	}
}

// rawObject is b as a JSON value for the client, nil when empty.
func rawObject(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

func failureOf(re *client.RemoteError) *pluginv1.Failure { return pluginv1.FailureOf(re.Failure()) }

// statusOf maps a client error to the gRPC status the Host service
// promises: timeouts DeadlineExceeded, undeliverable NotFound, bad input
// InvalidArgument, anything else (the broker path) Unavailable.
func statusOf(err error) error {
	var vc *client.VersionCapError
	switch {
	case errors.Is(err, client.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, client.ErrUndeliverable):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, client.ErrInvalidTarget), errors.Is(err, client.ErrInvalidPriority),
		errors.Is(err, client.ErrUnknownDriver), errors.As(err, &vc):
		return status.Error(codes.InvalidArgument, err.Error())
	}
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return err
	}
	return status.Error(codes.Unavailable, err.Error())
}
