package host

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oslohost/oslohost/host/config"
)

// AdminAddr is the admin API's address once started ("" when disabled).
func (h *Host) AdminAddr() string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.adminLn == nil {
		return ""
	}
	return h.adminLn.Addr().String()
}

// startAdmin serves the admin API: /healthz, /readyz, /metrics,
// /v1/status, POST /v1/reload and POST /v1/plugins/{name}/reload. With a
// token, every path but /healthz and /readyz needs "Authorization: Bearer
// <token>".
func (h *Host) startAdmin(a config.Admin) error {
	if a.Listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.Listen)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := h.Ready()
		code := http.StatusOK
		if !ok {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]any{"ready": ok, "reason": why})
	})
	protected := http.NewServeMux()
	protected.Handle("GET /metrics", promhttp.HandlerFor(h.metrics.reg, promhttp.HandlerOpts{}))
	protected.HandleFunc("GET /v1/status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, h.Status())
	})
	protected.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		res, err := h.Reload(r.Context())
		var refused *ReloadRefused
		switch {
		case errors.As(err, &refused): // nothing changed: the request's content is at fault
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
				"error": "reload refused; the running configuration stays", "diagnostics": refused.Diagnostics})
		case errors.Is(err, ErrNoLoader):
			writeJSON(w, http.StatusNotImplemented, map[string]any{"error": err.Error()})
		case err != nil: // the host is shutting down
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": err.Error()})
		default:
			writeJSON(w, http.StatusOK, res)
		}
	})
	protected.HandleFunc("POST /v1/plugins/{name}/reload", func(w http.ResponseWriter, r *http.Request) {
		res, err := h.ReloadPlugin(r.Context(), r.PathValue("name"))
		switch {
		case errors.Is(err, ErrUnknownPlugin):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		case err != nil:
			writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		case res.Queued: // it runs once it can; status shows it meanwhile
			writeJSON(w, http.StatusAccepted, res)
		default:
			writeJSON(w, http.StatusOK, res)
		}
	})
	mux.Handle("/", requireToken(a.Token, protected))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	h.mu.Lock()
	h.admin, h.adminLn = srv, ln
	h.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("admin API stopped", "error", err)
		}
	}()
	h.log.Info("admin API listening", "addr", ln.Addr().String(), "token", a.Token != "")
	return nil
}

// requireToken checks the bearer token in constant time when one is set.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="oslohost"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
