package httpapi_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// flakyStore fails its first failures tenant lookups as a store outage would,
// so the primary webhook answers 5xx and Twilio turns to the Fallback URL.
type flakyStore struct {
	*memstore.Store
	failures atomic.Int32
}

func (f *flakyStore) TenantByNumber(ctx context.Context, number string) (relay.Tenant, error) {
	if f.failures.Add(-1) >= 0 {
		return relay.Tenant{}, relay.Errorf(relay.Transient, "store unavailable")
	}
	return f.Store.TenantByNumber(ctx, number)
}

// counts records metric counts by name.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) Count(_ context.Context, name, _ string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name] += n
}

func (c *counts) get(name string) int { c.mu.Lock(); defer c.mu.Unlock(); return c.n[name] }

func TestFallbackRelaysOnceWhenThePrimaryFails(t *testing.T) {
	if httpapi.FallbackPath != config.FallbackPath {
		t.Fatalf("httpapi.FallbackPath %q, config.FallbackPath %q: infra and the handler disagree", httpapi.FallbackPath, config.FallbackPath)
	}
	type post struct {
		path       string
		signedFor  string // the path whose URL the signature covers
		wantStatus int
	}
	tests := []struct {
		name           string
		primaryFailing int32 // tenant lookups that fail
		posts          []post
		wantSent       int
	}{
		{"primary 503, fallback relays", 1, []post{
			{"/api/sms/incoming", "/api/sms/incoming", http.StatusServiceUnavailable},
			{httpapi.FallbackPath, httpapi.FallbackPath, http.StatusOK},
		}, 1},
		{"fallback redelivered by SQS: still once", 1, []post{
			{"/api/sms/incoming", "/api/sms/incoming", http.StatusServiceUnavailable},
			{httpapi.FallbackPath, httpapi.FallbackPath, http.StatusOK},
			{httpapi.FallbackPath, httpapi.FallbackPath, http.StatusOK},
		}, 1},
		{"primary finished after Twilio gave up: fallback is a duplicate", 0, []post{
			{"/api/sms/incoming", "/api/sms/incoming", http.StatusOK},
			{httpapi.FallbackPath, httpapi.FallbackPath, http.StatusOK},
		}, 1},
		{"fallback signed for the primary URL is refused", 1, []post{
			{"/api/sms/incoming", "/api/sms/incoming", http.StatusServiceUnavailable},
			{httpapi.FallbackPath, "/api/sms/incoming", http.StatusForbidden},
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fs *flakyStore
			e := newEnv(t, func(c *httpapi.Config) {
				fs = &flakyStore{Store: c.Store.(*memstore.Store)}
				fs.failures.Store(tc.primaryFailing)
				c.Store, c.Service.Store = fs, fs
			})
			f := form(sid1, custPhone, qdnNumber, "need a pickup")
			for i, p := range tc.posts {
				r := webhook(p.signedFor, f, true)
				r.URL.Path = p.path
				if w := e.do(r); w.Code != p.wantStatus {
					t.Fatalf("post %d to %s: got %d %s, want %d", i, p.path, w.Code, w.Body, p.wantStatus)
				}
			}
			if got := e.sender.count(); got != tc.wantSent {
				t.Errorf("texts sent: got %d, want %d", got, tc.wantSent)
			}
		})
	}
}

func TestSignatureRejectionsAreCounted(t *testing.T) {
	if httpapi.SignatureRejectedMetric != config.MetricSignatureRejected {
		t.Fatalf("httpapi counts %q, the alarm watches %q", httpapi.SignatureRejectedMetric, config.MetricSignatureRejected)
	}
	tests := []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"valid signature", func() *http.Request {
			return webhook("/api/sms/incoming", form(sid1, custPhone, qdnNumber, "hi"), true)
		}, 0},
		{"wrong signature", func() *http.Request {
			return webhook("/api/sms/incoming", form(sid1, custPhone, qdnNumber, "hi"), false)
		}, 1},
		{"missing signature", func() *http.Request {
			r := webhook("/api/sms/delivery?tenant=qdn&relay=x", form(sid1, custPhone, qdnNumber, "hi"), true)
			r.Header.Del("X-Twilio-Signature")
			return r
		}, 1},
		{"fallback with a wrong signature", func() *http.Request {
			return webhook(httpapi.FallbackPath, form(sid1, custPhone, qdnNumber, "hi"), false)
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &counts{}
			e := newEnv(t, func(c *httpapi.Config) { c.Metrics = m })
			e.do(tc.req())
			if got := m.get(httpapi.SignatureRejectedMetric); got != tc.want {
				t.Errorf("%s: got %d, want %d", httpapi.SignatureRejectedMetric, got, tc.want)
			}
		})
	}
}
