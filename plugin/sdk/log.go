package sdk

import (
	"os"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

var rootLogger = sync.OnceValue(func() hclog.Logger {
	level := hclog.LevelFromString(os.Getenv(pluginv1.EnvLogLevel))
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{
		Level:      level,
		Output:     os.Stderr, // stdout carries the go-plugin handshake
		JSONFormat: true,
	})
})

// Log returns the plugin's logger: hclog JSON lines on stderr, which the host
// re-emits under the plugin's name at each line's level. The level is the
// host's (info when run outside the host). Safe for concurrent use. Inside a
// call prefer [Logger], which adds the call's identifiers. Never write logs to
// stdout: it belongs to the go-plugin handshake.
func Log() hclog.Logger { return rootLogger() }
