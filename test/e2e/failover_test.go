package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

// ackWindow is testdata/tenants.yaml's ack_timeout.
const ackWindow = 2 * time.Second

// arrivals records when each of the fake's messages arrived, as seen by the
// test: the fake stamps messages to the second only.
type arrivals struct {
	t    *testing.T
	fake *faketwilio.Server
	at   []time.Time
	msgs []faketwilio.Message
}

// next waits for the next message and notes when it arrived.
func (a *arrivals) next(timeout time.Duration) faketwilio.Message {
	a.t.Helper()
	a.msgs = waitMessages(a.t, a.fake, len(a.at)+1, timeout)
	a.at = append(a.at, time.Now())
	return a.msgs[len(a.at)-1]
}

// TestFailoverNoAck: with nobody acknowledging, each operator of the chain
// is texted one ack window after the previous one.
func TestFailoverNoAck(t *testing.T) {
	t.Parallel()
	s := start(t, setup{})
	arr := &arrivals{t: t, fake: s.Fake}
	w := s.text(bayside, numA, "where is my dumpster")
	first := arr.next(5 * time.Second)
	second := arr.next(ackWindow + 3*time.Second)
	third := arr.next(ackWindow + 3*time.Second)

	got := []string{first.To, second.To, third.To}
	if want := []string{sergioMain, sergioBackup, emergency}; !slices.Equal(got, want) {
		t.Errorf("texted %v, want the chain in order %v", got, want)
	}
	for i, m := range []faketwilio.Message{first, second, third} {
		if want := forwardBody("Bayside Builders", "where is my dumpster", 1); m.Body != want || m.From != numA {
			t.Errorf("message %d: got %s %q, want from %s %q", i+1, m.From, m.Body, numA, want)
		}
	}
	for i := 1; i < len(arr.at); i++ {
		gap := arr.at[i].Sub(arr.at[i-1])
		late := gap - ackWindow
		t.Logf("failover %d: next operator texted %s after the previous (lateness %+dms)", i, gap.Round(time.Millisecond), late.Milliseconds())
		if late > 1500*time.Millisecond || late < -500*time.Millisecond {
			t.Errorf("failover %d came %s after the previous forward, want %s (−0.5 s … +1.5 s)", i, gap.Round(time.Millisecond), ackWindow)
		}
	}
	recs := s.waitAudit(w.Sid, "forwarded")
	for _, r := range only(recs, "forwarded") {
		if r.RoutingReason != "no_ack_timeout" || r.Acknowledged {
			t.Errorf("forwarded record: got reason %q acknowledged %v, want no_ack_timeout, false", r.RoutingReason, r.Acknowledged)
		}
	}
}

// TestAckByReply: the operator's "OK" before the window ends stops the
// escalation and is audited.
func TestAckByReply(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, reply string }{
		{"OK", "OK"},
		{"code OK", "1 OK"},
		{"lower case code ok without space", "1ok"},
		{"ACK", "ack"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, setup{})
			w := s.text(acme, numA, "need a pickup")
			fw := waitMessages(t, s.Fake, 1, 5*time.Second)[0]
			forwardedAt := time.Now()
			if fw.To != sergioBackup {
				t.Fatalf("forward to %s, want sergio_backup %s", fw.To, sergioBackup)
			}
			before := time.Now().UTC().Truncate(time.Second)
			ack := s.text(sergioBackup, numA, tc.reply)
			if got, want := ack.TwiML(t), "Confirmed: Acme Waste Inc. is yours."; got != want {
				t.Errorf("answer to %q: got %q, want %q", tc.reply, got, want)
			}
			// Twice the window: an escalation would have come by then.
			noMoreMessages(t, s.Fake, 1, 2*ackWindow-time.Since(forwardedAt))
			recs := s.waitAudit(w.Sid, "acked")
			acked := only(recs, "acked")
			if len(acked) != 1 || acked[0].RoutedToOperator != "sergio_backup" {
				t.Fatalf("audit: got events %v, want one acked by sergio_backup", events(recs))
			}
			checkAcked(t, "acked event", acked[0], before)
			exp := s.export("tenant_id=a")
			if len(exp) != 1 {
				t.Fatalf("export: got %v, want the one routed record", events(exp))
			}
			checkAcked(t, "exported routed record", exp[0], before)
		})
	}
}

