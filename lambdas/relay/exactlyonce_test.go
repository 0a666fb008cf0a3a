package relay_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Regression tests for the defects of "Exactly once under load, faults and
// crashes", one per defect, each deterministic: injected clock, a fake
// Twilio that is slow or loses answers, writes applied but answered with an
// error, and steps cut off half-way.

// setTenant changes the qdn tenant.
func (h *harness) setTenant(change func(t *relay.Tenant)) {
	h.t.Helper()
	ten, err := h.store.Tenant(context.Background(), "qdn")
	must(h.t, err)
	change(&ten)
	must(h.t, h.store.PutTenant(context.Background(), ten))
}

func (h *harness) inbound(sid, from, body string) (relay.InboundResult, error) {
	return h.svc.HandleInbound(context.Background(), relay.Inbound{MessageSid: sid, From: from, To: qdnNumber, Body: body})
}

// A: a second customer's text less than a second after the first, for the
// same operator, is texted at once; no step waits for a slot or is dropped.
func TestDefectA_BackToBackStepsAreNeitherDelayedNorDropped(t *testing.T) {
	h := newHarness(t)
	a := h.text(custPhone, qdnNumber, "one")
	h.clock.Set(h.clock.Now().Add(975 * time.Millisecond))
	b := h.text("+16195554444", qdnNumber, "two")
	if n := len(h.sender.to(mainPhone)); n != 2 {
		t.Fatalf("primary got %d texts, want both at once", n)
	}
	h.advance(61 * time.Second)
	if n := len(h.sender.to(backPhone)); n != 2 {
		t.Errorf("backup got %d texts after the window, want 2 (both relays escalated)", n)
	}
	for _, id := range []string{a.RelayID, b.RelayID} {
		if r := h.relay(id); r.Status != relay.StatusPending || len(r.Attempts) != 2 || r.Attempts[0].MessageSid == "" {
			t.Errorf("relay %s: %s with %d attempts, want pending at attempt 2 after a sent first", id, r.Status, len(r.Attempts))
		}
	}
	if n := len(h.audit.of(relay.EventRouted)); n != 2 {
		t.Errorf("%d routed events, want 2", n)
	}
}

// B: a bare OK acknowledges only a relay actually texted to the operator,
// and asks for the code when two were texted close together.
func TestDefectB_BareOKAcksOnlyWhatWasSent(t *testing.T) {
	h := newHarness(t)
	first := h.text(custPhone, qdnNumber, "one")
	h.clock.Set(h.clock.Now().Add(100 * time.Millisecond))
	h.sender.fail[mainPhone] = relay.Errorf(relay.Transient, "twilio: 503")
	second := h.text("+16195554444", qdnNumber, "two")
	delete(h.sender.fail, mainPhone)

	got := h.text(mainPhone, qdnNumber, "OK")
	if got.RelayID != first.RelayID || !strings.Contains(got.Reply, "Acme Waste Inc.") {
		t.Errorf("OK answered %q for %s, want the relay that was sent (%s)", got.Reply, got.RelayID, first.RelayID)
	}
	if r := h.relay(second.RelayID); r.Status != relay.StatusPending {
		t.Errorf("unsent relay is %s, want pending", r.Status)
	}
	// The retry sends the second relay; now two are held close together.
	h.advance(3 * time.Second)
	if n := len(h.sender.to(mainPhone)); n != 2 {
		t.Fatalf("primary got %d texts, want the retried one too", n)
	}
	third := h.text("+16195555555", qdnNumber, "three")
	ask := h.text(mainPhone, qdnNumber, "OK").Reply
	if !strings.Contains(ask, "reply with the code") {
		t.Errorf("ambiguous OK answered %q, want a request for the code", ask)
	}
	for _, id := range []string{second.RelayID, third.RelayID} {
		if r := h.relay(id); r.Status != relay.StatusPending {
			t.Errorf("relay %s is %s after an ambiguous OK, want pending", id, r.Status)
		}
	}
}

