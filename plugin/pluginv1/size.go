package pluginv1

import (
	"fmt"
	"os"
	"strconv"

	"google.golang.org/grpc"
)

// DefaultMaxMessageSize is the default cap, in bytes, on one gRPC message in
// either direction between host and plugin (64 MiB). gRPC's own default of
// 4 MiB for received messages is too small for large oslo payloads.
const DefaultMaxMessageSize = 64 << 20

// DialOptions returns the gRPC client options that apply the message size cap
// to the host side of the connection. maxSize <= 0 means [DefaultMaxMessageSize].
func DialOptions(maxSize int) []grpc.DialOption {
	n := effectiveSize(maxSize)
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(n), grpc.MaxCallSendMsgSize(n)),
	}
}

// ServerOptions returns the gRPC server options that apply the message size cap
// to the plugin side of the connection. maxSize <= 0 means [DefaultMaxMessageSize].
func ServerOptions(maxSize int) []grpc.ServerOption {
	n := effectiveSize(maxSize)
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(n), grpc.MaxSendMsgSize(n)}
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
