package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/s3audit"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

const (
	base      = "https://relay.example.com"
	authToken = "12345678901234567890123456789012"
	admin     = "admin-token-0123456789"
	qdnNumber = "+16195550100"
	custPhone = "+16195551234"
)

type sender struct {
	mu   sync.Mutex
	msgs []relay.Message
	n    atomic.Int64
}

func (s *sender) Send(_ context.Context, m relay.Message) (relay.Sent, error) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	return relay.Sent{Sid: fmt.Sprintf("SM%032d", s.n.Add(1)), Status: "queued"}, nil
}

func (s *sender) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.msgs) }

type nopTimer struct{}

func (nopTimer) Schedule(context.Context, relay.Tick) error { return nil }

type env struct {
	h      http.Handler
	store  *memstore.Store
	sender *sender
	audit  *s3audit.Log
}

func newEnv(t testing.TB, mutate ...func(*httpapi.Config)) *env {
	t.Helper()
	st := memstore.New()
	ctx := context.Background()
	_ = st.PutTenant(ctx, relay.Tenant{ID: "qdn", Name: "QuickDumpNow", Numbers: []string{qdnNumber},
		AckTimeout: time.Minute, Chain: []string{"main", "backup"}, TwoWay: true})
	_ = st.PutOperator(ctx, relay.Operator{TenantID: "qdn", ID: "main", Name: "Sergio", Phone: "+16195550111", Active: true})
	_ = st.PutOperator(ctx, relay.Operator{TenantID: "qdn", ID: "backup", Name: "Backup", Phone: "+16195550112", Active: true})
	_ = st.PutCustomer(ctx, relay.Customer{TenantID: "qdn", ID: "cust_5678", Name: "Acme Waste Inc.", Phone: custPhone})
	_ = st.PutTenant(ctx, relay.Tenant{ID: "other", Name: "Other", Numbers: []string{"+17145550100"}, Chain: []string{"olga"}})
	_ = st.PutOperator(ctx, relay.Operator{TenantID: "other", ID: "olga", Name: "Olga", Phone: "+17145550111", Active: true})
	bucket, err := s3audit.NewDirBucket(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	audit := s3audit.New(bucket)
	s := &sender{}
	log := slog.New(slog.DiscardHandler)
	cfg := httpapi.Config{
		Service: &relay.Service{Store: st, Sender: s, Timer: nopTimer{}, Audit: audit, Log: log},
		Store:   st, Audit: audit, Log: log, Version: "test",
		Signature: twilio.Verifier{Validator: twilio.NewValidator(authToken, ""), BaseURL: base},
		Auth:      httpapi.Tokens{Admin: admin}, CORSOrigins: []string{"https://dash.example.com"},
		Export: func(ctx context.Context, w io.Writer, tenant string, since, until time.Time) error {
			recs, err := s3audit.Export(ctx, audit, tenant, since, until)
			if err != nil {
				return err
			}
			return s3audit.WriteJSON(w, recs)
		},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	return &env{h: httpapi.New(cfg), store: st, sender: s, audit: audit}
}

func form(sid, from, to, body string) url.Values {
	return url.Values{"MessageSid": {sid}, "From": {from}, "To": {to}, "Body": {body}, "AccountSid": {"AC1"}}
}

// webhook builds a Twilio-signed POST; sign=false leaves a wrong signature.
func webhook(path string, f url.Values, sign bool) *http.Request {
	r := httptest.NewRequest("POST", path, strings.NewReader(f.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sig := twilio.Signature(authToken, base+path, f)
	if !sign {
		sig = twilio.Signature("wrong", base+path, f)
	}
	r.Header.Set("X-Twilio-Signature", sig)
	return r
}

func (e *env) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func jsonReq(method, path, token, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

const sid1 = "SM0123456789abcdef0123456789abcdef"

func TestIncoming(t *testing.T) {
	tests := []struct {
		name     string
		req      func() *http.Request
		status   int
		contains string
		sent     int
	}{
		{"signed text is forwarded", func() *http.Request {
			return webhook("/api/sms/incoming", form(sid1, custPhone, qdnNumber, "need a pickup"), true)
		}, 200, "<Response/>", 1},
		{"bad signature", func() *http.Request {
			return webhook("/api/sms/incoming", form(sid1, custPhone, qdnNumber, "x"), false)
		}, 403, "X-Twilio-Signature", 0},
		{"missing signature", func() *http.Request {
			r := webhook("/api/sms/incoming", form(sid1, custPhone, qdnNumber, "x"), true)
			r.Header.Del("X-Twilio-Signature")
			return r
		}, 403, "X-Twilio-Signature", 0},
		{"signature over another URL", func() *http.Request {
			r := webhook("/api/sms/incoming", form(sid1, custPhone, qdnNumber, "x"), true)
			r.URL.RawQuery = "extra=1"
			return r
		}, 403, "X-Twilio-Signature", 0},
		{"missing From", func() *http.Request { return webhook("/api/sms/incoming", form(sid1, "", qdnNumber, "x"), true) }, 400, "From is missing", 0},
		{"malformed To", func() *http.Request { return webhook("/api/sms/incoming", form(sid1, custPhone, "555", "x"), true) }, 400, "To is not an E.164", 0},
		{"malformed sid", func() *http.Request {
			return webhook("/api/sms/incoming", form("nope", custPhone, qdnNumber, "x"), true)
		}, 400, "MessageSid is malformed", 0},
		{"unknown tenant number", func() *http.Request {
			return webhook("/api/sms/incoming", form(sid1, custPhone, "+18005550000", "x"), true)
		}, 404, "no tenant publishes number +18005550000", 0},
		{"oversized body", func() *http.Request {
			return webhook("/api/sms/incoming", form(sid1, custPhone, qdnNumber, strings.Repeat("x", 70<<10)), true)
		}, 413, "larger than the limit", 0},
		{"json is not a webhook", func() *http.Request {
			r := jsonReq("POST", "/api/sms/incoming", "", `{}`)
			return r
		}, 415, "x-www-form-urlencoded", 0},
		{"wrong method", func() *http.Request { return httptest.NewRequest("GET", "/api/sms/incoming", nil) }, 405, "use POST", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.do(tt.req())
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("got %d %q, want %d containing %q", w.Code, w.Body.String(), tt.status, tt.contains)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", got)
			}
			if tt.status == 200 && !strings.HasPrefix(w.Header().Get("Content-Type"), "text/xml") {
				t.Errorf("Content-Type = %q, want text/xml", w.Header().Get("Content-Type"))
			}
			if n := e.sender.count(); n != tt.sent {
				t.Errorf("sent %d, want %d", n, tt.sent)
			}
			if tt.status == 403 {
				if _, err := e.store.Relay(context.Background(), sid1); relay.KindOf(err) != relay.NotFound {
					t.Errorf("a rejected webhook left state behind: %v", err)
				}
			}
		})
	}
}

func TestDuplicatesAnsweredOKForwardedOnce(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	codes := make([]int, 10)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.do(webhook("/api/sms/incoming", form(sid1, custPhone, qdnNumber, "need a pickup"), true)).Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("copy %d answered %d, want 200", i, c)
		}
	}
	if n := e.sender.count(); n != 1 {
		t.Errorf("sent %d, want 1", n)
	}
}

func TestOperatorReplyGetsTwiMLMessage(t *testing.T) {
	e := newEnv(t)
	e.do(webhook("/api/sms/incoming", form(sid1, custPhone, qdnNumber, "need a pickup"), true))
	w := e.do(webhook("/api/sms/incoming", form("SM0123456789abcdef0123456789abcde2", "+16195550111", qdnNumber, "help"), true))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "<Message>Reply OK") {
		t.Errorf("got %d %q, want a TwiML usage message", w.Code, w.Body.String())
	}
}

