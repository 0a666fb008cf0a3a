package relay_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// quietHarness is a harness whose tenant has quiet hours in tz and whose
// clock is at now.
func quietHarness(t *testing.T, tz, now string, mode string) *harness {
	h := newHarness(t)
	h.clock.t = utc(now)
	h.setTenant(func(tn *relay.Tenant) {
		tn.Timezone = tz
		tn.QuietHours = &relay.QuietHours{From: "21:00", To: "07:00", Mode: mode}
		tn.AfterHoursReply = "We are closed; we will text you back after 7am."
		tn.UrgentKeywords = []string{"urgent", "flood"}
	})
	return h
}

func TestQuietHoursHold(t *testing.T) {
	tests := []struct {
		name    string
		tz, now string
		release string
		mode    string // "-" for none
	}{
		{name: "evening, UTC", tz: "UTC", now: "2026-11-24T22:00:00Z", release: "2026-11-25T07:00:00Z"},
		{name: "after midnight, Los Angeles", tz: "America/Los_Angeles", now: "2026-11-25T10:00:00Z", release: "2026-11-25T15:00:00Z"},
		{name: "spring forward night", tz: "America/Los_Angeles", now: "2026-03-08T06:00:00Z", release: "2026-03-08T14:00:00Z"},
		{name: "fall back night", tz: "America/Los_Angeles", now: "2026-11-01T05:00:00Z", release: "2026-11-01T15:00:00Z"},
		{name: "no mode means hold", tz: "UTC", now: "2026-11-24T22:00:00Z", release: "2026-11-25T07:00:00Z", mode: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := relay.QuietHold
			if tt.mode == "-" {
				mode = ""
			}
			h := quietHarness(t, tt.tz, tt.now, mode)
			res := h.text(custPhone, qdnNumber, "need a pickup tomorrow")
			if res.Outcome != relay.OutcomeHeld || !strings.Contains(res.Reply, "after 7am") {
				t.Errorf("outcome %s reply %q, want held with the after-hours reply", res.Outcome, res.Reply)
			}
			if n := len(h.sender.sent()); n != 0 {
				t.Fatalf("sent %d texts during quiet hours, want none", n)
			}
			r := h.relay(res.RelayID)
			if r.Status != relay.StatusHeld || !r.HeldUntil.Equal(utc(tt.release)) {
				t.Errorf("relay %s held until %s, want held until %s", r.Status, r.HeldUntil, tt.release)
			}
			if len(h.audit.of(relay.EventHeld)) != 1 {
				t.Errorf("want one %s event", relay.EventHeld)
			}
			// A second before the release nothing moves; at the release the chain starts.
			h.advance(utc(tt.release).Sub(h.clock.Now()) - time.Second)
			if n := len(h.sender.sent()); n != 0 {
				t.Fatalf("sent %d texts before quiet hours ended", n)
			}
			h.advance(time.Second)
			sent := h.sender.sent()
			if len(sent) != 1 || sent[0].To != mainPhone || !h.sender.at[0].Equal(utc(tt.release)) {
				t.Fatalf("sent %+v at %v, want the first operator at %s", sent, h.sender.at, tt.release)
			}
			if len(h.audit.of(relay.EventReleased)) != 1 || len(h.audit.of(relay.EventRouted)) != 1 {
				t.Errorf("want one released and one routed event")
			}
			if r := h.relay(res.RelayID); r.Status != relay.StatusPending {
				t.Errorf("status %s after release, want pending", r.Status)
			}
			// The chain goes on as usual after the release.
			h.advance(61 * time.Second)
			if sent := h.sender.sent(); len(sent) != 2 || sent[1].To != backPhone {
				t.Errorf("sent %+v, want the backup one window later", sent)
			}
		})
	}
}

func TestQuietHoursHeldRelaySurvivesARestart(t *testing.T) {
	h := quietHarness(t, "UTC", "2026-11-24T22:00:00Z", relay.QuietHold)
	res := h.text(custPhone, qdnNumber, "need a pickup")
	// A new process: only the store and the timer's ticks are left.
	h.svc = &relay.Service{Store: h.faults, Sender: h.sender, Timer: h.timer, Audit: h.audit, Metrics: h.metrics,
		Now: h.clock.Now, Log: h.svc.Log}
	// A duplicate webhook in the meantime changes nothing.
	if _, err := h.svc.HandleInbound(context.Background(), relay.Inbound{MessageSid: res.RelayID, From: custPhone, To: qdnNumber, Body: "need a pickup"}); err != nil {
		t.Fatal(err)
	}
	h.advance(9 * time.Hour)
	if sent := h.sender.sent(); len(sent) != 1 || sent[0].To != mainPhone {
		t.Fatalf("sent %+v, want the first operator once at 07:00", sent)
	}
}