// TestPassReply: "<code> PASS" hands the relay to the next operator at
// once, without waiting for the window.
func TestPassReply(t *testing.T) {
	t.Parallel()
	// A long window: the relay must move on because of the PASS, and the late
	// OK must find it still with the next operator even on a slow (-race) run.
	s := start(t, setup{AckTimeout: "30s"})
	w := s.text(acme, numA, "need a pickup")
	fw := waitMessages(t, s.Fake, 1, 5*time.Second)[0]
	code := replyCode(t, fw)
	passed := time.Now()
	pass := s.text(sergioBackup, numA, fmt.Sprintf("%d PASS", code))
	if got, want := pass.TwiML(t), "Passed to Sergio."; got != want {
		t.Errorf("answer to PASS: got %q, want %q", got, want)
	}
	next := waitMessages(t, s.Fake, 2, 5*time.Second)[1]
	took := time.Since(passed)
	t.Logf("next operator texted within %s of the PASS", took.Round(time.Millisecond))
	if next.To != sergioMain || next.Body != forwardBody("Acme Waste Inc.", "need a pickup", 1) {
		t.Errorf("after PASS: got → %s %q, want → %s", next.To, next.Body, sergioMain)
	}
	if took > time.Second {
		t.Errorf("next operator texted %s after PASS, want at once (< 1 s)", took.Round(time.Millisecond))
	}
	recs := s.waitAudit(w.Sid, "forwarded")
	if f := only(recs, "forwarded"); len(f) != 1 || f[0].RoutingReason != "operator_pass" || f[0].RoutedToOperator != "sergio_main" {
		t.Errorf("audit: got %+v, want one forwarded to sergio_main for operator_pass", f)
	}
	// The passing operator no longer holds it.
	late := s.text(sergioBackup, numA, fmt.Sprintf("%d OK", code))
	if got, want := late.TwiML(t), "Acme Waste Inc. was handed to Sergio."; got != want {
		t.Errorf("answer to a late OK: got %q, want %q", got, want)
	}
}

// TestDeliveryFailedFailsOver: a failed status callback for the current
// forward texts the next operator at once.
func TestDeliveryFailedFailsOver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status string
		code   int
	}{
		{"failed", 30003},
		{"undelivered", 30005},
	}
	for _, tc := range tests {
		t.Run(tc.status, func(t *testing.T) {
			t.Parallel()
			s := start(t, setup{})
			w := s.text(acme, numA, "need a pickup")
			fw := waitMessages(t, s.Fake, 1, 5*time.Second)[0]
			if err := s.Fake.SetStatus(fw.Sid, "sent", 0); err != nil {
				t.Fatalf("sent callback: %v", err)
			}
			at := time.Now()
			if err := s.Fake.SetStatus(fw.Sid, tc.status, tc.code); err != nil {
				t.Fatalf("%s callback: %v", tc.status, err)
			}
			next := waitMessages(t, s.Fake, 2, 5*time.Second)[1]
			took := time.Since(at)
			t.Logf("next operator texted %s after the %s callback", took.Round(time.Millisecond), tc.status)
			if next.To != sergioMain {
				t.Errorf("after %s: texted %s, want sergio_main %s", tc.status, next.To, sergioMain)
			}
			if took > time.Second {
				t.Errorf("next operator texted %s after the callback, want at once (< 1 s)", took.Round(time.Millisecond))
			}
			recs := s.waitAudit(w.Sid, "delivery_failed", "forwarded")
			df := only(recs, "delivery_failed")
			if len(df) != 1 || df[0].RoutedToOperator != "sergio_backup" || df[0].Raw["error_code"] == nil ||
				string(df[0].Raw["error_code"]) != fmt.Sprint(tc.code) {
				t.Errorf("delivery_failed record: got %+v, want sergio_backup with error_code %d", df, tc.code)
			}
			if f := only(recs, "forwarded"); len(f) != 1 || f[0].RoutingReason != "delivery_failed" {
				t.Errorf("forwarded records: got %+v, want one for delivery_failed", f)
			}
			// A late "delivered" for the failed forward changes nothing.
			if err := s.Fake.SetStatus(fw.Sid, "delivered", 0); err != nil {
				t.Fatalf("late delivered callback: %v", err)
			}
			noMoreMessages(t, s.Fake, 2, 300*time.Millisecond)
		})
	}
}

