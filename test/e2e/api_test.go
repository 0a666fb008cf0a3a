package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
)

// TestInternalRoutesNeedToken: every internal route answers 401 without a
// valid bearer token, and does nothing.
func TestInternalRoutesNeedToken(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	w := s.text(acme, numA, "need a pickup")
	waitMessages(t, s.Fake, 1, 5*time.Second)

	routes := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/api/sms/forward", map[string]string{"message_sid": w.Sid}},
		{http.MethodPost, "/api/sms/ack", map[string]string{"message_sid": w.Sid}},
		{http.MethodPost, "/api/sms/audit", map[string]string{"message_sid": w.Sid, "routing_reason": "x", "note": "x"}},
		{http.MethodGet, "/api/sms/audit?tenant_id=a", nil},
		{http.MethodGet, "/api/sms/audit/export?tenant_id=a", nil},
	}
	creds := []struct {
		name   string
		header []string
	}{
		{"no Authorization", nil},
		{"wrong bearer token", []string{"Bearer not-the-admin-token-000000"}},
		{"empty bearer token", []string{"Bearer "}},
		{"admin token without Bearer", []string{adminToken}},
		{"basic auth", []string{"Basic YWRtaW46" + adminToken}},
		{"forged tenant token", []string{"Bearer tt_a_000000000000000000000000"}},
		{"tenant token of another admin token", []string{"Bearer " + httpapi.TenantToken("some-other-admin-token-0000", "a")}},
	}
	for _, rt := range routes {
		for _, c := range creds {
			t.Run(rt.method+" "+rt.path+"/"+c.name, func(t *testing.T) {
				got, h, b := s.callHeaders(rt.method, rt.path, rt.body, http.Header{"Authorization": c.header})
				if got != http.StatusUnauthorized {
					t.Errorf("got status %d %s, want 401", got, b)
				}
				if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate: got %q, want a Bearer challenge", h.Get("WWW-Authenticate"))
				}
			})
		}
	}
	noMoreMessages(t, s.Fake, 1, 200*time.Millisecond)
	if recs := s.audit(url.Values{"message_sid": {w.Sid}}); !slices.Equal(events(recs), []string{"routed"}) {
		t.Errorf("audit after unauthenticated calls: got events %v, want [routed]", events(recs))
	}
}

// TestForward: POST /api/sms/forward texts the next operator of the chain,
// or the operator named.
func TestForward(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	w := s.text(acme, numA, "need a pickup")
	waitMessages(t, s.Fake, 1, 5*time.Second)

	var got relayView
	s.mustCall(http.MethodPost, "/api/sms/forward", adminToken, map[string]string{"message_sid": w.Sid}, http.StatusOK, &got)
	if got.MessageSid != w.Sid || got.Status != "pending_ack" || len(got.Attempts) != 2 || got.Attempts[1].OperatorID != "sergio_main" {
		t.Errorf("forward answer: got sid %s status %q attempts %+v, want %s pending_ack with sergio_main second", got.MessageSid, got.Status, got.Attempts, w.Sid)
	}
	msgs := waitMessages(t, s.Fake, 2, 5*time.Second)
	if m := msgs[1]; m.To != sergioMain || m.From != numA || m.Body != forwardBody("Acme Waste Inc.", "need a pickup", 1) {
		t.Errorf("forward: got %s → %s %q, want %s → %s %q", m.From, m.To, m.Body, numA, sergioMain, forwardBody("Acme Waste Inc.", "need a pickup", 1))
	}

	s.mustCall(http.MethodPost, "/api/sms/forward", adminToken,
		map[string]string{"message_sid": w.Sid, "operator": "emergency"}, http.StatusOK, &got)
	msgs = waitMessages(t, s.Fake, 3, 5*time.Second)
	if m := msgs[2]; m.To != emergency || !strings.HasPrefix(m.Body, "📦 Acme Waste Inc.: need a pickup") {
		t.Errorf("forward to emergency: got → %s %q", m.To, m.Body)
	}
	noMoreMessages(t, s.Fake, 3, 300*time.Millisecond)

	recs := s.waitAudit(w.Sid, "routed", "forwarded")
	type step struct{ event, operator, reason string }
	var steps []step
	for _, r := range recs {
		steps = append(steps, step{r.Event, r.RoutedToOperator, r.RoutingReason})
	}
	want := []step{
		{"routed", "sergio_backup", "primary_operator_assigned_to_job"},
		{"forwarded", "sergio_main", "manual_forward"},
		{"forwarded", "emergency", "manual_reassign"},
	}
	if !slices.Equal(steps, want) {
		t.Errorf("audit: got %v, want %v", steps, want)
	}

	t.Run("refused", func(t *testing.T) {
		tests := []struct {
			name string
			body any
			want int
			says string
		}{
			{"empty object", map[string]string{}, http.StatusBadRequest, "message_sid"},
			{"not JSON", "message_sid=" + w.Sid, http.StatusBadRequest, "JSON"},
			{"malformed sid", map[string]string{"message_sid": "nope"}, http.StatusBadRequest, "message_sid"},
			{"unknown field", map[string]string{"message_sid": w.Sid, "to": "x"}, http.StatusBadRequest, "to"},
			{"unknown relay", map[string]string{"message_sid": "SM00000000000000000000000000000000"}, http.StatusNotFound, ""},
			{"unknown operator", map[string]string{"message_sid": w.Sid, "operator": "nobody"}, http.StatusNotFound, ""},
			{"bad operator id", map[string]string{"message_sid": w.Sid, "operator": "a b"}, http.StatusBadRequest, "operator"},
			{"another tenant's operator", map[string]string{"message_sid": w.Sid, "operator": "bravo_main"}, http.StatusNotFound, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, _, b := s.call(http.MethodPost, "/api/sms/forward", adminToken, tc.body)
				if got != tc.want || !strings.Contains(string(b), tc.says) {
					t.Errorf("got %d %s, want %d naming %q", got, b, tc.want, tc.says)
				}
			})
		}
		noMoreMessages(t, s.Fake, 3, 200*time.Millisecond)
	})
}

