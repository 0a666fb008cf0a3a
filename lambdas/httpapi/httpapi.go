// Package httpapi is the relay's HTTP layer: one net/http handler with the
// Twilio webhooks (TwiML out, signature checked), the internal JSON routes
// (bearer or JWT authenticated, tenant-scoped), health, CORS and the headers
// every API response carries. The dev server serves it directly; on AWS an
// API Gateway adapter feeds it the same requests.
package httpapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// DefaultMaxBody bounds request bodies; Twilio's webhooks are a few KiB.
const DefaultMaxBody = 64 << 10

// Principal is an authenticated caller of the internal routes.
type Principal struct {
	// TenantID scopes every operation; "" means an operator of the whole
	// platform (the dev server's admin token).
	TenantID string
	// Subject names the caller in audit records.
	Subject string
}

// Authenticator identifies the caller of an internal route. It returns an
// error when the request carries no valid credential.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// SignatureVerifier checks X-Twilio-Signature on a request whose form has
// been parsed, against the configured public URL (never the Host header).
type SignatureVerifier interface {
	Verify(r *http.Request) bool
}

// Exporter writes the maintenance.json array of a tenant's audit records.
type Exporter func(ctx context.Context, w io.Writer, tenantID string, since, until time.Time) error

// Config wires the handler.
type Config struct {
	Service *relay.Service
	Store   relay.Store
	Audit   relay.AuditReader
	// Relays lists relays for the dashboard; nil answers 501.
	Relays relay.RelayLister
	// Track signs and checks the customer tracking links; nil answers 501.
	Track *TrackSigner
	// SignIn is what GET /api/auth/config tells the dashboard about signing
	// in (a JSON object); nil means the bearer-token form.
	SignIn    json.RawMessage
	Export    Exporter
	Signature SignatureVerifier
	Auth      Authenticator
	// CORSOrigins is the allow-list of dashboard origins.
	CORSOrigins []string
	// OriginVerify, when set, must equal the X-Origin-Verify header
	// (CloudFront adds it), so the API cannot be called around CloudFront.
	OriginVerify string
	Version      string
	Log          *slog.Logger
	MaxBody      int64
}

type handler struct {
	cfg     Config
	mux     *http.ServeMux
	origins map[string]bool
	log     *slog.Logger
}

// New returns the relay's HTTP handler.
func New(cfg Config) http.Handler {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	h := &handler{cfg: cfg, mux: http.NewServeMux(), origins: map[string]bool{}, log: cfg.Log}
	for _, o := range cfg.CORSOrigins {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" && o != "*" {
			h.origins[o] = true
		}
	}
	h.mux.HandleFunc("POST /api/sms/incoming", h.incoming)
	h.mux.HandleFunc("POST /api/sms/delivery", h.delivery)
	h.mux.HandleFunc("GET /api/sms/status", h.status)
	h.mux.HandleFunc("POST /api/sms/status", h.status)
	h.mux.HandleFunc("POST /api/sms/forward", h.authed(h.forward))
	h.mux.HandleFunc("POST /api/sms/ack", h.authed(h.ack))
	h.mux.HandleFunc("POST /api/sms/audit", h.authed(h.postAudit))
	h.mux.HandleFunc("GET /api/sms/audit", h.authed(h.getAudit))
	h.mux.HandleFunc("GET /api/sms/audit/export", h.authed(h.export))
	h.mux.HandleFunc("GET /api/sms/relays", h.authed(h.listRelays))
	h.mux.HandleFunc("GET /api/sms/relays/{id}", h.authed(h.getRelay))
	h.mux.HandleFunc("GET /api/track", h.track)
	h.mux.HandleFunc("GET /api/auth/config", h.signInConfig)
	h.mux.HandleFunc("GET /api/track/link", h.authed(h.trackLink))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path)
	})
	return h
}

// routes lists each path's methods for preflight and 405 answers.
var routes = map[string]string{
	"/api/sms/incoming":     "POST",
	"/api/sms/delivery":     "POST",
	"/api/sms/status":       "GET, POST",
	"/api/sms/forward":      "POST",
	"/api/sms/ack":          "POST",
	"/api/sms/audit":        "GET, POST",
	"/api/sms/audit/export": "GET",
	"/api/sms/relays":       "GET",
	"/api/track":            "GET",
	"/api/track/link":       "GET",
	"/api/auth/config":      "GET",
}

