package e2e

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

// Conversations (issue 10): threads, keywords for both sides, the prefix.

// TestThreadFailsOver: a customer's follow-up goes at once to the operator
// holding her relay, with the same reply code and no new chain; when the
// relay fails over, the next operator gets the conversation, newest first.
func TestThreadFailsOver(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "3s"})
	first := s.text(acme, numA, "need a pickup")
	fwd := waitMessages(t, s.Fake, 1, 5*time.Second)[0]
	if fwd.To != sergioBackup {
		t.Fatalf("first forward to %s, want sergio_backup", fwd.To)
	}
	code := replyCode(t, fwd)
	follow := s.text(acme, numA, "at 5pm please")
	m := waitMessages(t, s.Fake, 2, 5*time.Second)[1]
	want := forwardBody("Acme Waste Inc. (follow-up)", "at 5pm please", code)
	if m.To != sergioBackup || m.Body != want {
		t.Errorf("follow-up: got → %s %q, want → %s %q", m.To, m.Body, sergioBackup, want)
	}
	recs := s.waitAuditIn("a", follow.Sid, "follow_up")
	r := only(recs, "follow_up")[0]
	if r.MessageSid != follow.Sid || r.RoutingReason != "follow_up" || r.RoutedToOperator != "sergio_backup" ||
		string(r.Raw["relay_id"]) != `"`+first.Sid+`"` || r.OutboundSid != m.Sid {
		t.Errorf("follow-up audit %+v (relay_id %s), want follow_up on relay %s with its own sid", r, r.Raw["relay_id"], first.Sid)
	}
	// The relay's own audit lists the follow-up too.
	s.waitAudit(first.Sid, "routed", "follow_up")

	// The window runs from the first forward: the next operator gets the
	// conversation so far, newest first.
	next := waitMessages(t, s.Fake, 3, 8*time.Second)[2]
	wantConv := "📦 Acme Waste Inc. (2 texts, newest first):\nat 5pm please\nneed a pickup\n"
	if next.To != sergioMain || !strings.HasPrefix(next.Body, wantConv) || !strings.Contains(next.Body, "OK to confirm") {
		t.Errorf("failover: got → %s %q, want → %s starting %q", next.To, next.Body, sergioMain, wantConv)
	}
	// A follow-up now goes to the operator the relay waits on.
	s.text(acme, numA, "hello??")
	if m := waitMessages(t, s.Fake, 4, 5*time.Second)[3]; m.To != sergioMain || !strings.Contains(m.Body, "(follow-up): hello??") {
		t.Errorf("follow-up after failover: got → %s %q, want → sergio_main", m.To, m.Body)
	}
	// An acknowledgement ends the chain; follow-ups keep reaching the acker.
	if got := s.text(sergioMain, numA, "OK").TwiML(t); !strings.Contains(got, "Confirmed") {
		t.Fatalf("ack: %q", got)
	}
	s.text(acme, numA, "thanks")
	if m := waitMessages(t, s.Fake, 5, 5*time.Second)[4]; m.To != sergioMain || !strings.Contains(m.Body, "(follow-up): thanks") {
		t.Errorf("follow-up after the ack: got → %s %q, want → sergio_main", m.To, m.Body)
	}
	noMoreMessages(t, s.Fake, 5, 4*time.Second) // no new chain, no new window
}

// TestDuplicateFollowUpOnce: Twilio retrying a follow-up sends it once.
func TestDuplicateFollowUpOnce(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	s.text(acme, numA, "need a pickup")
	waitMessages(t, s.Fake, 1, 5*time.Second)
	sid := faketwilio.NewMessageSid()
	for i := range 3 {
		if w := s.textSid(sid, acme, numA, "at 5pm"); w.Status != http.StatusOK {
			t.Fatalf("try %d: %d %s", i, w.Status, w.Body)
		}
	}
	waitMessages(t, s.Fake, 2, 5*time.Second)
	noMoreMessages(t, s.Fake, 2, 500*time.Millisecond)
	if n := len(only(s.waitAuditIn("a", sid, "follow_up"), "follow_up")); n != 1 {
		t.Errorf("%d follow_up records, want 1", n)
	}
}