// TestAck: POST /api/sms/ack acknowledges a relay; the audit and the
// maintenance.json export show acknowledged and ack_timestamp.
func TestAck(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	w := s.text(acme, numA, "need a pickup")
	waitMessages(t, s.Fake, 1, 5*time.Second)

	before := time.Now().UTC().Truncate(time.Second)
	var got relayView
	s.mustCall(http.MethodPost, "/api/sms/ack", adminToken, map[string]string{"message_sid": w.Sid}, http.StatusOK, &got)
	if got.Status != "acked" || got.AckedBy == "" {
		t.Errorf("ack answer: got status %q acked_by %q, want acked by the caller", got.Status, got.AckedBy)
	}
	recs := s.waitAudit(w.Sid, "acked")
	acked := only(recs, "acked")
	if len(acked) != 1 {
		t.Fatalf("audit: got events %v, want one acked", events(recs))
	}
	checkAcked(t, "acked event", acked[0], before)

	if code, _, b := s.call(http.MethodPost, "/api/sms/ack", adminToken, map[string]string{"message_sid": w.Sid}); code != http.StatusConflict {
		t.Errorf("second ack: got %d %s, want 409", code, b)
	}
	if code, _, b := s.call(http.MethodPost, "/api/sms/forward", adminToken, map[string]string{"message_sid": w.Sid}); code != http.StatusConflict {
		t.Errorf("forward of an acked relay: got %d %s, want 409", code, b)
	}
	exp := s.export("tenant_id=a")
	if len(exp) != 1 || exp[0].MessageSid != w.Sid || exp[0].Event != "routed" {
		t.Fatalf("export: got %d records %v, want the routed record of %s", len(exp), events(exp), w.Sid)
	}
	checkAcked(t, "exported routed record", exp[0], before)
	noMoreMessages(t, s.Fake, 1, 200*time.Millisecond)
}

// checkAcked checks that r says acknowledged, with an ack_timestamp in the
// seed format no earlier than notBefore.
func checkAcked(t *testing.T, what string, r auditRecord, notBefore time.Time) {
	t.Helper()
	if !r.Acknowledged {
		t.Errorf("%s: acknowledged is false, want true", what)
	}
	if r.AckTimestamp == nil || !seedTimeRe.MatchString(*r.AckTimestamp) {
		t.Errorf("%s: ack_timestamp is %s, want a time like 2024-01-15T14:23:52Z", what, r.Raw["ack_timestamp"])
		return
	}
	at, _ := time.Parse(time.RFC3339, *r.AckTimestamp)
	if at.Before(notBefore) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("%s: ack_timestamp %s, want between %s and now", what, *r.AckTimestamp, notBefore.Format(time.RFC3339))
	}
}