// TestChainExhausted: when nobody on the chain acknowledges, the fallback
// contact is texted once and the audit records the exhaustion.
func TestChainExhausted(t *testing.T) {
	t.Parallel()
	s := start(t, setup{})
	w := s.text(bravoCust, numB, "load ready")
	msgs := waitMessages(t, s.Fake, 3, 2*ackWindow+5*time.Second)
	got := []string{msgs[0].To, msgs[1].To, msgs[2].To}
	if want := []string{bravoMain, bravoBackup, officeB}; !slices.Equal(got, want) {
		t.Errorf("texted %v, want %v", got, want)
	}
	fb := msgs[2]
	if want := "📦 Bravo Builders: load ready\nNobody confirmed this. Customer: " + bravoCust; fb.Body != want || fb.From != numB {
		t.Errorf("fallback text: got %s %q, want from %s %q", fb.From, fb.Body, numB, want)
	}
	recs := s.waitAudit(w.Sid, "fallback", "exhausted")
	if got, want := events(recs), []string{"routed", "forwarded", "fallback", "exhausted"}; !slices.Equal(got, want) {
		t.Errorf("audit events: got %v, want %v", got, want)
	}
	ex := only(recs, "exhausted")[0]
	if ex.RoutingReason != "chain_exhausted" || ex.RoutedToOperator != "fallback" || ex.Acknowledged || ex.TenantID != "b" {
		t.Errorf("exhausted record: got reason %q operator %q acknowledged %v tenant %q, want chain_exhausted, fallback, false, b",
			ex.RoutingReason, ex.RoutedToOperator, ex.Acknowledged, ex.TenantID)
	}
	// Nothing more: no second pass (repeat 0), no second fallback text.
	noMoreMessages(t, s.Fake, 3, ackWindow+500*time.Millisecond)
}

// TestHelpReply: an operator's HELP is answered with the usage text in the
// webhook's TwiML, and sends nothing.
func TestHelpReply(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	for _, body := range []string{"HELP", "help", "?"} {
		w := s.text(sergioMain, numA, body)
		if got := w.TwiML(t); got != relay.UsageText {
			t.Errorf("answer to %q: got <Message>%q, want %q", body, got, relay.UsageText)
		}
		if !strings.Contains(w.Body, "<Message>") {
			t.Errorf("answer to %q: got %s, want a <Message>", body, w.Body)
		}
	}
	noMoreMessages(t, s.Fake, 0, 200*time.Millisecond)
}