func TestQuietHoursBypassAndOnCall(t *testing.T) {
	tests := []struct {
		name      string
		mode      string
		body      string
		onCall    string
		wantTo    string
		wantSkips []string
		wantEvent string
	}{
		{name: "urgent keyword bypasses hold", mode: relay.QuietHold, body: "FLOOD in the yard!", wantTo: mainPhone, wantEvent: relay.EventBypass},
		{name: "urgent keyword in lower case", mode: relay.QuietHold, body: "this is urgent", wantTo: mainPhone, wantEvent: relay.EventBypass},
		{name: "on call only texts the on-call operator", mode: relay.QuietOnCallOnly, body: "need a pickup", onCall: "emergency",
			wantTo: emergPhone, wantSkips: []string{"sergio_backup:operator_not_on_call", "sergio_main:operator_not_on_call"}},
		{name: "urgent bypasses on call only", mode: relay.QuietOnCallOnly, body: "urgent: gate locked", onCall: "emergency",
			wantTo: mainPhone, wantEvent: relay.EventBypass},
		{name: "nobody on call goes to the fallback", mode: relay.QuietOnCallOnly, body: "need a pickup", wantTo: officePh,
			wantSkips: []string{"emergency:operator_not_on_call", "sergio_backup:operator_not_on_call", "sergio_main:operator_not_on_call"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := quietHarness(t, "UTC", "2026-11-24T23:00:00Z", tt.mode)
			if tt.onCall != "" {
				h.setOperator(tt.onCall, func(o *relay.Operator) { o.OnCall = true })
			}
			res := h.text(custPhone, qdnNumber, tt.body)
			if res.Outcome != relay.OutcomeRelayed {
				t.Errorf("outcome %s, want relayed", res.Outcome)
			}
			sent := h.sender.sent()
			if len(sent) != 1 || sent[0].To != tt.wantTo {
				t.Fatalf("sent %+v, want one text to %s", sent, tt.wantTo)
			}
			if got := reasonsOf(h.audit.of(relay.EventSkipped)); strings.Join(got, ",") != strings.Join(tt.wantSkips, ",") {
				t.Errorf("skips %v, want %v", got, tt.wantSkips)
			}
			if tt.wantEvent != "" && len(h.audit.of(tt.wantEvent)) != 1 {
				t.Errorf("want one %s event", tt.wantEvent)
			}
		})
	}
}

func TestOutsideQuietHoursNothingChanges(t *testing.T) {
	h := quietHarness(t, "America/Los_Angeles", "2026-11-24T17:00:00Z", relay.QuietHold) // 09:00 local
	res := h.text(custPhone, qdnNumber, "need a pickup")
	if res.Outcome != relay.OutcomeRelayed || res.Reply != "" {
		t.Errorf("outcome %s reply %q, want relayed without a reply", res.Outcome, res.Reply)
	}
	if sent := h.sender.sent(); len(sent) != 1 || sent[0].To != mainPhone {
		t.Errorf("sent %+v, want the first operator", sent)
	}
}

func TestHeldRelayForwardedByTheOffice(t *testing.T) {
	h := quietHarness(t, "UTC", "2026-11-24T22:00:00Z", relay.QuietHold)
	res := h.text(custPhone, qdnNumber, "need a pickup")
	if _, err := h.svc.Forward(context.Background(), "qdn", res.RelayID, "emergency", relay.Actor{Name: "api:dispatcher"}); err != nil {
		t.Fatal(err)
	}
	if sent := h.sender.sent(); len(sent) != 1 || sent[0].To != emergPhone {
		t.Fatalf("sent %+v, want emergency at once", sent)
	}
	rel := h.audit.of(relay.EventReleased)
	if len(rel) != 1 || rel[0].Actor != "api:dispatcher" {
		t.Errorf("released events %+v, want one by the dispatcher", rel)
	}
	// The release tick at 07:00 finds the relay under way and does nothing.
	h.advance(9*time.Hour - 2*time.Minute)
	if n := len(h.audit.of(relay.EventReleased)); n != 1 {
		t.Errorf("%d released events, want 1", n)
	}
}