// export reads GET /api/sms/audit/export?query with the admin token.
func (s *server) export(query string) []auditRecord {
	s.t.Helper()
	code, h, b := s.call(http.MethodGet, "/api/sms/audit/export?"+query, adminToken, nil)
	if code != http.StatusOK {
		s.t.Fatalf("GET export?%s: got %d %s, want 200", query, code, b)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.t.Errorf("export Content-Type: got %q, want application/json", ct)
	}
	if cd := h.Get("Content-Disposition"); !strings.Contains(cd, "maintenance.json") {
		s.t.Errorf("export Content-Disposition: got %q, want a maintenance.json attachment", cd)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		s.t.Fatalf("export is not a JSON array: %v\n%s", err, b)
	}
	return decodeRecords(s.t, raw)
}

// TestAuditNote: POST /api/sms/audit records a routing decision or note,
// visible in GET /api/sms/audit.
func TestAuditNote(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	w := s.text(acme, numA, "need a pickup")
	s.waitAudit(w.Sid, "routed")

	body := map[string]string{"message_sid": w.Sid, "routing_reason": "dispatcher_override", "note": "called the customer back"}
	var created auditRecord
	s.mustCall(http.MethodPost, "/api/sms/audit", adminToken, body, http.StatusCreated, &created)
	if created.Event != "note" || created.MessageSid != w.Sid || created.RoutingReason != "dispatcher_override" {
		t.Errorf("POST answer: got event %q sid %q reason %q, want note %s dispatcher_override", created.Event, created.MessageSid, created.RoutingReason, w.Sid)
	}
	recs := s.waitAudit(w.Sid, "note")
	notes := only(recs, "note")
	if len(notes) != 1 {
		t.Fatalf("audit: got events %v, want one note", events(recs))
	}
	n := notes[0]
	if n.Note != body["note"] || n.RoutingReason != "dispatcher_override" || n.CustomerID != "cust_5678" ||
		n.CustomerName != "Acme Waste Inc." || n.OriginalFrom != acme || n.TenantID != "a" || n.RoutedToOperator != "sergio_backup" {
		t.Errorf("note record: got %+v", n)
	}
	if !slices.Contains(events(s.export("tenant_id=a")), "note") {
		t.Errorf("export: want the note among the maintenance.json records")
	}

	tests := []struct {
		name string
		body any
		want int
		says string
	}{
		{"no routing_reason", map[string]string{"message_sid": w.Sid, "note": "x"}, http.StatusBadRequest, "routing_reason"},
		{"bad routing_reason", map[string]string{"message_sid": w.Sid, "routing_reason": "Not A Reason"}, http.StatusBadRequest, "routing_reason"},
		{"no message_sid", map[string]string{"routing_reason": "x"}, http.StatusBadRequest, "message_sid"},
		{"note too long", map[string]string{"message_sid": w.Sid, "routing_reason": "x", "note": strings.Repeat("n", 2001)}, http.StatusBadRequest, "note"},
		{"unknown relay", map[string]string{"message_sid": "SM00000000000000000000000000000000", "routing_reason": "x"}, http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, b := s.call(http.MethodPost, "/api/sms/audit", adminToken, tc.body)
			if got != tc.want || !strings.Contains(string(b), tc.says) {
				t.Errorf("got %d %s, want %d naming %q", got, b, tc.want, tc.says)
			}
		})
	}
}

