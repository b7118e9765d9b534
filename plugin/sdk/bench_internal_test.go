package sdk

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/plugin/pluginv1"
)

type benchEcho struct{}

type benchEchoArgs struct {
	Value json.RawMessage `json:"value"`
}

func (benchEcho) Echo(_ context.Context, a benchEchoArgs) (json.RawMessage, error) {
	return a.Value, nil
}

// novaContext is a request context of the size and shape nova sends
// (oslo.context's to_dict plus nova's fields), about 1.5 KB.
var novaContext = `{"user": "4f1c6a0e1f2a4b7a9d3e8c5b6a7f8e9d", "tenant": "9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d", ` +
	`"system_scope": null, "project": "9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d", "domain": null, ` +
	`"user_domain": "default", "project_domain": "default", "is_admin": false, "read_only": false, ` +
	`"show_deleted": false, "auth_token": "gAAAAABl` + strings.Repeat("x", 180) + `", ` +
	`"request_id": "req-3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f", "global_request_id": null, ` +
	`"resource_uuid": null, "roles": ["reader", "member", "admin"], "user_identity": "4f1c6a0e 9b8a7c6d - default default", ` +
	`"is_admin_project": true, "user_id": "4f1c6a0e1f2a4b7a9d3e8c5b6a7f8e9d", "project_id": "9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d", ` +
	`"user_name": "admin", "project_name": "admin", "read_deleted": "no", ` +
	`"remote_address": "10.0.0.11", "timestamp": "2026-11-25T00:00:00.000000", "quota_class": null, ` +
	`"service_catalog": [{"type": "volumev3", "name": "cinderv3", "endpoints": [{"region": "RegionOne", ` +
	`"url": "http://10.0.0.11/volume/v3/9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d"}]}, {"type": "image", "name": "glance", ` +
	`"endpoints": [{"region": "RegionOne", "url": "http://10.0.0.11/image"}]}, {"type": "network", "name": "neutron", ` +
	`"endpoints": [{"region": "RegionOne", "url": "http://10.0.0.11:9696/networking"}]}], "client_timeout": null}`

// BenchmarkServerInvoke measures the SDK's share of a call in the plugin
// process: Invoke of a one-argument method with nova's request context.
//
//	go test -run '^$' -bench ServerInvoke -benchmem ./plugin/sdk/
func BenchmarkServerInvoke(b *testing.B) {
	s := newServer(Static(Endpoint{Impl: benchEcho{}}), hclog.NewNullLogger())
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{PluginName: "bench"}); err != nil {
		b.Fatal(err)
	}
	req := &pluginv1.InvokeRequest{
		Version: "1.0", Method: "echo", ContextJson: []byte(novaContext),
		ArgsJson: []byte(`{"value": "` + strings.Repeat("x", 100) + `"}`),
		MsgId:    "0123456789abcdef0123456789abcdef",
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := s.Invoke(context.Background(), req)
		if err != nil || resp.GetFailure() != nil {
			b.Fatal(err, resp.GetFailure())
		}
	}
}
