package pypeer_test

import (
	"context"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/pypeer"
)

// TestPeers: each peer's client calls the other peer's server (14.0.3 and
// 16.1.0 interoperate), and the trixie peer really runs 16.1.0.
func TestPeers(t *testing.T) {
	for _, sp := range pypeer.Peers {
		for _, cp := range pypeer.Peers {
			t.Run(cp.String()+"->"+sp.String(), func(t *testing.T) {
				exchange := pypeer.UniqueName(t, "peers-x")
				srv := pypeer.StartServer(t, pypeer.ServerOptions{Exchange: exchange, Peer: sp})
				cli := pypeer.StartClient(t, pypeer.ClientOptions{Exchange: exchange, Peer: cp})
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				r, err := cli.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: srv.Options().Topic, Method: "whoami", Timeout: 20})
				if err != nil || !r.OK || string(r.Result) != `"`+srv.Options().Server+`"` {
					t.Fatalf("whoami: %v %s %s %s", err, r.Result, r.ExcClass, r.Msg)
				}
			})
		}
	}
}
