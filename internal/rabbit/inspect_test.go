package rabbit

import (
	"errors"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// TestClassify: the broker's answers to a probe declare (texts of RabbitMQ
// 3.10.8) mean absent, equivalent or conflict.
func TestClassify(t *testing.T) {
	pf := func(reason string) error { return &amqp.Error{Code: amqp.PreconditionFailed, Reason: reason} }
	tests := []struct {
		name, probe string
		err         error
		want        string
	}{
		{"queue equivalent", queueProbeArg, nil, StateEquivalent},
		{"stream equivalent", queueProbeArg, pf("PRECONDITION_FAILED - inequivalent arg 'x-stream-max-segment-size-bytes' for queue 's' in vhost '/': received the value 'oslohost-probe' of type 'longstr' but current is none"), StateEquivalent},
		{"queue gone", queueProbeArg, pf("PRECONDITION_FAILED - invalid arg 'x-stream-max-segment-size-bytes' for queue 'm' in vhost '/' of queue type rabbit_classic_queue"), StateAbsent},
		{"durable", queueProbeArg, pf("PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'"), StateConflict},
		{"queue type", queueProbeArg, pf("PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received the value 'quorum' of type 'longstr' but current is none"), StateConflict},
		{"exchange equivalent", exchangeProbeArg, pf("PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received the value '0' of type 'long' but current is none"), StateEquivalent},
		{"exchange absent", exchangeProbeArg, pf("PRECONDITION_FAILED - invalid type 'long' for arg 'alternate-exchange' in exchange 'x' in vhost '/'"), StateAbsent},
		{"exchange type", exchangeProbeArg, pf("PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'x' in vhost '/': received 'fanout' but current is 'topic'"), StateConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := classify(Finding{}, tt.err, tt.probe, "queue", "q")
			if err != nil || f.State != tt.want {
				t.Fatalf("classify = %+v, %v; want %s", f, err, tt.want)
			}
			if tt.want == StateConflict && f.Reason == "" {
				t.Errorf("conflict without the broker's reason")
			}
		})
	}
	if _, err := classify(Finding{}, errors.New("connection lost"), queueProbeArg, "queue", "q"); err == nil {
		t.Error("other errors must be reported")
	}
}