// TestAuditQuery: GET /api/sms/audit filters by customer, operator and time,
// pages with limit and cursor, and refuses bad parameters; the export is the
// maintenance.json array in time order.
func TestAuditQuery(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	sids := []string{
		s.text(acme, numA, "need a pickup").Sid,
		s.text(bayside, numA, "where is my dumpster").Sid,
		s.text(stranger, numA, "hello?").Sid,
		s.text(acme, numA, "also a second one").Sid,
	}
	waitMessages(t, s.Fake, 4, 10*time.Second)
	for _, sid := range sids[:3] {
		s.waitAudit(sid, "routed")
	}
	s.waitAuditIn("a", sids[3], "follow_up") // acme's second text joined her open relay
	s.text(bravoCust, numB, "tenant b text") // must never show in tenant a's audit
	all := s.audit(url.Values{"tenant_id": {"a"}})
	if len(all) != 4 {
		t.Fatalf("audit of tenant a: got %d records %v, want 3 routed and a follow_up", len(all), events(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].TimestampNs < all[i-1].TimestampNs {
			t.Errorf("audit records out of time order at %d: %d after %d", i, all[i].TimestampNs, all[i-1].TimestampNs)
		}
	}
	ids := func(recs []auditRecord) []string {
		out := []string{}
		for _, r := range recs {
			out = append(out, r.EventID)
		}
		return out
	}
	filter := func(keep func(auditRecord) bool) []string {
		var out []auditRecord
		for _, r := range all {
			if keep(r) {
				out = append(out, r)
			}
		}
		return ids(out)
	}
	nano := func(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
	mid := all[2].TimestampNs

	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			name  string
			query url.Values
			want  []string
		}{
			{"customer_id", url.Values{"customer_id": {"cust_5678"}},
				filter(func(r auditRecord) bool { return r.CustomerID == "cust_5678" })},
			{"operator", url.Values{"operator": {"sergio_main"}},
				filter(func(r auditRecord) bool { return r.RoutedToOperator == "sergio_main" })},
			{"message_sid", url.Values{"message_sid": {sids[1]}},
				filter(func(r auditRecord) bool { return r.MessageSid == sids[1] })},
			{"since", url.Values{"since": {nano(mid)}},
				filter(func(r auditRecord) bool { return r.TimestampNs >= mid })},
			{"until", url.Values{"until": {nano(mid)}},
				filter(func(r auditRecord) bool { return r.TimestampNs < mid })},
			{"since and until", url.Values{"since": {nano(all[1].TimestampNs)}, "until": {nano(all[3].TimestampNs)}},
				filter(func(r auditRecord) bool {
					return r.TimestampNs >= all[1].TimestampNs && r.TimestampNs < all[3].TimestampNs
				})},
			{"since in the future", url.Values{"since": {time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}, []string{}},
			{"until in the past", url.Values{"until": {"2020-01-01T00:00:00Z"}}, []string{}},
			{"customer and operator", url.Values{"customer_id": {"cust_5678"}, "operator": {"sergio_main"}}, []string{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				q := url.Values{"tenant_id": {"a"}}
				for k, v := range tc.query {
					q[k] = v
				}
				if got := ids(s.audit(q)); !slices.Equal(got, tc.want) {
					t.Errorf("GET audit?%s: got events %v, want %v", q.Encode(), got, tc.want)
				}
			})
		}
	})

	t.Run("paging", func(t *testing.T) {
		for _, limit := range []int{1, 2, 3} {
			q := url.Values{"tenant_id": {"a"}, "limit": {strconv.Itoa(limit)}}
			var got []auditRecord
			pages := 0
			for {
				p := s.auditPage(adminToken, q)
				pages++
				if len(p.Records) > limit {
					t.Errorf("limit %d: page %d has %d records", limit, pages, len(p.Records))
				}
				got = append(got, p.Records...)
				if p.Next == "" || pages > 10 {
					break
				}
				q.Set("cursor", p.Next)
			}
			if !slices.Equal(ids(got), ids(all)) {
				t.Errorf("limit %d: pages hold %v, want %v", limit, ids(got), ids(all))
			}
			if want := (len(all) + limit - 1) / limit; pages < want || pages > want+1 {
				t.Errorf("limit %d: got %d pages, want %d (or one more, empty)", limit, pages, want)
			}
		}
	})

	t.Run("bad parameters", func(t *testing.T) {
		tests := []struct{ name, query, says string }{
			{"since not RFC 3339", "tenant_id=a&since=yesterday", "since"},
			{"since a date only", "tenant_id=a&since=2024-01-15", "since"},
			{"until not RFC 3339", "tenant_id=a&until=1705328625", "until"},
			{"until before since", "tenant_id=a&since=2024-01-16T00:00:00Z&until=2024-01-15T00:00:00Z", "until"},
			{"limit zero", "tenant_id=a&limit=0", "limit"},
			{"limit negative", "tenant_id=a&limit=-5", "limit"},
			{"limit not a number", "tenant_id=a&limit=ten", "limit"},
			{"limit too large", "tenant_id=a&limit=100000", "limit"},
			{"no tenant with two tenants", "customer_id=cust_5678", "tenant_id"},
			{"garbage cursor", "tenant_id=a&cursor=bm90LWEtY3Vyc29y", "cursor"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, _, b := s.call(http.MethodGet, "/api/sms/audit?"+tc.query, adminToken, nil)
				if got != http.StatusBadRequest || !strings.Contains(string(b), tc.says) {
					t.Errorf("GET audit?%s: got %d %s, want 400 naming %s", tc.query, got, b, tc.says)
				}
			})
		}
	})

	t.Run("export", func(t *testing.T) {
		exp := s.export("tenant_id=a")
		if !slices.Equal(ids(exp), ids(all)) {
			t.Errorf("export: got %v, want the routed records %v in time order", ids(exp), ids(all))
		}
		for i, r := range exp {
			if i > 0 && (r.Timestamp < exp[i-1].Timestamp || r.TimestampNs < exp[i-1].TimestampNs) {
				t.Errorf("export out of time order at %d: %s after %s", i, r.Timestamp, exp[i-1].Timestamp)
			}
			for _, k := range []string{"timestamp", "message_sid", "customer_id", "customer_name", "original_from",
				"routed_to_operator", "routing_reason", "acknowledged", "ack_timestamp"} {
				if _, ok := r.Raw[k]; !ok {
					t.Errorf("export record %d has no %q", i, k)
				}
			}
		}
		if got := s.export("tenant_id=a&since=" + url.QueryEscape(nano(mid))); !slices.Equal(ids(got), ids(all[2:])) {
			t.Errorf("export since the third record: got %v, want %v", ids(got), ids(all[2:]))
		}
	})
}