// TestNewRelayAfterTheConversationWindow: once the window after the
// acknowledgement is over, the customer's text starts a relay of its own.
func TestNewRelayAfterTheConversationWindow(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s", Conversation: "1s"})
	first := s.text(acme, numA, "need a pickup")
	waitMessages(t, s.Fake, 1, 5*time.Second)
	s.text(sergioBackup, numA, "OK")
	s.text(acme, numA, "thanks") // inside the window: a follow-up
	if m := waitMessages(t, s.Fake, 2, 5*time.Second)[1]; !strings.Contains(m.Body, "(follow-up): thanks") {
		t.Errorf("inside the window: %q, want a follow-up", m.Body)
	}
	time.Sleep(1200 * time.Millisecond)
	second := s.text(acme, numA, "another pickup")
	recs := s.waitAudit(second.Sid, "routed")
	if r := only(recs, "routed")[0]; r.MessageSid == first.Sid || r.Attempt != 1 {
		t.Errorf("after the window: %+v, want a new relay", r)
	}
	if m := waitMessages(t, s.Fake, 3, 5*time.Second)[2]; m.Body != forwardBody("Acme Waste Inc.", "another pickup", 2) {
		t.Errorf("new relay text %q", m.Body)
	}
}

// TestOperatorStopAndStart: an operator's STOP takes them out of every
// chain at once (audited, never relayed, never an ack) until START.
func TestOperatorStopAndStart(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	w := s.text(bayside, numA, "where is my dumpster") // chain: sergio_main first
	if m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]; m.To != sergioMain {
		t.Fatalf("first forward to %s", m.To)
	}
	if got := s.text(sergioMain, numA, "STOP").TwiML(t); got != "" {
		t.Errorf("answer to STOP: %q, want none", got)
	}
	// Skipped at once: the relay moves to the backup.
	m := waitMessages(t, s.Fake, 2, 5*time.Second)[1]
	if m.To != sergioBackup {
		t.Errorf("after STOP: texted %s, want sergio_backup at once", m.To)
	}
	recs := s.waitAudit(w.Sid, "forwarded")
	if r := only(recs, "forwarded")[0]; r.RoutingReason != "operator_opted_out" || r.Acknowledged {
		t.Errorf("forward after STOP: %+v, want routing_reason operator_opted_out, not acknowledged", r)
	}
	office := s.audit(url.Values{"tenant_id": {"a"}, "event": {"opt_out"}})
	if len(office) != 1 || office[0].RoutingReason != "operator_opted_out" || office[0].RoutedToOperator != "sergio_main" {
		t.Errorf("office alert: %+v", office)
	}
	if n := len(to(s.Fake.Messages(), bayside)); n != 0 {
		t.Errorf("STOP relayed to the customer: %d texts", n)
	}
	// A new relay skips the operator, audited as operator_opted_out.
	w2 := s.text(stranger, numA, "hello?")
	if m := waitMessages(t, s.Fake, 3, 5*time.Second)[2]; m.To != sergioBackup {
		t.Errorf("new relay while opted out went to %s", m.To)
	}
	skipped := only(s.waitAudit(w2.Sid, "skipped"), "skipped")
	if len(skipped) != 1 || skipped[0].RoutingReason != "operator_opted_out" || skipped[0].RoutedToOperator != "sergio_main" {
		t.Errorf("skip audit: %+v", skipped)
	}
	// START puts them back.
	if got := s.text(sergioMain, numA, "START").TwiML(t); !strings.Contains(got, "back on") {
		t.Errorf("answer to START: %q", got)
	}
	s.text("+16195559875", numA, "one more")
	if m := waitMessages(t, s.Fake, 4, 5*time.Second)[3]; m.To != sergioMain {
		t.Errorf("after START: texted %s, want sergio_main", m.To)
	}
}

// TestCustomerHelp: HELP is answered with the help text once a day and
// still relayed.
func TestCustomerHelp(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	got := s.text(bayside, numA, "HELP").TwiML(t)
	if !strings.HasPrefix(got, "QuickDumpNow: ") || !strings.Contains(got, "STOP") {
		t.Errorf("answer to HELP: %q, want the default help text", got)
	}
	if m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]; !strings.Contains(m.Body, "Bayside Builders: HELP") {
		t.Errorf("HELP not relayed: %q", m.Body)
	}
	if got := s.text(bayside, numA, "help").TwiML(t); got != "" {
		t.Errorf("second HELP the same day answered %q", got)
	}
}

