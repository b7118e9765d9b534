package host

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/host/internal/supervisor"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/listener"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// notifyTimeout bounds one delivery of notifications to a plugin.
const notifyTimeout = time.Minute

// listenerEntry is one running listener block.
type listenerEntry struct {
	cfg  *config.Listener
	exec *config.Executor
	l    *listener.Listener
}

// startListener starts a listener block: its queues, filter, executor and
// the handler that forwards notifications to its plugins.
func (h *Host) startListener(ctx context.Context, cfg *config.Config, lc *config.Listener) error {
	e, err := h.newListener(ctx, cfg, lc)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.lsns[lc.Name] = e
	h.mu.Unlock()
	return nil
}

// newListener starts a listener block consuming, without adding it to the
// host's listeners.
func (h *Host) newListener(ctx context.Context, cfg *config.Config, lc *config.Listener) (*listenerEntry, error) {
	ec, exec, err := blockExecutor(cfg, "listener", lc.Name, lc.Executor)
	if err != nil {
		return nil, err
	}
	filter, err := listener.FilterSpec{EventType: anyOf(lc.EventTypes), PublisherID: anyOf(lc.PublisherIDs)}.Compile()
	if err != nil {
		return nil, fmt.Errorf("listener %q: %w", lc.Name, err)
	}
	var targets []listener.Target
	for _, t := range lc.Topics {
		targets = append(targets, listener.Target{Topic: t, Exchange: lc.Exchange})
	}
	fw := &notifyForwarder{sup: h.sup, log: h.log, plugins: lc.Plugins, name: lc.Name}
	lcfg := listener.Config{
		Exchange: cfg.Transport.ControlExchange,
		Targets:  targets, Priorities: lc.Priorities, Pool: lc.Pool, Filter: filter,
		Executor: exec, Prefetch: cfg.Transport.Prefetch, AllowRequeue: lc.AllowRequeue,
		MaxRequeues: lc.MaxRequeues, MaxBodySize: cfg.Host.MaxMessageSize,
		Observe:    h.metrics.listenerObserver(lc.Name),
		Logger:     h.log.Named("listener").Named(lc.Name),
		Handler:    listener.HandlerFunc(fw.handleOne),
		Duplicates: h.duplicates("listener", lc.Name),
	}
	if lc.Batch != nil {
		lcfg.Batch = &listener.BatchConfig{Size: lc.Batch.Size, Timeout: lc.Batch.Timeout.Duration()}
		lcfg.BatchHandler, lcfg.Handler = listener.BatchHandlerFunc(fw.handle), nil
	}
	l, err := listener.New(h.transport(cfg), lcfg)
	if err != nil {
		return nil, fmt.Errorf("listener %q: %w", lc.Name, err)
	}
	if err := l.Start(ctx); err != nil {
		return nil, fmt.Errorf("listener %q: %w", lc.Name, err)
	}
	return &listenerEntry{cfg: lc, exec: ec, l: l}, nil
}

// anyOf joins regular expressions into one that matches any of them.
func anyOf(exprs []string) string {
	if len(exprs) == 0 {
		return ""
	}
	parts := make([]string, len(exprs))
	for i, e := range exprs {
		parts[i] = "(?:" + e + ")"
	}
	return strings.Join(parts, "|")
}

func (h *Host) connection() *rabbit.Conn {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.conn
}

// notifyForwarder hands notifications to the notification handlers of a
// listener's plugins. A message is handled when every handler that takes
// its priority handled it; any requeue, error or plugin failure requeues it
// (the listener then redelivers it, bounded by max_requeues).
type notifyForwarder struct {
	sup     *supervisor.Supervisor
	log     hclog.Logger
	name    string
	plugins []string
}

func (f *notifyForwarder) handleOne(ctx context.Context, m *listener.Message) (listener.Result, error) {
	res, err := f.handle(ctx, []*listener.Message{m})
	if err != nil {
		return listener.Requeue, err
	}
	return res[0], nil
}

func (f *notifyForwarder) handle(ctx context.Context, batch []*listener.Message) ([]listener.Result, error) {
	results := make([]listener.Result, len(batch))
	delivered := false
	for _, name := range f.plugins {
		p := f.sup.Plugin(name)
		if p == nil {
			continue
		}
		ok, err := f.toPlugin(ctx, p, batch, results)
		if err != nil {
			return nil, fmt.Errorf("plugin %q: %w", name, err)
		}
		delivered = delivered || ok
	}
	if !delivered {
		f.log.Debug("no notification handler takes these notifications; acking", "listener", f.name, "priority", batch[0].Priority)
	}
	return results, nil
}

// toPlugin delivers the messages each handler of one plugin takes, and
// marks in results those it asked to requeue.
func (f *notifyForwarder) toPlugin(ctx context.Context, p *supervisor.Plugin, batch []*listener.Message, results []listener.Result) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	call, err := p.Begin(ctx, false)
	if err != nil {
		return false, err
	}
	defer call.End()
	ctx = call.Context()
	delivered := false
	for _, hi := range call.Description().GetNotificationHandlers() {
		var idx []int
		var spans []tracing.Span // one per notification when tracing is on
		req := &pluginv1.NotifyRequest{Handler: hi.GetName()}
		req.SetDeadline(time.Now().Add(notifyTimeout))
		for i, m := range batch {
			if !slices.Contains(hi.GetPriorities(), m.Priority) {
				continue
			}
			ctxJSON, _ := json.Marshal(m.Context)
			pn := &pluginv1.Notification{
				Priority: m.Priority, PublisherId: m.PublisherID, EventType: m.EventType,
				PayloadJson: m.Payload, ContextJson: ctxJSON, MessageId: m.Metadata.MessageID,
				Timestamp: m.Metadata.Timestamp, Redelivered: m.Redelivered, Attempts: int32(m.Attempts),
			}
			if tracing.On() {
				nctx, sp := tracing.StartNotification(ctx, m.Context, m.EventType, m.PublisherID)
				sp.SetAttributes(tracing.PluginAttr(p.Name()))
				pn.Traceparent = tracing.Traceparent(nctx)
				spans = append(spans, sp)
			}
			req.Notifications = append(req.Notifications, pn)
			idx = append(idx, i)
		}
		if len(idx) == 0 {
			continue
		}
		delivered = true
		resp, err := call.Endpoint().Notify(ctx, req)
		for _, sp := range spans {
			sp.End(err)
		}
		if err != nil {
			return delivered, err
		}
		for j, r := range resp.GetResults() {
			if r.GetOutcome() == pluginv1.NotifyResult_REQUEUE {
				results[idx[j]] = listener.Requeue
				if e := r.GetError(); e != "" {
					f.log.Warn("notification handler failed; requeueing", "listener", f.name, "plugin", p.Name(),
						"handler", hi.GetName(), "event_type", batch[idx[j]].EventType, "error", e)
				}
			}
		}
	}
	return delivered, nil
}
