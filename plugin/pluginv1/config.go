package pluginv1

import (
	"os"
	"os/exec"
	"strconv"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ClientOption adjusts [ClientConfig] and [NewClient].
type ClientOption func(*clientOptions)

type clientOptions struct {
	maxMessageSize int
	secure         *plugin.SecureConfig
}

// WithMaxMessageSize sets the gRPC message size cap in bytes for both sides of
// the connection; n <= 0 means [DefaultMaxMessageSize].
func WithMaxMessageSize(n int) ClientOption {
	return func(o *clientOptions) { o.maxMessageSize = n }
}

// WithSecureConfig makes go-plugin verify the binary's checksum before it
// starts it (sha256 pinning).
func WithSecureConfig(sc *plugin.SecureConfig) ClientOption {
	return func(o *clientOptions) { o.secure = sc }
}

// ClientConfig returns the go-plugin client configuration that launches cmd as
// an endpoint plugin: gRPC only, the shared [Handshake] and plugin set,
// Managed false (the host stops its plugins itself), and the message size cap
// applied to the host side and handed to the plugin in [EnvMaxMessageSize].
//
// The plugin's stderr (hclog JSON lines) is re-emitted through logger at the
// line's own level, under logger's name plus the binary's base name; its
// stdout and stderr streamed over gRPC (fmt.Print in a plugin) are logged at
// info and warn level under "stdout" and "stderr". The logger's level is
// handed to the plugin in [EnvLogLevel].
//
// cmd.Env nil means the host's environment; otherwise the plugin gets exactly
// cmd.Env plus the variables above and go-plugin's own. ClientConfig modifies
// cmd.Env; it does not start anything. logger nil means hclog.NewNullLogger().
func ClientConfig(cmd *exec.Cmd, logger hclog.Logger, opts ...ClientOption) *plugin.ClientConfig {
	var o clientOptions
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	size := effectiveSize(o.maxMessageSize)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env,
		EnvMaxMessageSize+"="+strconv.Itoa(size),
		EnvLogLevel+"="+levelName(logger.GetLevel()),
	)
	return &plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          plugin.PluginSet{PluginName: &GRPCPlugin{client: opts}},
		Cmd:              cmd,
		SecureConfig:     o.secure,
		Managed:          false,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
		SyncStdout:       logger.Named("stdout").StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Info}),
		SyncStderr:       logger.Named("stderr").StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn}),
		GRPCDialOptions:  DialOptions(size),
		SkipHostEnv:      true, // cmd.Env already holds what the plugin should see
	}
}

// ServeConfig returns the go-plugin serve configuration of a plugin process
// serving impl: the shared [Handshake] and plugin set, and a gRPC server with
// the message size cap (maxSize <= 0 means [DefaultMaxMessageSize]). logger
// receives go-plugin's own log lines; it must write to the process's original
// stderr (go-plugin redirects os.Stderr while serving).
func ServeConfig(impl EndpointServer, maxSize int, logger hclog.Logger) *plugin.ServeConfig {
	size := effectiveSize(maxSize)
	return &plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{PluginName: &GRPCPlugin{Impl: impl, maxSize: size}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return plugin.DefaultGRPCServer(append(opts, ServerOptions(size)...))
		},
		Logger: logger,
	}
}

func levelName(l hclog.Level) string {
	if l == hclog.NoLevel {
		return hclog.Info.String()
	}
	return l.String()
}
