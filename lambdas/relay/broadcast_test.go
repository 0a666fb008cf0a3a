package relay_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

func broadcastHarness(t *testing.T, size int) *harness {
	h := newHarness(t)
	h.setTenant(func(tn *relay.Tenant) { tn.ChainStrategy, tn.BroadcastSize = relay.StrategyBroadcast, size })
	return h
}

// phonesOf lists the recipients of msgs, sorted: a wave's texts go out at once, in any order.
func phonesOf(msgs []relay.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.To)
	}
	slices.Sort(out)
	return out
}

func TestBroadcastFirstOKWins(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		setup     func(h *harness)
		wave      []string
		winner    string
		loserSays string
	}{
		{name: "two at once, the second answers first", size: 2, wave: []string{mainPhone, backPhone}, winner: backPhone, loserSays: "already taken by Sergio (backup)"},
		{name: "three at once, the first answers", size: 3, wave: []string{mainPhone, backPhone, emergPhone}, winner: mainPhone, loserSays: "already taken by Sergio"},
		{name: "the unavailable are not in the wave", size: 2, setup: func(h *harness) {
			h.setOperator("sergio_main", func(o *relay.Operator) { o.PausedUntil = relay.AwayIndefinitely })
		}, wave: []string{backPhone, emergPhone}, winner: emergPhone, loserSays: "already taken by Emergency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := broadcastHarness(t, tt.size)
			if tt.setup != nil {
				tt.setup(h)
			}
			res := h.text(custPhone, qdnNumber, "need a pickup")
			if got := phonesOf(h.sender.sent()); strings.Join(got, ",") != strings.Join(tt.wave, ",") {
				t.Fatalf("texted %v at once, want %v", got, tt.wave)
			}
			// Each text of the wave carries its own operator's code.
			for _, m := range h.sender.sent() {
				if !strings.Contains(m.Body, "Reply 1 OK") {
					t.Errorf("text to %s: %q, want a reply code", m.To, m.Body)
				}
			}
			if got := h.text(tt.winner, qdnNumber, "OK"); !strings.Contains(got.Reply, "Confirmed") {
				t.Fatalf("winner's OK answered %q", got.Reply)
			}
			r := h.relay(res.RelayID)
			if r.Status != relay.StatusAcked {
				t.Fatalf("status %s, want acked", r.Status)
			}
			// The others were told who took it, once each.
			var told []string
			for _, m := range h.sender.sent()[len(tt.wave):] {
				told = append(told, m.To)
				if !strings.Contains(m.Body, "was taken by") {
					t.Errorf("notice to %s: %q", m.To, m.Body)
				}
			}
			if len(told) != len(tt.wave)-1 {
				t.Errorf("told %v, want every other operator of the wave", told)
			}
			for _, p := range tt.wave {
				if p == tt.winner {
					continue
				}
				if got := h.text(p, qdnNumber, "OK"); !strings.Contains(got.Reply, tt.loserSays) {
					t.Errorf("late OK from %s answered %q, want %q", p, got.Reply, tt.loserSays)
				}
			}
			if n := len(h.audit.of(relay.EventAcked)); n != 1 {
				t.Errorf("%d acked events, want 1", n)
			}
		})
	}
}

func TestBroadcastNextWaveAfterTheWindow(t *testing.T) {
	h := broadcastHarness(t, 2)
	res := h.text(custPhone, qdnNumber, "need a pickup")
	h.advance(61 * time.Second)
	if got := phonesOf(h.sender.sent()); strings.Join(got, ",") != strings.Join([]string{mainPhone, backPhone, emergPhone}, ",") ||
		h.sender.sent()[2].To != emergPhone {
		t.Fatalf("texted %v, want the first wave then emergency", got)
	}
	// The first wave can no longer take it; emergency can.
	if got := h.text(mainPhone, qdnNumber, "OK"); !strings.Contains(got.Reply, "handed to Emergency") {
		t.Errorf("late OK of the first wave answered %q", got.Reply)
	}
	h.advance(61 * time.Second)
	r := h.relay(res.RelayID)
	if r.Status != relay.StatusExhausted || !r.Attempts[len(r.Attempts)-1].Fallback {
		t.Errorf("status %s, want exhausted with the fallback texted", r.Status)
	}
}

func TestBroadcastWaveResumedAfterACrash(t *testing.T) {
	h := broadcastHarness(t, 3)
	// The process dies before the second text of the wave reaches Twilio.
	h.sender.fail[backPhone] = relay.Errorf(relay.Transient, "connection reset")
	h.text(custPhone, qdnNumber, "need a pickup")
	delete(h.sender.fail, backPhone)
	// Its retry comes seconds later, not at the end of the window.
	h.advance(10 * time.Second)
	if got := h.sender.to(backPhone); len(got) != 1 {
		t.Errorf("backup texted %d times, want once after the retry", len(got))
	}
}