// C: a send still in flight when its window would end is not sent again,
// and its window starts when Twilio accepts it.
func TestDefectC_SendInFlightAtWindowEndIsNotResent(t *testing.T) {
	h := newHarness(t)
	h.setTenant(func(t *relay.Tenant) { t.AckTimeout = 2 * time.Second })
	var once sync.Once
	h.sender.during = func(m relay.Message) {
		if m.To != mainPhone {
			return
		}
		once.Do(func() {
			h.advance(2 * time.Second) // the window's tick fires mid-send
			h.clock.Set(h.clock.Now().Add(600 * time.Millisecond))
		})
	}
	start := h.clock.Now()
	res := h.text(custPhone, qdnNumber, "need a pickup")
	h.sender.during = nil
	h.advance(start.Add(4500 * time.Millisecond).Sub(h.clock.Now()))
	if n := len(h.sender.to(mainPhone)); n != 1 {
		t.Errorf("primary got %d texts, want 1", n)
	}
	if n := len(h.sender.to(backPhone)); n != 0 {
		t.Errorf("backup texted %d times before the primary's 2 s from acceptance (2.6 s) ran out", n)
	}
	h.advance(200 * time.Millisecond)
	if n := len(h.sender.to(backPhone)); n != 1 {
		t.Errorf("backup got %d texts at 4.7 s, want 1", n)
	}
	if ev := h.audit.of(relay.EventRouted); len(ev) != 1 || ev[0].OutboundSid == "" {
		t.Errorf("routed events %+v, want one with the outbound sid", ev)
	}
	_ = res
}

// D: a send whose answer was lost (it reached Twilio) is looked up before
// any resend, and found texts are not sent again.
func TestDefectD_LostAnswerIsLookedUpNotResent(t *testing.T) {
	h := newHarness(t)
	h.sender.lost[mainPhone] = 1
	res := h.text(custPhone, qdnNumber, "need a pickup")
	h.advance(5 * time.Second)
	if n := len(h.sender.to(mainPhone)); n != 1 {
		t.Errorf("primary got %d texts, want 1", n)
	}
	if h.sender.lookups != 1 {
		t.Errorf("%d lookups at Twilio, want 1 before deciding to resend", h.sender.lookups)
	}
	a := h.relay(res.RelayID).Attempts[0]
	if a.MessageSid == "" || a.Tries != 2 {
		t.Errorf("attempt %+v, want the found sid after 2 tries", a.Outbound)
	}
	if got := h.text(mainPhone, qdnNumber, "OK").Reply; !strings.Contains(got, "Confirmed") {
		t.Errorf("OK answered %q, want the found text acknowledgeable", got)
	}
}

// E: the fallback text is a step like the others: cut off half-way (its
// outcome never stored), it is resumed through the door, sent once and the
// relay's exhaustion is audited.
func TestDefectE_CutOffFallbackIsResumed(t *testing.T) {
	h := newHarness(t)
	h.tolerate = true
	h.setTenant(func(t *relay.Tenant) { t.Chain = []string{"sergio_main"} })
	res := h.text(custPhone, qdnNumber, "need a pickup")
	h.faults.set(once(func(r *relay.Relay) bool {
		c := r.Current()
		return c != nil && c.Fallback && c.MessageSid != ""
	}, func(*relay.Relay) error { return relay.Errorf(relay.Internal, "process killed") }), nil)
	h.advance(2 * time.Minute)
	if n := len(h.sender.to(officePh)); n != 1 {
		t.Errorf("fallback got %d texts, want 1", n)
	}
	r := h.relay(res.RelayID)
	if c := r.Current(); r.Status != relay.StatusExhausted || !c.Fallback || c.MessageSid == "" {
		t.Errorf("relay %s, current %+v; want exhausted with the fallback's sid", r.Status, c)
	}
	if n, m := len(h.audit.of(relay.EventExhausted)), len(h.audit.of(relay.EventFallback)); n != 1 || m != 1 {
		t.Errorf("exhausted/fallback events %d/%d, want 1/1", n, m)
	}
}

// F: an escalation whose write loses to an unrelated write re-reads and
// decides again; the relay is never left without its next step and timer.
func TestDefectF_LostWriteRereadsAndDecidesAgain(t *testing.T) {
	h := newHarness(t)
	res := h.text(custPhone, qdnNumber, "need a pickup")
	h.faults.set(once(func(r *relay.Relay) bool { return len(r.Attempts) == 2 }, func(*relay.Relay) error {
		// A status callback for attempt 1 lands first.
		return h.svc.HandleDelivery(context.Background(), relay.DeliveryUpdate{TenantID: "qdn",
			RelayID: res.RelayID, Attempt: 1, MessageSid: h.relay(res.RelayID).Attempts[0].MessageSid, Status: "delivered"})
	}), nil)
	h.advance(60 * time.Second)
	if n := len(h.sender.to(backPhone)); n != 1 {
		t.Fatalf("backup got %d texts, want the escalation done after the lost write", n)
	}
	r := h.relay(res.RelayID)
	if r.Attempts[0].Delivery != relay.DeliveryDelivered || len(r.Attempts) != 2 {
		t.Errorf("attempt 1 %s, %d attempts; want delivered and 2", r.Attempts[0].Delivery, len(r.Attempts))
	}
	h.advance(60 * time.Second)
	if n := len(h.sender.to(emergPhone)); n != 1 {
		t.Errorf("emergency got %d texts after the next window, want 1 (the timer survived)", n)
	}
}

