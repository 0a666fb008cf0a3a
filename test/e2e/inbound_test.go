package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

// TestInboundRouting: one signed customer text becomes exactly one forward,
// to the right operator, from the number the customer texted, answered with
// an empty TwiML response and audited with the original record's fields.
func TestInboundRouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, from     string
		wantTo, wantOp string
		wantCustomerID string
		wantCustomer   string
		wantReason     string
	}{
		{name: "job's assigned operator first", from: acme, wantTo: sergioBackup, wantOp: "sergio_backup",
			wantCustomerID: "cust_5678", wantCustomer: "Acme Waste Inc.", wantReason: "primary_operator_assigned_to_job"},
		{name: "no job goes to the chain head", from: bayside, wantTo: sergioMain, wantOp: "sergio_main",
			wantCustomerID: "cust_9012", wantCustomer: "Bayside Builders", wantReason: "default_chain"},
		{name: "unknown customer goes to the chain head, masked", from: stranger, wantTo: sergioMain, wantOp: "sergio_main",
			wantCustomerID: "", wantCustomer: "+1******9876", wantReason: "unknown_customer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A long window: exactly one message, however slow the machine.
			s := start(t, setup{AckTimeout: "60s"})
			before := time.Now().UTC().Add(-time.Second).Truncate(time.Second)

			w := s.text(tc.from, numA, "need a pickup")

			if got := w.TwiML(t); got != "" {
				t.Errorf("TwiML answer: got <Message>%s</Message>, want <Response/>", got)
			}
			if got := strings.TrimSpace(strings.TrimPrefix(w.Body, `<?xml version="1.0" encoding="UTF-8"?>`)); got != "<Response/>" {
				t.Errorf("TwiML answer: got %q, want <Response/>", w.Body)
			}
			msgs := waitMessages(t, s.Fake, 1, 5*time.Second)
			noMoreMessages(t, s.Fake, 1, 500*time.Millisecond)
			m := msgs[0]
			if m.To != tc.wantTo || m.From != numA {
				t.Errorf("forward went %s → %s, want %s → %s", m.From, m.To, numA, tc.wantTo)
			}
			if want := "📦 " + tc.wantCustomer + ": need a pickup"; !strings.HasPrefix(m.Body, want) {
				t.Errorf("forward body: got %q, want it to start with %q", m.Body, want)
			}
			if want := forwardBody(tc.wantCustomer, "need a pickup", 1); m.Body != want {
				t.Errorf("forward body: got %q, want %q", m.Body, want)
			}
			cb, err := url.Parse(m.StatusCallback)
			if err != nil || !strings.HasPrefix(m.StatusCallback, s.URL+"/api/sms/delivery?") ||
				cb.Query().Get("tenant") != "a" || cb.Query().Get("relay") != w.Sid || cb.Query().Get("attempt") != "1" {
				t.Errorf("StatusCallback: got %q, want %s/api/sms/delivery for tenant a, relay %s, attempt 1", m.StatusCallback, s.URL, w.Sid)
			}

			recs := s.waitAudit(w.Sid, "routed")
			if len(recs) != 1 {
				t.Fatalf("audit of %s: got events %v, want [routed]", w.Sid, events(recs))
			}
			r := recs[0]
			for _, key := range []string{"timestamp", "message_sid", "customer_id", "customer_name", "original_from",
				"routed_to_operator", "routing_reason", "acknowledged", "ack_timestamp",
				"tenant_id", "event", "attempt", "segments", "latency_ms"} {
				if _, ok := r.Raw[key]; !ok {
					t.Errorf("audit record has no %q field: %v", key, keys(r.Raw))
				}
			}
			ts, err := time.Parse(time.RFC3339, r.Timestamp)
			if !seedTimeRe.MatchString(r.Timestamp) || err != nil {
				t.Errorf("timestamp: got %q, want UTC to the second like 2024-01-15T14:23:45Z", r.Timestamp)
			} else if now := time.Now().UTC(); ts.Before(before) || ts.After(now.Add(time.Second)) {
				t.Errorf("timestamp: got %s, want between %s and %s", r.Timestamp, before.Format(time.RFC3339), now.Format(time.RFC3339))
			}
			checks := []struct {
				field     string
				got, want any
			}{
				{"message_sid", r.MessageSid, w.Sid},
				{"customer_id", r.CustomerID, tc.wantCustomerID},
				{"customer_name", r.CustomerName, tc.wantCustomer},
				{"original_from", r.OriginalFrom, tc.from},
				{"routed_to_operator", r.RoutedToOperator, tc.wantOp},
				{"routing_reason", r.RoutingReason, tc.wantReason},
				{"acknowledged", r.Acknowledged, false},
				{"ack_timestamp", string(r.Raw["ack_timestamp"]), "null"},
				{"tenant_id", r.TenantID, "a"},
				{"event", r.Event, "routed"},
				{"attempt", r.Attempt, 1},
				{"segments", r.Segments, m.NumSegments},
				{"outbound_sid", r.OutboundSid, m.Sid},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("audit %s: got %v, want %v", c.field, c.got, c.want)
				}
			}
			if r.LatencyMs < 0 || r.LatencyMs > 5000 {
				t.Errorf("audit latency_ms: got %d, want 0..5000", r.LatencyMs)
			}
		})
	}
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestInboundRejected: what is not a valid, signed text for a tenant number
// is refused with the right status and sends nothing; a bad signature also
// leaves no audit record.
func TestInboundRejected(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	hook := s.URL + "/api/sms/incoming"
	other := faketwilio.Start(t, faketwilio.WithCredentials(accountSID, "someoneelsestoken000000000000000"))
	form := func(sid, from, to, body string) url.Values {
		v := url.Values{"AccountSid": {accountSID}, "Body": {body}, "NumMedia": {"0"}}
		for k, x := range map[string]string{"MessageSid": sid, "SmsSid": sid, "From": from, "To": to} {
			if x != "" {
				v.Set(k, x)
			}
		}
		return v
	}
	sign := func(v url.Values) string { return s.Fake.Signature(hook, v) }

	t.Run("signature", func(t *testing.T) {
		good := form(faketwilio.NewMessageSid(), acme, numA, "need a pickup")
		tampered := form(good.Get("MessageSid"), acme, numA, "need a pickup NOW")
		tests := []struct {
			name string
			form url.Values
			sig  string
		}{
			{"no X-Twilio-Signature", good, ""},
			{"signed with another auth token", good, other.Signature(hook, good)},
			{"signed for another URL", good, s.Fake.Signature("https://evil.example.com/api/sms/incoming", good)},
			{"signed for the URL with another query", good, s.Fake.Signature(hook+"?x=1", good)},
			{"body changed after signing", tampered, sign(good)},
			{"garbage signature", good, "bm90IGEgc2lnbmF0dXJl"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, _, body := s.postForm("/api/sms/incoming", tc.form, tc.sig)
				if status != http.StatusForbidden {
					t.Errorf("got status %d (%s), want 403", status, body)
				}
				if !strings.Contains(body, "X-Twilio-Signature") {
					t.Errorf("got body %s, want an error naming X-Twilio-Signature", body)
				}
			})
		}
	})

	t.Run("fields", func(t *testing.T) {
		tests := []struct {
			name      string
			form      url.Values
			wantField string
		}{
			{"From missing", form(faketwilio.NewMessageSid(), "", numA, "hi"), "From"},
			{"From not E.164", form(faketwilio.NewMessageSid(), "6195551234", numA, "hi"), "From"},
			{"To missing", form(faketwilio.NewMessageSid(), acme, "", "hi"), "To"},
			{"To not E.164", form(faketwilio.NewMessageSid(), acme, "+1 619 555 0100", "hi"), "To"},
			{"MessageSid missing", form("", acme, numA, "hi"), "MessageSid"},
			{"MessageSid malformed", form("not-a-sid", acme, numA, "hi"), "MessageSid"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, _, body := s.postForm("/api/sms/incoming", tc.form, sign(tc.form))
				if status != http.StatusBadRequest {
					t.Errorf("got status %d (%s), want 400", status, body)
				}
				var e struct {
					Error string `json:"error"`
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error, tc.wantField) {
					t.Errorf("got body %s, want a JSON error naming %s", body, tc.wantField)
				}
			})
		}
	})

	t.Run("body over 64 KiB", func(t *testing.T) {
		v := form(faketwilio.NewMessageSid(), acme, numA, strings.Repeat("x", 65<<10))
		status, _, body := s.postForm("/api/sms/incoming", v, sign(v))
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("got status %d (%s), want 413", status, body)
		}
	})

	t.Run("To is no tenant's number", func(t *testing.T) {
		v := form(faketwilio.NewMessageSid(), acme, "+16195550999", "need a pickup")
		status, _, body := s.postForm("/api/sms/incoming", v, sign(v))
		if status < 400 || status > 499 {
			t.Errorf("got status %d (%s), want a 4xx error", status, body)
		}
	})

	t.Run("nothing sent or audited", func(t *testing.T) {
		noMoreMessages(t, s.Fake, 0, 300*time.Millisecond)
		for _, tenant := range []string{"a", "b"} {
			if recs := s.audit(url.Values{"tenant_id": {tenant}}); len(recs) != 0 {
				t.Errorf("audit of tenant %s: got %d records %v, want none", tenant, len(recs), events(recs))
			}
		}
	})
}

