package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
)

// TestTenantIsolation: a tenant sees only its own customers, relays and
// audit records; its token cannot act on another tenant's relay.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	tokA, tokB := httpapi.TenantToken(adminToken, "a"), httpapi.TenantToken(adminToken, "b")

	relayA := s.text(acme, numA, "need a pickup")
	// Acme is tenant a's customer; to tenant b it is a stranger.
	relayB := s.text(acme, numB, "need a pickup")
	ownB := s.text(bravoCust, numB, "load ready")
	msgs := waitMessages(t, s.Fake, 3, 5*time.Second)

	t.Run("a's customer is unknown to b", func(t *testing.T) {
		got := to(msgs, bravoMain)
		if len(got) != 2 {
			t.Fatalf("got %d forwards to b's chain head, want 2:\n%s", len(got), describe(msgs))
		}
		wants := map[string]string{
			relayB.Sid: forwardBody("+1******1234", "need a pickup", 1),
			ownB.Sid:   forwardBody("Bravo Builders", "load ready", 2),
		}
		bodies := map[string]bool{}
		for _, m := range got {
			bodies[m.Body] = true
			if m.From != numB {
				t.Errorf("forward to b's operator from %s, want b's number %s", m.From, numB)
			}
		}
		for sid, want := range wants {
			if !bodies[want] {
				t.Errorf("relay %s: no forward %q to b's chain head among:\n%s", sid, want, describe(got))
			}
		}
		recs := s.auditAs(tokB, url.Values{"message_sid": {relayB.Sid}})
		if len(recs) != 1 {
			t.Fatalf("b's audit of %s: got events %v, want [routed]", relayB.Sid, events(recs))
		}
		r := recs[0]
		if r.TenantID != "b" || r.CustomerID != "" || r.CustomerName != "+1******1234" ||
			r.RoutingReason != "unknown_customer" || r.RoutedToOperator != "bravo_main" {
			t.Errorf("b's audit record: got tenant %q customer %q %q reason %q operator %q, want b, \"\", +1******1234, unknown_customer, bravo_main",
				r.TenantID, r.CustomerID, r.CustomerName, r.RoutingReason, r.RoutedToOperator)
		}
	})

	t.Run("b's operators never get a's customers", func(t *testing.T) {
		for _, m := range s.Fake.Messages() {
			toB := m.To == bravoMain || m.To == bravoBackup || m.To == officeB
			if toB && (strings.Contains(m.Body, "Acme Waste Inc.") || m.From != numB) {
				t.Errorf("b's operator %s got %q from %s", m.To, m.Body, m.From)
			}
			if !toB && m.From != numA {
				t.Errorf("a's operator %s got a text from %s, want %s", m.To, m.From, numA)
			}
		}
		if got := to(msgs, sergioBackup); len(got) != 1 || got[0].Body != forwardBody("Acme Waste Inc.", "need a pickup", 1) {
			t.Errorf("a's relay: want one forward to sergio_backup, got:\n%s", describe(got))
		}
	})

	t.Run("b's token cannot touch a's relay", func(t *testing.T) {
		ref := map[string]string{"message_sid": relayA.Sid}
		for _, path := range []string{"/api/sms/forward", "/api/sms/ack"} {
			if got, _, b := s.call(http.MethodPost, path, tokB, ref); got != http.StatusNotFound {
				t.Errorf("POST %s of a's relay with b's token: got %d %s, want 404", path, got, b)
			}
		}
		note := map[string]string{"message_sid": relayA.Sid, "routing_reason": "peek", "note": "x"}
		if got, _, b := s.call(http.MethodPost, "/api/sms/audit", tokB, note); got != http.StatusNotFound {
			t.Errorf("POST /api/sms/audit on a's relay with b's token: got %d %s, want 404", got, b)
		}
		if recs := s.auditAs(tokB, url.Values{"message_sid": {relayA.Sid}}); len(recs) != 0 {
			t.Errorf("b's audit of a's relay: got %d records %v, want none", len(recs), events(recs))
		}
		if got, _, b := s.call(http.MethodGet, "/api/sms/audit?tenant_id=a", tokB, nil); got != http.StatusBadRequest {
			t.Errorf("GET audit of tenant a with b's token: got %d %s, want 400", got, b)
		}
		_, _, b := s.call(http.MethodGet, "/api/sms/audit/export", tokB, nil)
		var exp []auditRecord
		if err := json.Unmarshal(b, &exp); err != nil {
			t.Fatalf("export with b's token: %v (%s)", err, b)
		}
		for _, r := range exp {
			if r.TenantID != "b" || r.MessageSid == relayA.Sid {
				t.Errorf("export with b's token holds %s of tenant %q", r.MessageSid, r.TenantID)
			}
		}
		noMoreMessages(t, s.Fake, 3, 200*time.Millisecond)
		if recs := s.audit(url.Values{"message_sid": {relayA.Sid}}); len(recs) != 1 || recs[0].Acknowledged {
			t.Errorf("a's relay after b's attempts: got events %v, want [routed], unacknowledged", events(recs))
		}
	})

	t.Run("a's token can", func(t *testing.T) {
		if recs := s.auditAs(tokA, url.Values{"message_sid": {relayA.Sid}}); len(recs) != 1 || recs[0].Event != "routed" {
			t.Errorf("a's audit of its relay: got events %v, want [routed]", events(recs))
		}
		var fw relayView
		s.mustCall(http.MethodPost, "/api/sms/forward", tokA, map[string]string{"message_sid": relayA.Sid}, http.StatusOK, &fw)
		msgs := waitMessages(t, s.Fake, 4, 5*time.Second)
		if m := msgs[3]; m.To != sergioMain || m.From != numA {
			t.Errorf("forward with a's token went %s → %s, want %s → %s", m.From, m.To, numA, sergioMain)
		}
		var ack relayView
		s.mustCall(http.MethodPost, "/api/sms/ack", tokA, map[string]string{"message_sid": relayA.Sid}, http.StatusOK, &ack)
		if ack.Status != "acked" || ack.TenantID != "a" {
			t.Errorf("ack with a's token: got status %q tenant %q, want acked, a", ack.Status, ack.TenantID)
		}
		if got, _, b := s.call(http.MethodPost, "/api/sms/ack", tokA, map[string]string{"message_sid": ownB.Sid}); got != http.StatusNotFound {
			t.Errorf("ack of b's relay with a's token: got %d %s, want 404", got, b)
		}
	})

	t.Run("a's cursor does not page b's audit", func(t *testing.T) {
		p := s.auditPage(tokA, url.Values{"limit": {"1"}})
		if p.Next == "" {
			t.Fatalf("a's first page of one record has no next cursor; a has %v", events(s.auditAs(tokA, nil)))
		}
		if got, _, b := s.call(http.MethodGet, "/api/sms/audit?limit=1&cursor="+url.QueryEscape(p.Next), tokB, nil); got != http.StatusBadRequest {
			t.Errorf("b paging with a's cursor: got %d %s, want 400", got, b)
		}
	})
}