// TestCORS: preflights from an allowed dashboard origin are answered with
// that origin echoed, never "*"; other origins get no allow-origin.
func TestCORS(t *testing.T) {
	t.Parallel()
	const dash = "https://dash.example.com"
	s := start(t, setup{AckTimeout: "60s", CORS: dash + ",https://ops.example.com"})
	routes := []struct{ path, method string }{
		{"/api/sms/incoming", "POST"},
		{"/api/sms/forward", "POST"},
		{"/api/sms/audit", "POST"},
		{"/api/sms/audit", "GET"},
		{"/api/sms/status", "POST"},
		{"/api/sms/status", "GET"},
		{"/api/sms/ack", "POST"},
		{"/api/sms/audit/export", "GET"},
	}
	for _, rt := range routes {
		t.Run("preflight "+rt.method+" "+rt.path, func(t *testing.T) {
			h := http.Header{"Origin": {dash}, "Access-Control-Request-Method": {rt.method},
				"Access-Control-Request-Headers": {"authorization,content-type"}}
			got, hd, b := s.callHeaders(http.MethodOptions, rt.path, nil, h)
			if got != http.StatusNoContent {
				t.Errorf("got status %d %s, want 204", got, b)
			}
			if a := hd.Values("Access-Control-Allow-Origin"); !slices.Equal(a, []string{dash}) {
				t.Errorf("Access-Control-Allow-Origin: got %q, want [%s]", a, dash)
			}
			if m := hd.Get("Access-Control-Allow-Methods"); !strings.Contains(m, rt.method) {
				t.Errorf("Access-Control-Allow-Methods: got %q, want it to hold %s", m, rt.method)
			}
			if ah := strings.ToLower(hd.Get("Access-Control-Allow-Headers")); !strings.Contains(ah, "authorization") || !strings.Contains(ah, "content-type") {
				t.Errorf("Access-Control-Allow-Headers: got %q, want Authorization and Content-Type", ah)
			}
			if cc := hd.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control: got %q, want no-cache", cc)
			}
		})
	}
	others := []struct{ name, origin string }{
		{"another site", "https://evil.example.com"},
		{"the dashboard over http", "http://dash.example.com"},
		{"a suffix of the dashboard", "https://dash.example.com.evil.example"},
		{"null", "null"},
	}
	for _, o := range others {
		t.Run("preflight from "+o.name, func(t *testing.T) {
			h := http.Header{"Origin": {o.origin}, "Access-Control-Request-Method": {"POST"}}
			got, hd, b := s.callHeaders(http.MethodOptions, "/api/sms/forward", nil, h)
			if a := hd.Get("Access-Control-Allow-Origin"); a != "" {
				t.Errorf("Access-Control-Allow-Origin: got %q, want none", a)
			}
			if got >= 200 && got < 300 {
				t.Errorf("got status %d %s, want a refusal", got, b)
			}
		})
		t.Run("GET from "+o.name, func(t *testing.T) {
			_, hd, _ := s.callHeaders(http.MethodGet, "/api/sms/status", nil, http.Header{"Origin": {o.origin}})
			if a := hd.Get("Access-Control-Allow-Origin"); a != "" {
				t.Errorf("Access-Control-Allow-Origin: got %q, want none", a)
			}
		})
	}
	t.Run("GET from the dashboard", func(t *testing.T) {
		got, hd, _ := s.callHeaders(http.MethodGet, "/api/sms/audit?tenant_id=a", nil,
			http.Header{"Origin": {dash}, "Authorization": bearer(adminToken)})
		if got != http.StatusOK || hd.Get("Access-Control-Allow-Origin") != dash {
			t.Errorf("got %d with Access-Control-Allow-Origin %q, want 200 with %s", got, hd.Get("Access-Control-Allow-Origin"), dash)
		}
		if !slices.Contains(hd.Values("Vary"), "Origin") {
			t.Errorf("Vary: got %q, want Origin", hd.Values("Vary"))
		}
	})
}