// TestInboundSecondaryToken: during a token rotation, webhooks signed with
// either token are accepted.
func TestInboundSecondaryToken(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s", Secondary: secondaryToken})
	rotated := faketwilio.Start(t, faketwilio.WithCredentials(accountSID, secondaryToken))
	for i, signer := range []*faketwilio.Server{s.Fake, rotated} {
		sid := faketwilio.NewMessageSid()
		resp, err := signer.Inbound(context.Background(), s.URL+"/api/sms/incoming",
			url.Values{"MessageSid": {sid}, "From": {acme}, "To": {numA}, "Body": {"need a pickup"}})
		if err != nil {
			t.Fatal(err)
		}
		if w := readWebhook(t, sid, resp); w.Status != http.StatusOK {
			t.Errorf("signed with token %d: got status %d (%s), want 200", i+1, w.Status, w.Body)
		}
	}
	// Both texts come from Acme to the same operator, so the second is paced.
	msgs := waitMessages(t, s.Fake, 2, 5*time.Second)
	if got := len(to(msgs, sergioBackup)); got != 2 {
		t.Errorf("got %d forwards to sergio_backup, want 2:\n%s", got, describe(msgs))
	}
}

// TestInboundConcurrentDuplicates: Twilio may deliver one text several
// times at once; the MessageSid is claimed once, so exactly one forward goes
// out, and every copy is answered 200 so that Twilio stops retrying.
func TestInboundConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	sid := faketwilio.NewMessageSid()
	const copies = 10
	answers := make([]webhook, copies)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			resp, err := s.Fake.Inbound(context.Background(), s.URL+"/api/sms/incoming",
				url.Values{"MessageSid": {sid}, "From": {acme}, "To": {numA}, "Body": {"need a pickup"}})
			if err != nil {
				answers[i] = webhook{Sid: sid, Body: err.Error()}
				return
			}
			answers[i] = readWebhook(t, sid, resp)
		}()
	}
	posted := time.Now()
	close(gate)
	wg.Wait()
	for i, a := range answers {
		if a.Status != http.StatusOK {
			t.Errorf("copy %d: got status %d (%s), want 200", i+1, a.Status, a.Body)
		} else if got := a.TwiML(t); got != "" {
			t.Errorf("copy %d: got TwiML message %q, want <Response/>", i+1, got)
		}
	}
	msgs := waitMessages(t, s.Fake, 1, 5*time.Second)
	firstAt := time.Since(posted)
	noMoreMessages(t, s.Fake, 1, time.Second)
	if msgs[0].To != sergioBackup {
		t.Errorf("forward to %s, want %s", msgs[0].To, sergioBackup)
	}
	recs := s.waitAudit(sid, "routed")
	if got := len(only(recs, "routed")); got != 1 {
		t.Errorf("audit: got %d routed events, want 1 (events %v)", got, events(recs))
	}
	if got := len(only(recs, "duplicate")); got != copies-1 {
		t.Errorf("audit: got %d duplicate events, want %d (events %v)", got, copies-1, events(recs))
	}
	t.Logf("the one forward went out %s after the copies were posted", firstAt.Round(time.Millisecond))

	if firstAt > 2*time.Second {
		t.Errorf("the one forward went out %s after the copies, want within the 1 s pace", firstAt.Round(time.Millisecond))
	}

	t.Run("losing copies take no pacing slot", func(t *testing.T) {
		// The next relay to the same operator waits one pace (1 s) at most.
		next := s.text(acme, numA, "second request")
		waitMessages(t, s.Fake, 2, 15*time.Second)
		if gap := time.Since(next.At); gap > 2*time.Second {
			t.Errorf("the next relay to sergio_backup went out %s after its text, want within the 1 s pace", gap.Round(time.Millisecond))
		}
	})
}