// G: an operator's OK or a customer's STOP whose effect failed to store is
// completed by Twilio's retry instead of being answered "duplicate".
func TestDefectG_RetryCompletesAFailedReply(t *testing.T) {
	h := newHarness(t)
	res := h.text(custPhone, qdnNumber, "need a pickup")
	h.faults.set(once(func(r *relay.Relay) bool { return r.Status == relay.StatusAcked },
		func(*relay.Relay) error { return relay.Errorf(relay.Transient, "store throttled") }), nil)
	const okSid = "SM000000000000000000000000000000a1"
	if _, err := h.inbound(okSid, mainPhone, "OK"); err == nil {
		t.Fatalf("OK with a failing write: got no error, want one so Twilio retries")
	}
	for i := range 2 { // the retry, then a second retry of a done OK
		got, err := h.inbound(okSid, mainPhone, "OK")
		if err != nil || !strings.Contains(got.Reply, "Confirmed") {
			t.Errorf("retry %d: %q, %v; want the confirmation", i+1, got.Reply, err)
		}
	}
	if r := h.relay(res.RelayID); r.Status != relay.StatusAcked || r.AckedBy != "sergio_main" {
		t.Errorf("relay %s by %q, want acked by sergio_main", r.Status, r.AckedBy)
	}
	if n := len(h.audit.of(relay.EventAcked)); n != 1 {
		t.Errorf("%d acked events, want 1", n)
	}

	h.faults.optOutErrs = 1
	const stopSid = "SM000000000000000000000000000000a2"
	if _, err := h.inbound(stopSid, custPhone, "STOP"); err == nil {
		t.Fatalf("STOP with a failing write: got no error")
	}
	if got, err := h.inbound(stopSid, custPhone, "STOP"); err != nil || got.Outcome != relay.OutcomeOptOut {
		t.Errorf("retried STOP: %+v, %v; want opt_out", got, err)
	}
	if out, _ := h.store.OptedOut(context.Background(), "qdn", custPhone); !out {
		t.Errorf("customer not opted out after the retried STOP")
	}
}

// H: a step write applied but answered as a conflict is recognised as this
// writer's own, so its reply code stays valid and nothing is redone.
func TestDefectH_AppliedWriteReportedAsConflictKeepsTheStep(t *testing.T) {
	h := newHarness(t)
	h.faults.set(nil, once(func(r *relay.Relay) bool { return true },
		func(*relay.Relay) error { return relay.Errorf(relay.Conflict, "condition failed on retry") }))
	res := h.text(custPhone, qdnNumber, "need a pickup")
	if res.Outcome != relay.OutcomeRelayed {
		t.Fatalf("outcome %s, want relayed (the create was ours)", res.Outcome)
	}
	h.faults.set(nil, once(func(r *relay.Relay) bool { return len(r.Attempts) == 2 },
		func(*relay.Relay) error { return relay.Errorf(relay.Conflict, "condition failed on retry") }))
	h.advance(60 * time.Second)
	texts := h.sender.to(backPhone)
	if len(texts) != 1 || !strings.Contains(texts[0].Body, "Reply 1 OK") {
		t.Fatalf("backup got %v, want one text with code 1", texts)
	}
	if got := h.text(backPhone, qdnNumber, "1 OK").Reply; !strings.Contains(got, "Confirmed") {
		t.Errorf("1 OK answered %q, want the code valid", got)
	}
	if n := len(h.sender.to(emergPhone)); n != 0 {
		t.Errorf("emergency texted %d times, want 0", n)
	}
}

// I: the window starts when Twilio accepted the text, not when the step
// was planned: a slow accept does not shorten the operator's window.
func TestDefectI_WindowStartsAtAcceptance(t *testing.T) {
	h := newHarness(t)
	var once sync.Once
	h.sender.during = func(relay.Message) {
		once.Do(func() { h.clock.Set(h.clock.Now().Add(5 * time.Second)) })
	}
	h.text(custPhone, qdnNumber, "need a pickup")
	h.sender.during = nil
	h.advance(59 * time.Second)
	if n := len(h.sender.to(backPhone)); n != 0 {
		t.Fatalf("backup texted at 64 s, 59 s after the primary's text was accepted")
	}
	h.advance(time.Second)
	if n := len(h.sender.to(backPhone)); n != 1 {
		t.Errorf("backup got %d texts a full window after acceptance, want 1", n)
	}
}