// TestPrefixAndEncoding: a GSM-7 prefix set through the API keeps forwards
// in 160-character GSM-7 segments; the default 📦 makes them UCS-2.
func TestPrefixAndEncoding(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	c := newDirClient(t, s)
	w1 := s.text(bayside, numA, "need a pickup at the north gate tomorrow")
	enc := func(sid string) (string, int) {
		r := only(s.waitAudit(sid, "routed"), "routed")[0]
		return strings.Trim(string(r.Raw["encoding"]), `"`), r.Segments
	}
	if e, n := enc(w1.Sid); e != "UCS-2" || n != 2 {
		t.Errorf("default prefix: %s in %d segments, want UCS-2 in 2", e, n)
	}
	adm := s.roleToken("a", "admin")
	var tenant map[string]any
	c.must(200, "GET", "/api/tenant", adm, nil).decode(t, &tenant)
	tenant["prefix"] = "QDN"
	c.must(200, "PUT", "/api/tenant", adm, tenant)
	w2 := s.text(stranger, numA, "need a pickup at the north gate tomorrow")
	m := waitMessages(t, s.Fake, 2, 5*time.Second)[1]
	if !strings.HasPrefix(m.Body, "QDN +1******9876: need a pickup") || strings.Contains(m.Body, "·") {
		t.Errorf("GSM-7 forward: %q", m.Body)
	}
	if e, n := enc(w2.Sid); e != "GSM-7" || n != 1 {
		t.Errorf("GSM-7 prefix: %s in %d segments, want GSM-7 in 1", e, n)
	}
}

// TestDataThatCannotWorkIsRefused: the API refuses a customer with an
// operator's phone, a fallback equal to the tenant's own number and
// numbers that are not phone numbers.
func TestDataThatCannotWorkIsRefused(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	c := newDirClient(t, s)
	adm := s.roleToken("a", "admin")
	r := c.must(409, "PUT", "/api/customers/clash", adm, map[string]any{"name": "Clash", "phone": sergioMain})
	if !strings.Contains(r.body, "sergio_main") {
		t.Errorf("409 answer %s does not name the operator", r.body)
	}
	c.must(409, "PUT", "/api/operators/clash", adm, map[string]any{"name": "Clash", "phone": acme})
	c.must(400, "PUT", "/api/customers/bad", adm, map[string]any{"name": "Bad", "phone": "+11115550100"})
	var tenant map[string]any
	c.must(200, "GET", "/api/tenant", adm, nil).decode(t, &tenant)
	tenant["fallback"] = map[string]string{"name": "Self", "phone": numA}
	if r := c.must(400, "PUT", "/api/tenant", adm, tenant); !strings.Contains(r.body, "fallback.phone") {
		t.Errorf("400 answer %s does not name fallback.phone", r.body)
	}
}

// TestDeliveryStatusOnlyMovesForward: a late "sent" after "delivered"
// changes nothing: a later "undelivered" (no step back to "sent" having
// happened) does not fail the delivered text over.
func TestDeliveryStatusOnlyMovesForward(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	w := s.text(acme, numA, "need a pickup")
	m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]
	for _, st := range []string{"delivered", "sent", "undelivered"} {
		if err := s.Fake.SetStatus(m.Sid, st, 0); err != nil {
			t.Fatal(err)
		}
	}
	noMoreMessages(t, s.Fake, 1, time.Second)
	if recs := s.audit(url.Values{"message_sid": {w.Sid}}); len(only(recs, "delivery_failed")) != 0 {
		t.Errorf("audit %v: a delivered text was failed over", events(recs))
	}
}

// TestDataFileThatCannotWorkIsRefused: the dev server does not start on a
// data file with a customer phone that is an operator's, a fallback equal to
// the tenant's own number, or a number that is not a phone number, and it
// names each problem.
func TestDataFileThatCannotWorkIsRefused(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(dataFile(t, "", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), `{id: cust_9012, name: Bayside Builders, phone: "+16195554321"}`,
		`{id: cust_9012, name: Bayside Builders, phone: "+16195550111"}`, 1)
	bad = strings.Replace(bad, `fallback: {name: Office B, phone: "+16195550299"}`, `fallback: {name: Office B, phone: "+16195550200"}`, 1)
	bad = strings.Replace(bad, `{id: bravo_backup, name: Bert, phone: "+16195550212"}`, `{id: bravo_backup, name: Bert, phone: "+10195550212"}`, 1)
	if bad == string(b) {
		t.Fatal("testdata changed: nothing replaced")
	}
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := launch(t, setup{Fake: newFake(t), StateDir: t.TempDir()}, freeAddr(t), path)
	if err == nil {
		t.Fatal("the dev server started on a data file that cannot work")
	}
	out := s.out.String()
	for _, want := range []string{
		`customers[1].phone: +16195550111 is also operator "sergio_main"'s phone`,
		"fallback.phone: +16195550200 is one of the tenant's own numbers",
		`operators[1].phone: "+10195550212" has an area code starting with 0 or 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not name %q:\n%s", want, out)
		}
	}
}