// TestRetriedWebhookTakesNoPacingSlot: a Twilio retry of a text already
// relayed sends nothing, so it must not delay the next relay to the same
// operator beyond the one-second pace.
func TestRetriedWebhookTakesNoPacingSlot(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	arr := &arrivals{t: t, fake: s.Fake}
	w := s.text(acme, numA, "need a pickup")
	arr.next(5 * time.Second)
	for range 2 {
		if again := s.textSid(w.Sid, acme, numA, "need a pickup"); again.Status != http.StatusOK {
			t.Fatalf("retried webhook: got %d %s, want 200", again.Status, again.Body)
		}
	}
	s.text(acme, numA, "and a second container")
	m := arr.next(10 * time.Second)
	gap := arr.at[1].Sub(arr.at[0])
	t.Logf("second relay to sergio_backup went out %s after the first", gap.Round(time.Millisecond))
	if m.To != sergioBackup || !strings.Contains(m.Body, "and a second container") {
		t.Fatalf("second forward: got → %s %q, want the second relay to sergio_backup", m.To, m.Body)
	}
	if gap > 1500*time.Millisecond {
		t.Errorf("second relay went out %s after the first, want one pace (1 s): the two retries took slots", gap.Round(time.Millisecond))
	}
}

// TestConcurrentCustomers: a burst of texts from different customers that
// route to the same operator are all accepted (Twilio does not retry an SMS
// webhook answered 5xx, so a refusal loses the text) and all relayed.
func TestConcurrentCustomers(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	const customers = 12
	answers := make([]webhook, customers)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			sid := faketwilio.NewMessageSid()
			from := fmt.Sprintf("+1619556%04d", i)
			resp, err := s.Fake.Inbound(context.Background(), s.URL+"/api/sms/incoming",
				url.Values{"MessageSid": {sid}, "From": {from}, "To": {numA}, "Body": {"need a pickup"}})
			if err != nil {
				answers[i] = webhook{Sid: sid, Body: err.Error()}
				return
			}
			answers[i] = readWebhook(t, sid, resp)
		}()
	}
	close(gate)
	wg.Wait()
	var refused []string
	for i, a := range answers {
		if a.Status != http.StatusOK {
			refused = append(refused, fmt.Sprintf("customer %d: %d %s", i, a.Status, strings.TrimSpace(a.Body)))
		}
	}
	if len(refused) > 0 {
		t.Errorf("%d of %d concurrent texts refused, want all answered 200:\n%s", len(refused), customers, strings.Join(refused, "\n"))
	}
	// Every relay exists: the dashboard can acknowledge each one (their
	// forwards to the one operator go out paced, one a second).
	for i, a := range answers {
		if code, _, b := s.call(http.MethodPost, "/api/sms/ack", adminToken, map[string]string{"message_sid": a.Sid}); code != http.StatusOK {
			t.Errorf("customer %d: ack of relay %s: got %d %s, want 200", i, a.Sid, code, b)
		}
	}
}
