package sdktest

import (
	"context"
	"fmt"
	"net"

	"github.com/oslohost/oslohost/plugin/pluginv1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// hostBrokerID is the broker id the harness hands the plugin for the Host
// service; in-process there is no broker, any non-zero id does.
const hostBrokerID = 1

// serveHost serves impl in-process and returns a dialer for the plugin
// side and a function that stops the server.
func serveHost(impl pluginv1.HostServer, maxSize int) (pluginv1.HostDialer, func()) {
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(pluginv1.ServerOptions(maxSize)...)
	pluginv1.RegisterHostServer(srv, impl)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	dial := func(_ context.Context, id uint32) (pluginv1.HostClient, func() error, error) {
		if id != hostBrokerID {
			return nil, nil, fmt.Errorf("sdktest: no host service under broker id %d", id)
		}
		opts := append([]grpc.DialOption{
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
		}, pluginv1.DialOptions(maxSize)...)
		conn, err := grpc.NewClient("passthrough:///sdktest-host", opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("dial host service: %w", err)
		}
		return pluginv1.NewHostClient(conn), conn.Close, nil
	}
	return dial, func() {
		srv.Stop()
		<-served
	}
}
