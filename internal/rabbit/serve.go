package rabbit

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/oslo"
)

// WaitReady waits until cs is consuming (nil), failed for good (its Err),
// or ctx ends (then it stops cs and returns the cause): the start of an RPC
// server and of a notification listener.
func (cs *Consumer) WaitReady(ctx context.Context) error {
	select {
	case <-cs.Ready():
		return nil
	case <-cs.Failed():
		return cs.Err()
	case <-ctx.Done():
		_ = cs.Stop(context.Background())
		return context.Cause(ctx)
	}
}

// Serve runs start, waits until ctx ends, then runs shutdown with drain to
// finish: the Run of an RPC server and of a notification listener.
func Serve(ctx context.Context, drain time.Duration, start, shutdown func(context.Context) error) error {
	if err := start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	return shutdown(sctx)
}

// JSONBody is the body of d decompressed (its "compression" header, at most
// max bytes) and checked to be application/json. A wrong content type
// returns the body with the error (so that a caller can still read the
// reply address), a decompression failure none.
func JSONBody(d *amqp.Delivery, max int) ([]byte, error) {
	body := d.Body
	if c, ok := d.Headers["compression"].(string); ok && c != "" {
		var err error
		if body, err = oslo.Decompress(c, body, int64(max)); err != nil {
			return nil, err
		}
	}
	if d.ContentType != "application/json" {
		return body, fmt.Errorf("%w: content type %q, want application/json", oslo.ErrMalformed, d.ContentType)
	}
	return body, nil
}
