package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// adminFlags locate a running host's admin API.
type adminFlags struct {
	address string
	token   string
	timeout time.Duration
}

func (f *adminFlags) register(fs *pflag.FlagSet) {
	addr := os.Getenv("OSLOHOST_ADMIN_ADDR")
	if addr == "" {
		addr = "127.0.0.1:9464"
	}
	fs.StringVar(&f.address, "address", addr, "the host's admin API (host:port or URL; env OSLOHOST_ADMIN_ADDR)")
	fs.StringVar(&f.token, "token", "", "bearer token of the admin API (env OSLOHOST_ADMIN_TOKEN)")
	fs.DurationVar(&f.timeout, "timeout", time.Minute, "how long to wait for the answer")
}

func (f *adminFlags) url(path string) string {
	base := f.address
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return strings.TrimRight(base, "/") + path
}

// do sends a request to the admin API and decodes the JSON answer into out.
// A non-2xx answer is an error carrying the API's error text.
func (f *adminFlags) do(ctx context.Context, method, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, f.url(path), nil)
	if err != nil {
		return usageErrorf("--address: %v", err)
	}
	token := f.token
	if token == "" {
		token = os.Getenv("OSLOHOST_ADMIN_TOKEN")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("admin API at %s: %w (is the host running with an admin block?)", f.address, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error       string   `json:"error"`
			Diagnostics []string `json:"diagnostics"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg := fmt.Sprintf("%s (HTTP %d)", e.Error, resp.StatusCode)
			for _, d := range e.Diagnostics {
				msg += "\n\n" + d
			}
			return errors.New(msg)
		}
		return fmt.Errorf("admin API answered HTTP %d", resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = body
		return nil
	}
	return json.Unmarshal(body, out)
}