// TestCacheControl: every API answer, success or error, carries
// Cache-Control: no-cache.
func TestCacheControl(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	w := s.text(acme, numA, "need a pickup")
	tests := []struct {
		name, method, path, token string
		body                      any
	}{
		{"status GET", http.MethodGet, "/api/sms/status", "", nil},
		{"status POST", http.MethodPost, "/api/sms/status", "", nil},
		{"audit", http.MethodGet, "/api/sms/audit?tenant_id=a", adminToken, nil},
		{"export", http.MethodGet, "/api/sms/audit/export?tenant_id=a", adminToken, nil},
		{"ack", http.MethodPost, "/api/sms/ack", adminToken, map[string]string{"message_sid": w.Sid}},
		{"401", http.MethodPost, "/api/sms/forward", "", map[string]string{"message_sid": w.Sid}},
		{"400", http.MethodGet, "/api/sms/audit?limit=0", adminToken, nil},
		{"404 route", http.MethodGet, "/api/sms/nothing", "", nil},
		{"405", http.MethodDelete, "/api/sms/audit", adminToken, nil},
		{"unsigned webhook", http.MethodPost, "/api/sms/incoming", "", "From=x"},
		{"preflight", http.MethodOptions, "/api/sms/forward", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, h, _ := s.call(tc.method, tc.path, tc.token, tc.body)
			if cc := h.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("%s %s (%d): Cache-Control %q, want no-cache", tc.method, tc.path, code, cc)
			}
		})
	}
	t.Run("webhook", func(t *testing.T) {
		ctxResp := s.textSid(w.Sid, acme, numA, "need a pickup")
		if ctxResp.Status != http.StatusOK {
			t.Fatalf("duplicate webhook: got %d", ctxResp.Status)
		}
		code, h, _ := s.postForm("/api/sms/incoming", url.Values{"From": {acme}}, "")
		if cc := h.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("webhook (%d): Cache-Control %q, want no-cache", code, cc)
		}
	})
}

// TestStatus: GET and POST /api/sms/status answer 200 JSON for monitoring,
// without credentials and without any secret in the answer.
func TestStatus(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s", Secondary: secondaryToken})
	secrets := []string{adminToken, authToken, secondaryToken,
		httpapi.TenantToken(adminToken, "a"), httpapi.TenantToken(adminToken, "b")}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			code, h, b := s.call(method, "/api/sms/status", "", nil)
			if code != http.StatusOK {
				t.Fatalf("got status %d %s, want 200", code, b)
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
			var st struct {
				Status  string `json:"status"`
				Tenants int    `json:"tenants"`
			}
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			if st.Status != "ok" || st.Tenants != 2 {
				t.Errorf("got status %q with %d tenants, want ok with 2", st.Status, st.Tenants)
			}
			for _, secret := range secrets {
				if strings.Contains(string(b), secret) {
					t.Errorf("status answer holds a secret: %s", b)
				}
			}
		})
	}
}
