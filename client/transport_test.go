package client

import (
	"context"
	"strings"
	"testing"
)

// TestDialRefusesOptions: the Go client refuses, before connecting, the
// option combinations oslo refuses and the options it does not honour.
func TestDialRefusesOptions(t *testing.T) {
	for query, want := range map[string]string{
		"rabbit_stream_fanout=true&rabbit_qos_prefetch_count=1": "rabbit_stream_fanout need rabbit_transient_quorum_queue",
		"kombu_compression=gzip":                                "kombu_compression = gzip is not supported",
		"rabbit_stream_fanouts=true":                            "no such option rabbit_stream_fanouts",
	} {
		_, err := Dial(context.Background(), Config{URL: "rabbit://h:1/?" + query})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", query, err, want)
		}
	}
}