// TestTwoWayReply: an operator's free text reaches the customer from the
// tenant number; once the customer texts STOP, nothing more is relayed and
// the operator is told so.
func TestTwoWayReply(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	w := s.text(acme, numA, "need a pickup")
	waitMessages(t, s.Fake, 1, 5*time.Second)

	reply := s.text(sergioBackup, numA, "On my way, about 10 minutes")
	if got := reply.TwiML(t); got != "" {
		t.Errorf("answer to the operator's text: got %q, want <Response/>", got)
	}
	msgs := waitMessages(t, s.Fake, 2, 5*time.Second)
	if m := msgs[1]; m.From != numA || m.To != acme || m.Body != "On my way, about 10 minutes" {
		t.Errorf("relayed reply: got %s → %s %q, want %s → %s %q", m.From, m.To, m.Body, numA, acme, "On my way, about 10 minutes")
	}
	recs := s.waitAudit(w.Sid, "reply")
	if r := only(recs, "reply"); len(r) != 1 || r[0].Error != "" || r[0].OutboundSid != msgs[1].Sid {
		t.Errorf("reply record: got %+v, want one sent as %s", r, msgs[1].Sid)
	}

	stop := s.text(acme, numA, "STOP")
	if got := stop.TwiML(t); got != "" {
		t.Errorf("answer to STOP: got %q, want <Response/> (Twilio answers STOP itself)", got)
	}
	blocked := s.text(sergioBackup, numA, "Are you still there?")
	if got, want := blocked.TwiML(t), "Not sent: Acme Waste Inc. opted out of texts (STOP)."; got != want {
		t.Errorf("answer to a text after STOP: got %q, want %q", got, want)
	}
	// The operator holding the thread was told.
	if m := waitMessages(t, s.Fake, 3, 5*time.Second)[2]; m.To != sergioBackup || !strings.Contains(m.Body, "opted out") {
		t.Errorf("notice: got → %s %q, want the holder told the customer opted out", m.To, m.Body)
	}
	noMoreMessages(t, s.Fake, 3, 300*time.Millisecond)
	if got := len(to(s.Fake.Messages(), acme)); got != 1 {
		t.Errorf("customer got %d texts, want 1", got)
	}
	recs = s.audit(url.Values{"tenant_id": {"a"}, "customer_id": {"cust_5678"}})
	var blockedRec []auditRecord
	for _, r := range only(recs, "reply") {
		if r.Error != "" {
			blockedRec = append(blockedRec, r)
		}
	}
	if len(blockedRec) != 1 || blockedRec[0].Error != "customer opted out" {
		t.Errorf("audit: got blocked reply records %+v, want one with error \"customer opted out\"", blockedRec)
	}
	if len(only(recs, "opt_out")) != 1 {
		t.Errorf("audit: got events %v, want one opt_out", events(recs))
	}

	// START opts back in: replies reach the customer again.
	if got := s.text(acme, numA, "START").TwiML(t); got != "" {
		t.Errorf("answer to START: got %q, want <Response/>", got)
	}
	if got := s.text(sergioBackup, numA, "Back online?").TwiML(t); got != "" {
		t.Errorf("answer to a text after START: got %q, want <Response/>", got)
	}
	msgs = waitMessages(t, s.Fake, 5, 5*time.Second)
	if m := msgs[3]; m.To != sergioBackup || !strings.Contains(m.Body, "START") {
		t.Errorf("notice of START: got → %s %q", m.To, m.Body)
	}
	if m := msgs[4]; m.From != numA || m.To != acme || m.Body != "Back online?" {
		t.Errorf("reply after START: got %s → %s %q, want %s → %s %q", m.From, m.To, m.Body, numA, acme, "Back online?")
	}
}

// TestDuplicateWebhookKeepsReplyCode: Twilio retrying a text that was
// already relayed changes nothing: the operator's reply code still works.
func TestDuplicateWebhookKeepsReplyCode(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	w := s.text(acme, numA, "need a pickup")
	fw := waitMessages(t, s.Fake, 1, 5*time.Second)[0]
	code := replyCode(t, fw)
	if again := s.textSid(w.Sid, acme, numA, "need a pickup"); again.Status != 200 || again.TwiML(t) != "" {
		t.Fatalf("retried webhook: got %d %s, want 200 <Response/>", again.Status, again.Body)
	}
	noMoreMessages(t, s.Fake, 1, 300*time.Millisecond)
	ack := s.text(sergioBackup, numA, fmt.Sprintf("%d OK", code))
	if got, want := ack.TwiML(t), "Confirmed: Acme Waste Inc. is yours."; got != want {
		t.Errorf("answer to %d OK after a retried webhook: got %q, want %q", code, got, want)
	}
}

// TestDeliveryCallbackRejected: status callbacks are signed like webhooks
// and scoped to their relay's tenant; a bad one changes nothing.
func TestDeliveryCallbackRejected(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	w := s.text(acme, numA, "need a pickup")
	fw := waitMessages(t, s.Fake, 1, 5*time.Second)[0]
	form := url.Values{"MessageSid": {fw.Sid}, "MessageStatus": {"failed"}, "ErrorCode": {"30003"},
		"AccountSid": {accountSID}, "From": {numA}, "To": {fw.To}}
	cb := func(tenant string) string {
		return "/api/sms/delivery?" + url.Values{"tenant": {tenant}, "relay": {w.Sid}, "attempt": {"1"}}.Encode()
	}
	other := faketwilio.Start(t, faketwilio.WithCredentials(accountSID, "someoneelsestoken000000000000000"))
	tests := []struct {
		name, path string
		form       url.Values
		sig        func(path string, form url.Values) string
		want       int
	}{
		{"unsigned", cb("a"), form, func(string, url.Values) string { return "" }, 403},
		{"signed with another token", cb("a"), form, func(p string, f url.Values) string { return other.Signature(s.URL+p, f) }, 403},
		{"signed for another relay", cb("a"), form, func(p string, f url.Values) string {
			return s.Fake.Signature(s.URL+strings.Replace(p, w.Sid, "SM00000000000000000000000000000000", 1), f)
		}, 403},
		{"another tenant's relay", cb("b"), form, func(p string, f url.Values) string { return s.Fake.Signature(s.URL+p, f) }, 404},
		{"unknown status", cb("a"), func() url.Values {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			f.Set("MessageStatus", "exploded")
			return f
		}(), func(p string, f url.Values) string { return s.Fake.Signature(s.URL+p, f) }, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, body := s.postForm(tc.path, tc.form, tc.sig(tc.path, tc.form))
			if got != tc.want {
				t.Errorf("got status %d %s, want %d", got, body, tc.want)
			}
		})
	}
	noMoreMessages(t, s.Fake, 1, 300*time.Millisecond)
	if recs := s.audit(url.Values{"message_sid": {w.Sid}}); !slices.Equal(events(recs), []string{"routed"}) {
		t.Errorf("audit after rejected callbacks: got %v, want [routed]", events(recs))
	}
}

