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
	// Role is what the caller may do (viewer, dispatcher, admin). Every
	// Authenticator must set it: an empty or unknown role may do nothing.
	Role Role
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
	// Registry serves the Directory API (/api/tenant, /api/operators,
	// /api/customers, /api/jobs); nil answers those routes 501.
	Registry *relay.Registry
	// CORSOrigins is the allow-list of dashboard origins.
	CORSOrigins []string
	// OriginVerify, when set, must equal the X-Origin-Verify header
	// (CloudFront adds it), so the API cannot be called around CloudFront.
	OriginVerify string
	Version      string
	Log          *slog.Logger
	MaxBody      int64
	// Metrics, when set, counts SignatureRejectedMetric so an alarm sees a
	// rotated token or a wrong PUBLIC_BASE_URL dropping every webhook.
	Metrics relay.Metrics
}

// SignatureRejectedMetric is counted once per webhook refused for its
// X-Twilio-Signature (the alarm in infra watches config.MetricSignatureRejected;
// a test keeps the two equal).
const SignatureRejectedMetric = "SignatureRejected"

// FallbackPath is Twilio's Fallback URL path: Twilio posts the same webhook
// there when /api/sms/incoming fails or is slow. It is handled exactly like
// the primary (the MessageSid claim keeps the relay exactly once); only the
// URL the signature covers differs.
const FallbackPath = "/api/sms/fallback"

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
	for _, rt := range routeTable {
		fn := func(w http.ResponseWriter, r *http.Request) { rt.handle(h, w, r) }
		if rt.Access != AccessPublic && rt.Access != AccessTwilio {
			fn = h.authed(rt.Access.Role(), fn)
		}
		h.mux.HandleFunc(rt.Method+" "+rt.Pattern, fn)
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route for "+r.Method+" "+r.URL.Path)
	})
	return h
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
	if allow, ok := allowed(r.URL.Path); ok && !strings.Contains(", "+allow+", ", ", "+r.Method+", ") {
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
	allow, ok := allowed(r.URL.Path)
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
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-None-Match")
	w.Header().Set("Access-Control-Expose-Headers", "ETag")
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
	// Fields names every bad field of an invalid directory entry.
	Fields relay.FieldErrors `json:"fields,omitempty"`
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
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	if errors.Is(err, relay.ErrStale) {
		return http.StatusPreconditionFailed
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
	var se *statusError
	if errors.As(err, &se) {
		msg = se.msg
	}
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
	body := errorBody{Error: msg, Kind: relay.KindOf(err).String()}
	if se != nil {
		body.Kind = ""
	}
	var fe relay.FieldErrors
	if status == http.StatusBadRequest && errors.As(err, &fe) {
		body.Fields = fe
	}
	writeJSON(w, status, body)
}

// statusError is an answer with its own status, such as 403, that no
// domain Kind names.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

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
