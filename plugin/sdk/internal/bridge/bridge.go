// Package bridge lets plugin/sdk/sdktest reach the SDK's protocol server
// without making it part of the SDK's API.
package bridge

import (
	"github.com/hashicorp/go-hclog"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// NewServer returns the server of an sdk.Plugin p, logging to logger, with
// the gRPC message size cap maxSize (<= 0 means
// pluginv1.DefaultMaxMessageSize). Package sdk sets it in its init function;
// it is read-only afterwards.
var NewServer func(p any, logger hclog.Logger, maxSize int) pluginv1.EndpointServer
