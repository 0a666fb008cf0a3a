package e2e

import (
	"net/url"
	"slices"
	"testing"
	"time"
)

// TestRestartKeepsPendingFailover: a dev server stopped while an ack window
// is open escalates after its restart on the same state dir, once, and a
// Twilio retry of the original text is still recognized.
func TestRestartKeepsPendingFailover(t *testing.T) {
	t.Parallel()
	const window = 3 * time.Second
	first := start(t, setup{AckTimeout: "3s"})
	arr := &arrivals{t: t, fake: first.Fake}
	w := first.text(bayside, numA, "where is my dumpster")
	m1 := arr.next(5 * time.Second)
	if m1.To != sergioMain {
		t.Fatalf("first forward to %s, want sergio_main %s", m1.To, sergioMain)
	}
	if err := first.stop(); err != nil {
		t.Fatalf("SIGTERM: dev server exited with %v, want a clean exit", err)
	}
	stoppedAt := time.Since(arr.at[0])

	second := start(t, setup{AckTimeout: "3s", StateDir: first.StateDir, Addr: first.Addr, Fake: first.Fake})
	t.Logf("stopped %s after the forward, serving again %s after it", stoppedAt.Round(time.Millisecond), time.Since(arr.at[0]).Round(time.Millisecond))
	if time.Since(arr.at[0]) >= window {
		t.Fatalf("the restart took longer than the ack window; the test proves nothing")
	}

	m2 := arr.next(window + 5*time.Second)
	gap := arr.at[1].Sub(arr.at[0])
	t.Logf("escalation after restart: %s after the first forward (lateness %+dms)", gap.Round(time.Millisecond), (gap - window).Milliseconds())
	if m2.To != sergioBackup {
		t.Errorf("escalation to %s, want sergio_backup %s", m2.To, sergioBackup)
	}
	if late := gap - window; late > 1500*time.Millisecond || late < -500*time.Millisecond {
		t.Errorf("escalation %s after the first forward, want %s (−0.5 s … +1.5 s)", gap.Round(time.Millisecond), window)
	}

	// Twilio retries the original webhook: recognized, not relayed again.
	if again := second.textSid(w.Sid, bayside, numA, "where is my dumpster"); again.Status != 200 {
		t.Errorf("retried webhook after restart: got %d %s, want 200", again.Status, again.Body)
	}
	second.mustCall("POST", "/api/sms/ack", adminToken, map[string]string{"message_sid": w.Sid}, 200, nil)
	noMoreMessages(t, first.Fake, 2, 500*time.Millisecond)
	msgs := first.Fake.Messages()
	for _, phone := range []string{sergioMain, sergioBackup} {
		if n := len(to(msgs, phone)); n != 1 {
			t.Errorf("%s got %d texts, want 1:\n%s", phone, n, describe(msgs))
		}
	}
	recs := second.audit(url.Values{"message_sid": {w.Sid}})
	// The forward is audited when Twilio's answer is back, which may be just
	// after the fake already showed the message and the retry went in.
	got := events(recs)
	if len(got) == 4 && got[1] == "duplicate" && got[2] == "forwarded" {
		got[1], got[2] = got[2], got[1]
	}
	if want := []string{"routed", "forwarded", "duplicate", "acked"}; !slices.Equal(got, want) {
		t.Errorf("audit events: got %v, want %v", events(recs), want)
	}
}

// TestRestartDuringEscalation: a dev server stopped while an escalation's
// text is on its way to Twilio (the send never completes) texts that
// operator after its restart, rather than skipping them.
func TestRestartDuringEscalation(t *testing.T) {
	t.Parallel()
	first := start(t, setup{})
	w := first.text(bayside, numA, "where is my dumpster")
	if m := waitMessages(t, first.Fake, 1, 5*time.Second)[0]; m.To != sergioMain {
		t.Fatalf("first forward to %s, want sergio_main %s", m.To, sergioMain)
	}
	// Twilio hangs on the escalation's send; stop the server while it does.
	first.Fake.SetLatency(time.Minute)
	eventually(t, ackWindow+5*time.Second, func() (bool, string) {
		n := 0
		for _, r := range first.Fake.Requests() {
			if r.Method == "POST" {
				n++
			}
		}
		return n >= 2, "the escalation's send never reached the fake"
	})
	_ = first.stop() // the hung send keeps it from stopping in time; it is killed
	first.Fake.SetLatency(0)
	if got := len(first.Fake.Messages()); got != 1 {
		t.Fatalf("the hung send created a message; want none (got %d messages)", got)
	}

	second := start(t, setup{StateDir: first.StateDir, Addr: first.Addr, Fake: first.Fake})
	m := waitMessages(t, second.Fake, 2, ackWindow+5*time.Second)[1]
	if m.To != sergioBackup {
		t.Errorf("after the restart: texted %s, want sergio_backup %s, whose escalation was cut off", m.To, sergioBackup)
	}
	second.mustCall("POST", "/api/sms/ack", adminToken, map[string]string{"message_sid": w.Sid}, 200, nil)
}

// TestBackToBackTextsReachTheOperatorAtOnce (defect A): two texts for one
// operator less than a second apart both go out at once and are both
// routed; nothing waits for a pacing slot (Twilio queues per sender number)
// and no step is dropped.
func TestBackToBackTextsReachTheOperatorAtOnce(t *testing.T) {
	t.Parallel()
	srv := start(t, setup{AckTimeout: "60s"})
	// Two customers (one customer's second text would join her thread).
	a := srv.text(bayside, numA, "need a pickup")
	b := srv.text(stranger, numA, "and a second container")
	msgs := waitMessages(t, srv.Fake, 2, 5*time.Second)
	for i, want := range []struct{ name, text string }{{"Bayside Builders", "need a pickup"}, {"+1******9876", "and a second container"}} {
		if msgs[i].To != sergioMain || msgs[i].Body != forwardBody(want.name, want.text, i+1) {
			t.Errorf("message %d: got → %s %q, want → %s %q", i+1, msgs[i].To, msgs[i].Body, sergioMain,
				forwardBody(want.name, want.text, i+1))
		}
	}
	noMoreMessages(t, srv.Fake, 2, 500*time.Millisecond)
	for _, w := range []string{a.Sid, b.Sid} {
		if recs := srv.waitAudit(w, "routed"); !slices.Equal(events(recs), []string{"routed"}) {
			t.Errorf("audit of %s: got %v, want [routed]", w, events(recs))
		}
	}
}