// J: audit events are never lost: kept with the relay (or in the timer)
// while the audit log fails, and written when it is back.
func TestDefectJ_AuditEventsSurviveAFailingLog(t *testing.T) {
	h := newHarness(t)
	h.tolerate = true
	h.audit.mu.Lock()
	h.audit.fail = 3
	h.audit.mu.Unlock()
	res := h.text(custPhone, qdnNumber, "need a pickup")
	if _, err := h.inbound("SMbad", custPhone, "x"); err == nil {
		t.Fatalf("malformed text: want an error")
	}
	h.advance(2 * time.Minute)
	if n := len(h.audit.of(relay.EventRouted)); n != 1 {
		t.Errorf("%d routed events after the log came back, want 1", n)
	}
	if n := len(h.audit.of(relay.EventRejected)); n != 1 {
		t.Errorf("%d rejected events, want 1 (retried from the timer)", n)
	}
	// Once the relay is settled, its last tick clears what it wrote.
	if got := h.text(emergPhone, qdnNumber, "OK").Reply; !strings.Contains(got, "Confirmed") {
		t.Fatalf("OK answered %q", got)
	}
	h.advance(2 * time.Minute)
	// Another process (a fresh Service on the same store) finds nothing left to write.
	other := &relay.Service{Store: h.store, Sender: h.sender, Timer: h.timer, Audit: h.audit, Now: h.clock.Now,
		Log: slog.New(slog.DiscardHandler)}
	before := h.audit.writes
	must(t, other.HandleTick(context.Background(), relay.Tick{Kind: relay.TickAckTimeout, TenantID: "qdn",
		RelayID: res.RelayID, Attempt: 3, Due: h.clock.Now()}))
	if r := h.relay(res.RelayID); len(r.Outbox) != 0 {
		t.Errorf("relay keeps %d events in its outbox after another process's tick, want 0", len(r.Outbox))
	}
	if h.audit.writes == before {
		t.Errorf("the other process wrote no event; it cannot know they were stored")
	}
	for _, ev := range []string{relay.EventForwarded, relay.EventAcked} {
		if len(h.audit.of(ev)) == 0 {
			t.Errorf("no %s event", ev)
		}
	}
}

// Found by `make chaos`: an operator acknowledges with the code while the
// text is still on its way (the code proves they read it), and the sending
// process dies before it stores Twilio's answer. The relay is settled, so the
// text is not sent again, but its fate is still found out and audited.
func TestAckedWhileInFlightThenSenderDiesIsSettled(t *testing.T) {
	h := newHarness(t)
	h.tolerate = true
	var once sync.Once
	h.sender.during = func(m relay.Message) {
		if m.To != mainPhone {
			return
		}
		once.Do(func() {
			if got := h.text(mainPhone, qdnNumber, "1 OK").Reply; !strings.Contains(got, "Confirmed") {
				t.Errorf("OK with the code while in flight answered %q", got)
			}
		})
	}
	h.faults.set(once2(func(r *relay.Relay) bool { return r.Attempts[0].MessageSid != "" },
		func(*relay.Relay) error { return relay.Errorf(relay.Internal, "process killed") }), nil)
	res, _ := h.inbound("SM000000000000000000000000000000b1", custPhone, "need a pickup")
	h.sender.during = nil
	h.advance(time.Minute)
	r := h.relay(res.RelayID)
	if a := r.Attempts[0]; a.MessageSid == "" || r.Status != relay.StatusAcked {
		t.Fatalf("relay %s, attempt %+v; want acked with the text's sid found", r.Status, a.Outbound)
	}
	if n := len(h.sender.to(mainPhone)); n != 1 {
		t.Errorf("primary got %d texts, want 1", n)
	}
	if ev := h.audit.of(relay.EventRouted); len(ev) != 1 || ev[0].OutboundSid != r.Attempts[0].MessageSid {
		t.Errorf("routed events %+v, want one with the found sid", ev)
	}
}

// once2 is once for hooks that must skip relays without attempts.
func once2(cond func(r *relay.Relay) bool, f func(r *relay.Relay) error) func(r *relay.Relay) error {
	return once(func(r *relay.Relay) bool { return len(r.Attempts) > 0 && cond(r) }, f)
}
