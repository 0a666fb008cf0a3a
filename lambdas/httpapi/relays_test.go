package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

func withRelays(c *httpapi.Config) {
	c.Relays = c.Store.(relay.RelayLister)
	c.Track = httpapi.NewTrackSigner("track-secret", base)
}

type listAnswer struct {
	Relays []struct {
		MessageSid     string    `json:"message_sid"`
		Status         string    `json:"status"`
		Holder         string    `json:"holder"`
		Delivery       string    `json:"delivery"`
		CustomerName   string    `json:"customer_name"`
		Body           string    `json:"body"`
		NextFailoverAt time.Time `json:"next_failover_at"`
		FailoverInMs   int64     `json:"failover_in_ms"`
	} `json:"relays"`
	Next string `json:"next"`
}

func sidN(n int) string { return fmt.Sprintf("SM%032d", 900+n) }

func TestListRelays(t *testing.T) {
	e := newEnv(t, withRelays)
	// Three customers: texts from one customer would join one thread.
	phones := map[int]string{1: "+16195554401", 2: "+16195554402", 3: custPhone}
	for i := 1; i <= 3; i++ {
		if w := e.do(webhook("/api/sms/incoming", form(sidN(i), phones[i], qdnNumber, fmt.Sprint("text ", i)), true)); w.Code != 200 {
			t.Fatalf("webhook %d: %d %s", i, w.Code, w.Body)
		}
	}
	if w := e.do(jsonReq("POST", "/api/sms/ack", admin, `{"message_sid":"`+sidN(2)+`"}`)); w.Code != 200 {
		t.Fatalf("ack: %d %s", w.Code, w.Body)
	}
	if w := e.do(webhook("/api/sms/incoming", form(sidN(7), custPhone, "+17145550100", "other tenant's text"), true)); w.Code != 200 {
		t.Fatalf("webhook to the other tenant: %d %s", w.Code, w.Body)
	}
	tenantTok := httpapi.TenantToken(admin, "qdn")
	otherTok := httpapi.TenantToken(admin, "other")
	tests := []struct {
		name   string
		token  string
		query  string
		status int
		want   []string // message sids in order, for 200
		errHas []string
	}{
		{"all, newest first", tenantTok, "", 200, []string{sidN(3), sidN(2), sidN(1)}, nil},
		{"pending", tenantTok, "status=pending", 200, []string{sidN(3), sidN(1)}, nil},
		{"acked", tenantTok, "status=acked", 200, []string{sidN(2)}, nil},
		{"exhausted", tenantTok, "status=exhausted", 200, []string{}, nil},
		{"operator", tenantTok, "operator=main", 200, []string{sidN(3), sidN(2), sidN(1)}, nil},
		{"other operator", tenantTok, "operator=backup", 200, []string{}, nil},
		{"customer", tenantTok, "customer_id=cust_5678&limit=1", 200, []string{sidN(3)}, nil},
		{"since in the future", tenantTok, "since=2099-01-01T00:00:00Z", 200, []string{}, nil},
		{"admin with tenant", admin, "tenant_id=qdn&status=pending", 200, []string{sidN(3), sidN(1)}, nil},
		{"other tenant sees its own only", otherTok, "", 200, []string{sidN(7)}, nil},
		{"no token", "", "", 401, nil, []string{"Bearer"}},
		{"admin without tenant: every tenant", admin, "status=pending", 200, []string{sidN(7), sidN(3), sidN(1)}, nil},
		{"admin without tenant, paged", admin, "status=pending&limit=2", 200, []string{sidN(7), sidN(3)}, nil},
		{"admin, other tenant only", admin, "tenant=other", 200, []string{sidN(7)}, nil},
		{"other tenant's id", otherTok, "tenant_id=qdn", 400, nil, []string{"not the caller's tenant"}},
		{"every bad field named", tenantTok, "status=closed&limit=0&since=yesterday&cursor=zzz&operator=a%20b", 400, nil,
			[]string{"status must be", "limit must be", "since must be", "cursor is not", "operator must be"}},
		{"open is pending", tenantTok, "status=open", 200, []string{sidN(3), sidN(1)}, nil},
		{"all", tenantTok, "status=all&limit=2", 200, []string{sidN(3), sidN(2)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(jsonReq("GET", "/api/sms/relays?"+tc.query, tc.token, ""))
			if w.Code != tc.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tc.status)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("body %s lacks %q", w.Body, s)
				}
			}
			if tc.status != 200 {
				return
			}
			var a listAnswer
			if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, r := range a.Relays {
				got = append(got, r.MessageSid)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("summary fields", func(t *testing.T) {
		var a listAnswer
		w := e.do(jsonReq("GET", "/api/sms/relays?status=pending&limit=1", tenantTok, ""))
		_ = json.Unmarshal(w.Body.Bytes(), &a)
		if len(a.Relays) != 1 || a.Next == "" {
			t.Fatalf("got %s, want one relay and a next cursor", w.Body)
		}
		r := a.Relays[0]
		if r.Holder != "main" || r.Status != "pending_ack" || r.CustomerName != "Acme Waste Inc." || r.Body != "text 3" || r.Delivery == "" {
			t.Errorf("got %+v", r)
		}
		if r.NextFailoverAt.IsZero() || r.FailoverInMs <= 0 || r.FailoverInMs > 63_000 { // the window, after up to 2 s of pacing
			t.Errorf("next failover %v in %d ms, want within the 60 s window", r.NextFailoverAt, r.FailoverInMs)
		}
		w = e.do(jsonReq("GET", "/api/sms/relays?status=pending&limit=1&cursor="+url.QueryEscape(a.Next), tenantTok, ""))
		_ = json.Unmarshal(w.Body.Bytes(), &a)
		if len(a.Relays) != 1 || a.Relays[0].MessageSid != sidN(1) || a.Next != "" {
			t.Errorf("second page %s, want %s and no next", w.Body, sidN(1))
		}
	})
}

func TestGetRelay(t *testing.T) {
	e := newEnv(t, withRelays)
	for i := 1; i <= 2; i++ {
		if w := e.do(webhook("/api/sms/incoming", form(sidN(i), custPhone, qdnNumber, "need a pickup"), true)); w.Code != 200 {
			t.Fatalf("webhook: %d %s", w.Code, w.Body)
		}
	}
	tok := httpapi.TenantToken(admin, "qdn")
	for _, step := range []struct{ path, body string }{
		{"/api/sms/forward", `{"message_sid":"` + sidN(1) + `"}`},
		{"/api/sms/audit", `{"message_sid":"` + sidN(1) + `","routing_reason":"dispatcher_note","note":"called the customer"}`},
		{"/api/sms/ack", `{"message_sid":"` + sidN(1) + `"}`},
	} {
		if w := e.do(jsonReq("POST", step.path, tok, step.body)); w.Code >= 300 {
			t.Fatalf("%s: %d %s", step.path, w.Code, w.Body)
		}
	}
	var d struct {
		MessageSid string `json:"message_sid"`
		Status     string `json:"status"`
		Attempts   []relay.Attempt
		Events     []map[string]any `json:"events"`
		Notes      []map[string]any `json:"notes"`
		Replies    []map[string]any `json:"replies"`
		Timeline   []struct{ Kind, Text string }
		Thread     []struct {
			MessageSid string `json:"message_sid"`
		} `json:"thread"`
	}
	w := e.do(jsonReq("GET", "/api/sms/relays/"+sidN(1), tok, ""))
	if w.Code != 200 {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	if d.MessageSid != sidN(1) || d.Status != "acked" || len(d.Attempts) != 2 {
		t.Errorf("got sid %s status %s %d attempts, want %s acked 2", d.MessageSid, d.Status, len(d.Attempts), sidN(1))
	}
	if len(d.Notes) != 1 || d.Notes[0]["note"] != "called the customer" {
		t.Errorf("notes %v, want the one note", d.Notes)
	}
	var kinds []string
	for _, en := range d.Timeline {
		kinds = append(kinds, en.Kind)
	}
	for _, k := range []string{"received", "routed", "sent", "forwarded", "note", "acked"} {
		if !strings.Contains(","+strings.Join(kinds, ",")+",", ","+k+",") {
			t.Errorf("timeline kinds %v lack %s", kinds, k)
		}
	}
	if kinds[0] != "received" {
		t.Errorf("timeline starts with %s, want received", kinds[0])
	}
	if len(d.Thread) != 1 || d.Thread[0].MessageSid != sidN(2) {
		t.Errorf("thread %+v, want the customer's other relay %s", d.Thread, sidN(2))
	}

	for _, tc := range []struct {
		name, token, path string
		status            int
	}{
		{"other tenant", httpapi.TenantToken(admin, "other"), "/api/sms/relays/" + sidN(1), 404},
		{"unknown", tok, "/api/sms/relays/" + sidN(9), 404},
		{"malformed id", tok, "/api/sms/relays/nope", 400},
		{"no token", "", "/api/sms/relays/" + sidN(1), 401},
		{"admin", admin, "/api/sms/relays/" + sidN(1), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if w := e.do(jsonReq("GET", tc.path, tc.token, "")); w.Code != tc.status {
				t.Errorf("got %d %s, want %d", w.Code, w.Body, tc.status)
			}
		})
	}
	t.Run("method and preflight", func(t *testing.T) {
		if w := e.do(jsonReq("POST", "/api/sms/relays/"+sidN(1), tok, "{}")); w.Code != 405 {
			t.Errorf("POST got %d, want 405", w.Code)
		}
		r := jsonReq("OPTIONS", "/api/sms/relays/"+sidN(1), "", "")
		r.Header.Set("Origin", "https://dash.example.com")
		if w := e.do(r); w.Code != 204 || !strings.Contains(w.Header().Get("Access-Control-Allow-Methods"), "GET") {
			t.Errorf("preflight got %d %v", w.Code, w.Header())
		}
	})
}

func TestTracking(t *testing.T) {
	e := newEnv(t, withRelays)
	ctx := t.Context()
	_ = e.store.PutJob(ctx, relay.Job{TenantID: "qdn", ID: "job_1", CustomerID: "cust_5678", State: "en_route", OperatorID: "backup"})
	tok := httpapi.TenantToken(admin, "qdn")
	w := e.do(jsonReq("GET", "/api/track/link?job_id=job_1&customer_id=cust_5678", tok, ""))
	if w.Code != 200 {
		t.Fatalf("link: %d %s", w.Code, w.Body)
	}
	var link struct{ URL, Token string }
	_ = json.Unmarshal(w.Body.Bytes(), &link)
	if !strings.HasPrefix(link.URL, base+"/track?t=") {
		t.Fatalf("url %q, want %s/track?t=...", link.URL, base)
	}
	forged := link.Token[:len(link.Token)-2] + "AA"
	if forged == link.Token {
		forged = link.Token[:len(link.Token)-2] + "BB"
	}
	expired := httpapi.NewTrackSigner("track-secret", base)
	expired.Now = func() time.Time { return time.Now().Add(-30 * 24 * time.Hour) }
	old, _ := expired.Sign(relay.Job{TenantID: "qdn", ID: "job_1", CustomerID: "cust_5678"})
	otherKey, _ := httpapi.NewTrackSigner("another-secret", base).Sign(relay.Job{TenantID: "qdn", ID: "job_1", CustomerID: "cust_5678"})
	tests := []struct {
		name, token string
		status      int
		has, hasNot []string
	}{
		{"good", link.Token, 200, []string{`"business":"QuickDumpNow"`, `"state":"en_route"`}, []string{"+1619", "Backup", "backup", "Sergio"}},
		{"forged signature", forged, 410, []string{"link expired"}, nil},
		{"signed with another key", otherKey, 410, []string{"link expired"}, nil},
		{"expired", old, 410, []string{"link expired"}, nil},
		{"garbage", "hello", 410, []string{"link expired"}, nil},
		{"empty", "", 410, []string{"link expired"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(jsonReq("GET", "/api/track?t="+url.QueryEscape(tc.token), "", ""))
			if w.Code != tc.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tc.status)
			}
			for _, s := range tc.has {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("body %s lacks %s", w.Body, s)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(w.Body.String(), s) {
					t.Errorf("body %s shows %s", w.Body, s)
				}
			}
		})
	}
	t.Run("link errors", func(t *testing.T) {
		for q, want := range map[string]int{"job_id=job_9&customer_id=cust_5678": 404, "": 400, "job_id=job_1": 400} {
			if w := e.do(jsonReq("GET", "/api/track/link?"+q, tok, "")); w.Code != want {
				t.Errorf("%q: got %d %s, want %d", q, w.Code, w.Body, want)
			}
		}
		if w := e.do(jsonReq("GET", "/api/track/link?job_id=job_1&customer_id=cust_5678", httpapi.TenantToken(admin, "other"), "")); w.Code != 404 {
			t.Errorf("other tenant: got %d, want 404", w.Code)
		}
	})
	t.Run("auto reply carries the link when the tenant asks", func(t *testing.T) {
		ten, _ := e.store.Tenant(ctx, "qdn")
		ten.AutoReply, ten.TrackLink = "Thanks, we got it.", true
		_ = e.store.PutTenant(ctx, ten)
		w := e.do(webhook("/api/sms/incoming", form(sidN(50), custPhone, qdnNumber, "where is my truck"), true))
		if w.Code != 200 || !strings.Contains(w.Body.String(), "Thanks, we got it. Track your job: "+base+"/track?t=") {
			t.Fatalf("got %d %s, want the auto reply with a tracking link", w.Code, w.Body)
		}
		ten.TrackLink = false
		_ = e.store.PutTenant(ctx, ten)
		w = e.do(webhook("/api/sms/incoming", form(sidN(51), custPhone, qdnNumber, "hello again"), true))
		if strings.Contains(w.Body.String(), "/track?t=") {
			t.Errorf("got %s, want no link with track_link off", w.Body)
		}
	})
}

func TestSignInConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signIn string
		want   string
	}{
		{"dev server: token form", "", `{"auth":"token"}`},
		{"cognito", `{"auth":"cognito","domain":"https://x.auth.us-east-1.amazoncognito.com","clientId":"abc"}`,
			`{"auth":"cognito","domain":"https://x.auth.us-east-1.amazoncognito.com","clientId":"abc"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *httpapi.Config) {
				if tc.signIn != "" {
					c.SignIn = json.RawMessage(tc.signIn)
				}
			})
			w := e.do(jsonReq("GET", "/api/auth/config", "", ""))
			if w.Code != 200 || strings.TrimSpace(w.Body.String()) != tc.want || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("got %d %q %s, want 200 %s", w.Code, w.Body, w.Header().Get("Content-Type"), tc.want)
			}
		})
	}
}
