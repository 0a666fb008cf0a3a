package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
)

// relayList is GET /api/sms/relays's answer, as far as the tests read it.
type relayList struct {
	Relays []struct {
		MessageSid   string `json:"message_sid"`
		Status       string `json:"status"`
		Holder       string `json:"holder"`
		Delivery     string `json:"delivery"`
		FailoverInMs int64  `json:"failover_in_ms"`
	} `json:"relays"`
	Next string `json:"next"`
}

func (l relayList) sids() []string {
	out := []string{}
	for _, r := range l.Relays {
		out = append(out, r.MessageSid)
	}
	return out
}

// TestDashboardRoutes drives the dashboard's reads against the binary: the
// live list per tenant and status, one relay's timeline, tracking links.
func TestDashboardRoutes(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	tokA, tokB := httpapi.TenantToken(adminToken, "a"), httpapi.TenantToken(adminToken, "b")
	first := s.text(acme, numA, "need a pickup")
	second := s.text(bayside, numA, "bin is full")
	waitMessages(t, s.Fake, 2, 5*time.Second)

	var l relayList
	s.mustCall(http.MethodGet, "/api/sms/relays?status=pending", tokA, nil, 200, &l)
	if got := strings.Join(l.sids(), ","); got != second.Sid+","+first.Sid {
		t.Fatalf("pending relays %s, want %s,%s (newest first)", got, second.Sid, first.Sid)
	}
	if r := l.Relays[1]; r.Holder != "sergio_backup" || r.FailoverInMs <= 0 {
		t.Errorf("first relay held by %q, failover in %d ms; want sergio_backup and a countdown", r.Holder, r.FailoverInMs)
	}
	s.mustCall(http.MethodGet, "/api/sms/relays", tokB, nil, 200, &l)
	if len(l.Relays) != 0 {
		t.Errorf("tenant b lists %v, want nothing of tenant a", l.sids())
	}

	s.mustCall(http.MethodPost, "/api/sms/ack", tokA, map[string]string{"message_sid": first.Sid}, 200, nil)
	s.mustCall(http.MethodGet, "/api/sms/relays?status=pending", tokA, nil, 200, &l)
	if got := strings.Join(l.sids(), ","); got != second.Sid {
		t.Errorf("pending after the ack: %s, want %s", got, second.Sid)
	}
	s.mustCall(http.MethodGet, "/api/sms/relays?status=acked&customer_id=cust_5678", tokA, nil, 200, &l)
	if got := strings.Join(l.sids(), ","); got != first.Sid {
		t.Errorf("acked for cust_5678: %s, want %s", got, first.Sid)
	}
	s.mustCall(http.MethodGet, "/api/sms/relays?limit=1", tokA, nil, 200, &l)
	next := l.Next
	s.mustCall(http.MethodGet, "/api/sms/relays?limit=1&cursor="+url.QueryEscape(next), tokA, nil, 200, &l)
	if got := strings.Join(l.sids(), ","); got != first.Sid || l.Next != "" {
		t.Errorf("second page %s (next %q), want %s and no next", got, l.Next, first.Sid)
	}
	if code, _, body := s.call(http.MethodGet, "/api/sms/relays?status=open-ish&limit=9999", tokA, nil); code != 400 ||
		!strings.Contains(string(body), "status") || !strings.Contains(string(body), "limit") {
		t.Errorf("bad query: %d %s, want 400 naming status and limit", code, body)
	}

	var d struct {
		Status   string `json:"status"`
		Timeline []struct {
			Kind string `json:"kind"`
		} `json:"timeline"`
	}
	s.mustCall(http.MethodGet, "/api/sms/relays/"+first.Sid, tokA, nil, 200, &d)
	kinds := []string{}
	for _, e := range d.Timeline {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); d.Status != "acked" || !strings.HasPrefix(got, "received,") ||
		!strings.Contains(got, "routed") || !strings.Contains(got, "acked") {
		t.Errorf("relay %s, timeline %s; want acked with received, routed, acked", d.Status, got)
	}
	s.mustCall(http.MethodGet, "/api/sms/relays/"+first.Sid, tokB, nil, 404, nil)

	var link struct{ URL, Token string }
	s.mustCall(http.MethodGet, "/api/track/link?job_id=job_1&customer_id=cust_5678", tokA, nil, 200, &link)
	s.mustCall(http.MethodGet, "/api/track/link?job_id=job_1&customer_id=cust_5678", tokB, nil, 404, nil)
	var tr map[string]any
	s.mustCall(http.MethodGet, "/api/track?t="+url.QueryEscape(link.Token), "", nil, 200, &tr)
	if tr["business"] != "QuickDumpNow" || tr["state"] == "" {
		t.Errorf("tracking answer %v, want the business and the job state", tr)
	}
	s.mustCall(http.MethodGet, "/api/track?t="+url.QueryEscape(link.Token+"x"), "", nil, 410, nil)

	// The dashboard itself: HTML under the page's CSP (a page saying how to
	// build it when this checkout has no build).
	code, h, body := s.call(http.MethodGet, "/", "", nil)
	if (code != 200 && code != 503) || !strings.Contains(h.Get("Content-Type"), "text/html") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("GET /: %d %v %.200s", code, h, body)
	}
}
