package pluginv1

import (
	"fmt"
	"os"
	"strconv"

	"google.golang.org/grpc"

	"github.com/oslohost/oslohost/oslo"
)

// DefaultMaxMessageSize is the default cap, in bytes, on one gRPC message in
// either direction between host and plugin (64 MiB). gRPC's own default of
// 4 MiB for received messages is too small for large oslo payloads.
const DefaultMaxMessageSize = oslo.DefaultMaxMessageSize

// flowWindow is the fixed HTTP/2 flow-control window of host-plugin
// connections and of each stream on them. Setting one turns off gRPC's
// bandwidth-delay estimation, which otherwise answers data with a PING
// round trip of its own: on a local socket there is no bandwidth-delay
// product to find, and under light load those pings woke both processes an
// extra time per call. 16 MiB lets large messages through without waiting
// for window updates.
const flowWindow = 16 << 20

// DialOptions returns the gRPC client options of the host side of the
// connection: the message size cap (maxSize <= 0 means
// [DefaultMaxMessageSize]) and a fixed flow-control window.
func DialOptions(maxSize int) []grpc.DialOption {
	n := effectiveSize(maxSize)
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(n), grpc.MaxCallSendMsgSize(n)),
		grpc.WithInitialWindowSize(flowWindow),
		grpc.WithInitialConnWindowSize(flowWindow),
	}
}

// ServerOptions returns the gRPC server options of the plugin side of the
// connection: the message size cap (maxSize <= 0 means
// [DefaultMaxMessageSize]) and a fixed flow-control window.
func ServerOptions(maxSize int) []grpc.ServerOption {
	n := effectiveSize(maxSize)
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(n), grpc.MaxSendMsgSize(n),
		grpc.InitialWindowSize(flowWindow), grpc.InitialConnWindowSize(flowWindow),
	}
}

// MaxMessageSizeFromEnv returns the cap the host handed to this plugin process
// in [EnvMaxMessageSize], or [DefaultMaxMessageSize] when it is unset. A value
// that is not a positive integer is an error.
func MaxMessageSizeFromEnv() (int, error) {
	s, ok := os.LookupEnv(EnvMaxMessageSize)
	if !ok || s == "" {
		return DefaultMaxMessageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive number of bytes", EnvMaxMessageSize, s)
	}
	return n, nil
}

func effectiveSize(n int) int {
	if n <= 0 {
		return DefaultMaxMessageSize
	}
	return n
}