func TestInternalRoutes(t *testing.T) {
	e := newEnv(t)
	e.do(webhook("/api/sms/incoming", form(sid1, custPhone, qdnNumber, "need a pickup"), true))
	other := httpapi.TenantToken(admin, "other")
	qdn := httpapi.TenantToken(admin, "qdn")
	tests := []struct {
		name, method, path, token, body string
		status                          int
		contains                        string
	}{
		{"no token", "POST", "/api/sms/ack", "", `{"message_sid":"` + sid1 + `"}`, 401, "Bearer"},
		{"bad token", "POST", "/api/sms/ack", "nope", `{"message_sid":"` + sid1 + `"}`, 401, "not valid"},
		{"forged tenant token", "POST", "/api/sms/ack", "tt_qdn_000000000000000000000000", `{"message_sid":"` + sid1 + `"}`, 401, "not valid"},
		{"empty body", "POST", "/api/sms/forward", admin, ``, 400, "empty"},
		{"unknown field", "POST", "/api/sms/forward", admin, `{"message_sid":"` + sid1 + `","x":1}`, 400, "unknown field"},
		{"missing sid", "POST", "/api/sms/forward", admin, `{}`, 400, "message_sid (or relay_id) is required"},
		{"other tenant cannot forward", "POST", "/api/sms/forward", other, `{"message_sid":"` + sid1 + `"}`, 404, "no relay"},
		{"forward to named operator", "POST", "/api/sms/forward", qdn, `{"relay_id":"` + sid1 + `","operator":"backup"}`, 200, `"status":"pending_ack"`},
		{"forward to unknown operator", "POST", "/api/sms/forward", qdn, `{"message_sid":"` + sid1 + `","operator":"ghost"}`, 404, "ghost"},
		{"other tenant cannot ack", "POST", "/api/sms/ack", other, `{"message_sid":"` + sid1 + `"}`, 404, "no relay"},
		{"ack", "POST", "/api/sms/ack", qdn, `{"message_sid":"` + sid1 + `"}`, 200, `"status":"acked"`},
		{"ack again", "POST", "/api/sms/ack", qdn, `{"message_sid":"` + sid1 + `"}`, 409, "already acknowledged by api:tenant:qdn"},
		{"note", "POST", "/api/sms/audit", qdn, `{"message_sid":"` + sid1 + `","routing_reason":"dispatcher_note","note":"called back"}`, 201, `"note":"called back"`},
		{"note without reason", "POST", "/api/sms/audit", qdn, `{"message_sid":"` + sid1 + `"}`, 400, "routing_reason is required"},
		{"note for another tenant", "POST", "/api/sms/audit", other, `{"message_sid":"` + sid1 + `","routing_reason":"x"}`, 404, "no relay"},
		{"audit read", "GET", "/api/sms/audit?message_sid=" + sid1, qdn, ``, 200, `"routing_reason":"default_chain"`},
		{"audit read by admin finds the tenant", "GET", "/api/sms/audit?message_sid=" + sid1, admin, ``, 200, `"customer_name":"Acme Waste Inc."`},
		{"audit of another tenant is empty", "GET", "/api/sms/audit?message_sid=" + sid1, other, ``, 200, `"records":[]`},
		{"audit bad since", "GET", "/api/sms/audit?since=yesterday", qdn, ``, 400, "RFC 3339"},
		{"audit bad limit", "GET", "/api/sms/audit?limit=0", qdn, ``, 400, "limit"},
		{"audit foreign tenant param", "GET", "/api/sms/audit?tenant_id=qdn", other, ``, 400, "not the caller's tenant"},
		{"export", "GET", "/api/sms/audit/export", qdn, ``, 200, `"message_sid":"` + sid1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(jsonReq(tt.method, tt.path, tt.token, tt.body))
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("got %d %s, want %d containing %q", w.Code, w.Body.String(), tt.status, tt.contains)
			}
		})
	}
	w := e.do(jsonReq("GET", "/api/sms/audit?message_sid="+sid1, qdn, ""))
	var page struct {
		Records []map[string]any `json:"records"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"timestamp", "message_sid", "customer_id", "customer_name", "original_from",
		"routed_to_operator", "routing_reason", "acknowledged", "ack_timestamp", "tenant_id", "event", "attempt", "segments", "latency_ms"} {
		if _, ok := page.Records[0][f]; !ok {
			t.Errorf("audit record lacks %q: %v", f, page.Records[0])
		}
	}
}

func TestCORSAndHeaders(t *testing.T) {
	e := newEnv(t)
	pre := func(origin string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("OPTIONS", "/api/sms/forward", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		return e.do(r)
	}
	w := pre("https://dash.example.com")
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://dash.example.com" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("allowed preflight: %d %v", w.Code, w.Header())
	}
	w = pre("https://evil.example.com")
	if w.Header().Get("Access-Control-Allow-Origin") != "" || w.Code != 403 {
		t.Errorf("disallowed preflight: %d %v", w.Code, w.Header())
	}
	r := httptest.NewRequest("GET", "/api/sms/status", nil)
	r.Header.Set("Origin", "https://dash.example.com")
	w = e.do(r)
	if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "https://dash.example.com" || w.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("status: %d %v", w.Code, w.Header())
	}
	var body map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if body["store"] != "ok" || body["version"] != "test" {
		t.Errorf("status body = %v", body)
	}
	if w := e.do(httptest.NewRequest("POST", "/api/sms/status", nil)); w.Code != 200 {
		t.Errorf("POST status = %d", w.Code)
	}
	if w := e.do(httptest.NewRequest("GET", "/nope", nil)); w.Code != 404 || w.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("unknown route = %d", w.Code)
	}
}

func TestOriginVerify(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.OriginVerify = "cf-secret" })
	r := httptest.NewRequest("GET", "/api/sms/status", nil)
	if w := e.do(r); w.Code != 403 {
		t.Errorf("without header: %d, want 403", w.Code)
	}
	r.Header.Set(httpapi.OriginVerifyHeader, "cf-secret")
	if w := e.do(r); w.Code != 200 {
		t.Errorf("with header: %d, want 200", w.Code)
	}
}

func TestDeliveryCallback(t *testing.T) {
	e := newEnv(t)
	e.do(webhook("/api/sms/incoming", form(sid1, custPhone, qdnNumber, "need a pickup"), true))
	r, _ := e.store.Relay(context.Background(), sid1)
	// The callback URL the forward carried is what Twilio posts to.
	path := strings.TrimPrefix(httpapi.CallbackURL(base+"/")("qdn", sid1, 1), base)
	if want := "/api/sms/delivery?attempt=1&relay=" + sid1 + "&tenant=qdn"; path != want {
		t.Fatalf("callback path = %q, want %q", path, want)
	}
	f := url.Values{"MessageSid": {r.Attempts[0].MessageSid}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}
	req := webhook(path, f, true)
	req.URL, _ = url.Parse(path)
	req.Header.Set("X-Twilio-Signature", twilio.Signature(authToken, base+path, f))
	if w := e.do(req); w.Code != 200 {
		t.Fatalf("delivery callback: %d %s", w.Code, w.Body.String())
	}
	if n := e.sender.count(); n != 2 {
		t.Errorf("sent %d after undelivered, want 2 (failover)", n)
	}
	bad := webhook("/api/sms/delivery", url.Values{"MessageStatus": {"sent"}}, true)
	if w := e.do(bad); w.Code != 400 || !strings.Contains(w.Body.String(), "tenant and relay") {
		t.Errorf("callback without ids: %d %s", w.Code, w.Body.String())
	}
}

// discardAudit drops audit events, to measure the path without file I/O.
type discardAudit struct{}

func (discardAudit) Record(context.Context, relay.AuditEvent) error { return nil }

// BenchmarkWebhook measures the inbound webhook path in process: signature
// check, form parsing, routing, the conditional create, timer arming, the
// send through a no-op sender and the audit write — to a local directory as
// the dev server does ("dir-audit") or discarded ("no-audit"), which isolates
// the handler and domain from the filesystem.
//
// The clock advances a minute per request, as a busy tenant's day would, so
// reply codes and pacing slots are recycled rather than piling up on one
// operator.
func BenchmarkWebhook(b *testing.B) {
	for _, bc := range []struct {
		name  string
		audit relay.Auditor
	}{{"dir-audit", nil}, {"no-audit", discardAudit{}}} {
		b.Run(bc.name, func(b *testing.B) {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			e := newEnv(b, func(c *httpapi.Config) {
				c.Service.Now = func() time.Time { return now }
				if bc.audit != nil {
					c.Service.Audit = bc.audit
				}
			})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				now = now.Add(time.Minute)
				sid := fmt.Sprintf("SM%032x", i)
				from := fmt.Sprintf("+1619%07d", i%9000000+1000000)
				w := e.do(webhook("/api/sms/incoming", form(sid, from, qdnNumber, "need a pickup"), true))
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body.String())
				}
			}
		})
	}
}

func (s *sender) Lookup(context.Context, relay.Message, time.Time) (relay.Sent, bool, error) {
	return relay.Sent{}, false, nil
}
