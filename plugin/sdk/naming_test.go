package sdk

import "testing"

func TestSnakeCase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Add", "add"},
		{"AddNumbers", "add_numbers"},
		{"GetHTTPStatus", "get_http_status"},
		{"HTTPServer", "http_server"},
		{"ID", "id"},
		{"UserID", "user_id"},
		{"LongRunningTask", "long_running_task"},
		{"Echo2", "echo2"},
		{"V2Meth", "v2_meth"},
		{"Vmeth", "vmeth"},
		{"OsloRPCServerPing", "oslo_rpc_server_ping"},
		{"A", "a"},
		{"ABTest", "ab_test"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := SnakeCase(tt.in); got != tt.want {
				t.Errorf("SnakeCase(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPyRepr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"x", "'x'"},
		{"it's", `"it's"`},
		{`a'b"c`, `'a\'b"c'`},
		{"a\nb", `'a\nb'`},
		{`back\slash`, `'back\\slash'`},
		{"héllo", "'héllo'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := pyRepr(tt.in); got != tt.want {
				t.Errorf("pyRepr(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}