// routePrefixes lists the methods of paths with a trailing path parameter.
var routePrefixes = map[string]string{
	"/api/sms/relays/": "GET",
}

// allowOf returns the methods of path's route, if it has one.
func allowOf(path string) (string, bool) {
	if allow, ok := routes[path]; ok {
		return allow, true
	}
	for prefix, allow := range routePrefixes {
		if rest, ok := strings.CutPrefix(path, prefix); ok && rest != "" && !strings.Contains(rest, "/") {
			return allow, true
		}
	}
	return "", false
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			h.log.ErrorContext(r.Context(), "panic in handler", "path", r.URL.Path, "panic", p)
			writeError(sw, http.StatusInternalServerError, "internal error")
		}
		h.log.InfoContext(r.Context(), "http", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"ms", time.Since(start).Milliseconds())
	}()
	hd := sw.Header()
	// API answers are per-request state; no cache may keep them.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	h.cors(sw, r)
	if r.Method == http.MethodOptions {
		h.preflight(sw, r)
		return
	}
	if h.cfg.OriginVerify != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get(OriginVerifyHeader)), []byte(h.cfg.OriginVerify)) != 1 {
		writeError(sw, http.StatusForbidden, "requests must come through the relay's public URL")
		return
	}
	if allow, ok := allowOf(r.URL.Path); ok && !strings.Contains(allow, r.Method) {
		sw.Header().Set("Allow", allow+", OPTIONS")
		writeError(sw, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+allow)
		return
	}
	r.Body = http.MaxBytesReader(sw, r.Body, h.cfg.MaxBody)
	h.mux.ServeHTTP(sw, r)
}

// OriginVerifyHeader is the header CloudFront adds to prove a request came through it.
const OriginVerifyHeader = "X-Origin-Verify"

func (h *handler) cors(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	w.Header().Add("Vary", "Origin")
	if !h.origins[origin] {
		return
	}
	// An allow-listed origin is echoed, never "*", because the dashboard sends credentials.
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Allow-Credentials", "true")
}

func (h *handler) preflight(w http.ResponseWriter, r *http.Request) {
	allow, ok := allowOf(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, "no route for "+r.URL.Path)
		return
	}
	origin := r.Header.Get("Origin")
	if origin != "" && !h.origins[origin] {
		writeError(w, http.StatusForbidden, "origin "+origin+" is not allowed")
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", allow+", OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.Header().Set("Allow", allow+", OPTIONS")
	w.WriteHeader(http.StatusNoContent)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// errorBody is every error answer: a message that says what was wrong.
type errorBody struct {
	Error string `json:"error"`
	Kind  string `json:"kind,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// statusOf maps a domain error Kind to an HTTP status.
func statusOf(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	switch relay.KindOf(err) {
	case relay.Invalid:
		return http.StatusBadRequest
	case relay.NotFound:
		return http.StatusNotFound
	case relay.Conflict:
		return http.StatusConflict
	case relay.Transient:
		return http.StatusServiceUnavailable
	case relay.Permanent:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// fail answers err: the domain's caller-safe message for client errors, a
// generic one for server errors, whose details go to the log only.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := relay.MessageOf(err)
	switch {
	case status == http.StatusRequestEntityTooLarge:
		msg = "request body is larger than the limit"
	case status >= 500:
		h.log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "err", err)
		msg = "internal error"
		if status == http.StatusServiceUnavailable {
			msg = "temporarily unavailable, retry later"
		}
	default:
		h.log.WarnContext(r.Context(), "request refused", "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, errorBody{Error: msg, Kind: relay.KindOf(err).String()})
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	body := map[string]any{"status": "ok", "store": "ok", "config": "loaded", "version": h.cfg.Version,
		"time": time.Now().UTC().Format(time.RFC3339)}
	code := http.StatusOK
	if h.cfg.Store == nil || h.cfg.Store.Ping(ctx) != nil {
		body["status"], body["store"], code = "degraded", "unreachable", http.StatusServiceUnavailable
	}
	if h.cfg.Store != nil && code == http.StatusOK {
		if ts, err := h.cfg.Store.Tenants(ctx); err != nil || len(ts) == 0 {
			body["status"], body["config"], code = "degraded", "no tenants loaded", http.StatusServiceUnavailable
		} else {
			body["tenants"] = len(ts)
		}
	}
	writeJSON(w, code, body)
}