// TestOperatorReplies: what an operator texts back is answered in the
// webhook's TwiML: unknown codes, nothing open, a pass down to the
// fallback contact, and a late OK after that.
func TestOperatorReplies(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	steps := []struct {
		name, from, body string
		wantReply        string
		wantTo           string // the phone texted as a result, "" for none
	}{
		{"OK with nothing open", bravoMain, "OK", "You have no open messages. " + relay.UsageText, ""},
		{"the customer's text", bravoCust, "load ready", "", bravoMain},
		{"unknown code", bravoMain, "7 OK", "No open message with code 7. " + relay.UsageText, ""},
		{"code OK from an operator not texted", bravoBackup, "1 OK", "No open message with code 1. " + relay.UsageText, ""},
		{"PASS", bravoMain, "1 PASS", "Passed to Bert.", bravoBackup},
		{"PASS at the end of the chain", bravoBackup, "pass", "Passed. Nobody else is on the chain; Office B was told.", officeB},
		{"OK after the fallback", bravoMain, "1 OK", "Bravo Builders went unanswered and was sent to the fallback contact.", ""},
	}
	sent := 0
	var relaySid string
	for _, st := range steps {
		w := s.text(st.from, numB, st.body)
		if st.from == bravoCust {
			relaySid = w.Sid
		}
		if got := w.TwiML(t); got != st.wantReply {
			t.Errorf("%s: %s texted %q, got reply %q, want %q", st.name, st.from, st.body, got, st.wantReply)
		}
		if st.wantTo != "" {
			sent++
			if m := waitMessages(t, s.Fake, sent, 5*time.Second)[sent-1]; m.To != st.wantTo || m.From != numB {
				t.Errorf("%s: texted %s → %s, want %s → %s", st.name, m.From, m.To, numB, st.wantTo)
			}
		}
		noMoreMessages(t, s.Fake, sent, 100*time.Millisecond)
	}
	recs := s.waitAudit(relaySid, "exhausted")
	if got, want := events(recs), []string{"routed", "forwarded", "fallback", "exhausted"}; !slices.Equal(got, want) {
		t.Errorf("audit events: got %v, want %v", got, want)
	}
}

// TestLongTextIsTruncated: a customer text as long as Twilio allows is
// forwarded shortened, so that the forward and its hint fit Twilio's 1,600
// character limit, and the audit says so.
func TestLongTextIsTruncated(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	long := strings.Repeat("0123456789", 160) // 1,600 characters
	w := s.text(acme, numA, long)
	m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]
	prefix, hint := "📦 Acme Waste Inc.: ", "…\nReply 1 OK to confirm · 1 PASS to hand off"
	if !strings.HasPrefix(m.Body, prefix+"0123456789") || !strings.HasSuffix(m.Body, hint) {
		t.Errorf("forward: got %q…%q, want %q…%q", m.Body[:40], m.Body[len(m.Body)-60:], prefix, hint)
	}
	if n := len(utf16Units(m.Body)); n > 1600 || n < 1590 {
		t.Errorf("forward is %d UTF-16 units, want at most 1,600 and no shorter than needed", n)
	}
	recs := s.waitAudit(w.Sid, "routed")
	if string(recs[0].Raw["truncated"]) != "true" {
		t.Errorf("routed record: truncated is %s, want true", recs[0].Raw["truncated"])
	}
}

func utf16Units(s string) []uint16 { return utf16.Encode([]rune(s)) }
