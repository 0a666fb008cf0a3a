package relay_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Threads (issue 10): follow-ups join the customer's open relay.

func TestFollowUpsJoinTheThread(t *testing.T) {
	tests := []struct {
		name string
		// before runs after the first text; the follow-up comes after it.
		before   func(h *harness)
		window   time.Duration
		wantJoin bool
		wantTo   string
		wantHint string
	}{
		{name: "pending relay", before: func(h *harness) { h.advance(10 * time.Second) },
			wantJoin: true, wantTo: mainPhone, wantHint: "Reply 1 OK to confirm · 1 PASS to hand off"},
		{name: "acknowledged inside the window", before: func(h *harness) {
			h.text(mainPhone, qdnNumber, "OK")
			h.advance(29 * time.Minute)
		}, wantJoin: true, wantTo: mainPhone, wantHint: "Reply 1 <message> to answer"},
		{name: "acknowledged after the window", before: func(h *harness) {
			h.text(mainPhone, qdnNumber, "OK")
			h.advance(31 * time.Minute)
		}, wantJoin: false},
		{name: "one-second window", window: time.Second, before: func(h *harness) {
			h.text(mainPhone, qdnNumber, "OK")
			h.advance(2 * time.Second)
		}, wantJoin: false},
		{name: "escalated relay goes to the operator it waits on", before: func(h *harness) { h.advance(61 * time.Second) },
			wantJoin: true, wantTo: backPhone, wantHint: "Reply 1 OK"},
		{name: "exhausted relay starts a new one", before: func(h *harness) { h.advance(10 * time.Minute) }, wantJoin: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.window != 0 {
				h.setTenant(func(ten *relay.Tenant) { ten.ConversationWindow = tt.window })
			}
			first := h.text(custPhone, qdnNumber, "need a pickup")
			tt.before(h)
			before := len(h.sender.sent())
			firstRelay := h.relay(first.RelayID)
			res := h.text(custPhone, qdnNumber, "at 5pm")
			if !tt.wantJoin {
				if res.Outcome != relay.OutcomeRelayed || res.RelayID == first.RelayID {
					t.Fatalf("outcome %s relay %s, want a new relay", res.Outcome, res.RelayID)
				}
				return
			}
			if res.Outcome != relay.OutcomeFollowUp || res.RelayID != first.RelayID {
				t.Fatalf("outcome %s relay %s, want follow_up of %s", res.Outcome, res.RelayID, first.RelayID)
			}
			sent := h.sender.sent()[before:]
			if len(sent) != 1 || sent[0].To != tt.wantTo {
				t.Fatalf("sent %+v, want one text to %s", sent, tt.wantTo)
			}
			if !strings.Contains(sent[0].Body, "Acme Waste Inc. (follow-up): at 5pm") || !strings.Contains(sent[0].Body, tt.wantHint) {
				t.Errorf("follow-up text %q, want it marked and with %q", sent[0].Body, tt.wantHint)
			}
			r := h.relay(first.RelayID)
			if len(r.Attempts) != len(firstRelay.Attempts) || r.Status != firstRelay.Status {
				t.Errorf("relay went from %d attempts %s to %d %s; a follow-up starts no step", len(firstRelay.Attempts),
					firstRelay.Status, len(r.Attempts), r.Status)
			}
			var ev *relay.AuditEvent
			for _, e := range h.audit.of(relay.EventFollowUp) {
				ev = &e
			}
			if ev == nil || ev.RoutingReason != relay.ReasonFollowUp || ev.MessageSid == first.RelayID ||
				ev.RelayID != first.RelayID || ev.OutboundSid == "" || ev.Segments == 0 {
				t.Errorf("audit %+v, want follow_up with its own MessageSid on the relay", ev)
			}
			if rec, err := h.store.Relay(context.Background(), ev.MessageSid); err != nil || rec.Status != relay.StatusJoined ||
				rec.JoinedTo != first.RelayID || len(rec.Attempts) != 0 {
				t.Errorf("follow-up record %+v, %v; want only a joined record naming %s", rec, err, first.RelayID)
			}
		})
	}
}

func TestFollowUpKeepsTheAckWindow(t *testing.T) {
	h := newHarness(t)
	h.text(custPhone, qdnNumber, "need a pickup")
	h.advance(50 * time.Second)
	h.text(custPhone, qdnNumber, "at 5pm")
	h.advance(11 * time.Second) // 61 s after the first forward
	if n := len(h.sender.to(backPhone)); n != 1 {
		t.Fatalf("backup got %d texts 61 s after the first, want 1: a follow-up opens no new window", n)
	}
}

func TestDuplicateFollowUpIsSentOnce(t *testing.T) {
	h := newHarness(t)
	first := h.text(custPhone, qdnNumber, "need a pickup")
	const sid = "SM0000000000000000000000000000f011"
	for i := range 3 {
		res, err := h.inbound(sid, custPhone, "at 5pm")
		must(t, err)
		want := relay.OutcomeFollowUp
		if i > 0 {
			want = relay.OutcomeDuplicate
		}
		if res.Outcome != want || res.RelayID != first.RelayID {
			t.Errorf("try %d: %s on %s, want %s on %s", i, res.Outcome, res.RelayID, want, first.RelayID)
		}
	}
	if n := len(h.sender.to(mainPhone)); n != 2 {
		t.Errorf("operator got %d texts, want the forward and one follow-up", n)
	}
	if n := len(h.relay(first.RelayID).Notes); n != 1 {
		t.Errorf("%d notes, want 1", n)
	}
}

func TestFollowUpWithLostAnswerIsLookedUpNotResent(t *testing.T) {
	h := newHarness(t)
	first := h.text(custPhone, qdnNumber, "need a pickup")
	h.sender.lost[mainPhone] = 1
	h.text(custPhone, qdnNumber, "at 5pm")
	h.advance(30 * time.Second)
	if n := len(h.sender.to(mainPhone)); n != 2 {
		t.Errorf("operator got %d texts, want 2 (the follow-up once)", n)
	}
	n := h.relay(first.RelayID).Notes[0]
	if n.MessageSid == "" || n.Tries != 2 || h.sender.lookups != 1 {
		t.Errorf("note %+v after %d lookups, want the found sid after 2 tries and 1 lookup", n.Outbound, h.sender.lookups)
	}
}

func TestFailoverCarriesTheConversation(t *testing.T) {
	h := newHarness(t)
	h.text(custPhone, qdnNumber, "need a pickup")
	h.advance(5 * time.Second)
	h.text(custPhone, qdnNumber, "at 5pm")
	h.advance(5 * time.Second)
	h.text(custPhone, qdnNumber, "gate code 1234")
	h.advance(60 * time.Second)
	got := h.sender.to(backPhone)
	if len(got) != 1 {
		t.Fatalf("backup got %d texts, want 1", len(got))
	}
	want := "📦 Acme Waste Inc. (3 texts, newest first):\ngate code 1234\nat 5pm\nneed a pickup\nReply 1 OK to confirm · 1 PASS to hand off"
	if got[0].Body != want {
		t.Errorf("backup got\n%q\nwant\n%q", got[0].Body, want)
	}
}

func TestConversationKeepsTheNewestThatFit(t *testing.T) {
	h := newHarness(t)
	h.text(custPhone, qdnNumber, "the very first text")
	for i := range 3 {
		h.advance(time.Second)
		h.text(custPhone, qdnNumber, strings.Repeat(string(rune('a'+i)), 700))
	}
	h.advance(61 * time.Second)
	got := h.sender.to(backPhone)
	if len(got) != 1 {
		t.Fatalf("backup got %d texts, want 1", len(got))
	}
	body := got[0].Body
	if n := len([]rune(body)); n > relay.MaxBodyChars {
		t.Errorf("conversation is %d characters, want at most %d", n, relay.MaxBodyChars)
	}
	if !strings.Contains(body, strings.Repeat("c", 700)) || !strings.Contains(body, strings.Repeat("b", 700)) ||
		strings.Contains(body, "the very first text") || !strings.Contains(body, "(+2 earlier)") {
		t.Errorf("conversation %q, want the two newest texts and a count of the rest", body)
	}
}

func TestFallbackGetsTheConversation(t *testing.T) {
	h := newHarness(t)
	h.text(custPhone, qdnNumber, "need a pickup")
	h.advance(time.Second)
	h.text(custPhone, qdnNumber, "hello?")
	h.advance(10 * time.Minute)
	got := h.sender.to(officePh)
	if len(got) != 1 || !strings.Contains(got[0].Body, "hello?\nneed a pickup") ||
		!strings.Contains(got[0].Body, "Nobody confirmed this") {
		t.Errorf("office got %+v, want the conversation and the fallback note", got)
	}
}

func TestLongThreadStartsANewRelay(t *testing.T) {
	h := newHarness(t)
	first := h.text(custPhone, qdnNumber, "need a pickup")
	var last relay.InboundResult
	for i := range 21 {
		last = h.text(custPhone, qdnNumber, fmt.Sprintf("text %d", i))
	}
	if n := len(h.relay(first.RelayID).Notes); n != 20 {
		t.Errorf("%d notes, want the cap of 20", n)
	}
	if last.Outcome != relay.OutcomeRelayed || last.RelayID == first.RelayID {
		t.Errorf("text 21: %s on %s, want a new relay", last.Outcome, last.RelayID)
	}
}

// TestConcurrentDuplicatesSendOnce: eight copies of one webhook at once.
// Every copy reads the relay before the first write lands, and the winner's
// send is slow, so the losers find its intent still owed: only the webhook
// whose write stored the intent sends it.
func TestConcurrentDuplicatesSendOnce(t *testing.T) {
	tests := []struct {
		name, sid, from, body string
		to                    string
		want                  int // texts to `to`, the forward included
	}{
		{"customer follow-up", "SM0000000000000000000000000000f022", custPhone, "at 5pm", mainPhone, 2},
		{"operator two-way reply", "SM0000000000000000000000000000f033", mainPhone, "on my way", custPhone, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.text(custPhone, qdnNumber, "need a pickup")
			h.faults.set(func(*relay.Relay) error { time.Sleep(10 * time.Millisecond); return nil }, nil)
			h.sender.during = func(relay.Message) { time.Sleep(30 * time.Millisecond) }
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := h.inbound(tt.sid, tt.from, tt.body); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			h.advance(time.Minute / 2)
			if n := len(h.sender.to(tt.to)); n != tt.want {
				t.Errorf("%s got %d texts, want %d", tt.to, n, tt.want)
			}
		})
	}
}

func TestLongGSMForwardStaysGSM(t *testing.T) {
	h := newHarness(t)
	gsm := "QDN"
	h.setTenant(func(ten *relay.Tenant) { ten.Prefix = &gsm })
	res := h.text(custPhone, qdnNumber, strings.Repeat("full bin. ", 200))
	m := h.sender.to(mainPhone)[0]
	a := h.relay(res.RelayID).Attempts[0]
	if !strings.Contains(m.Body, "...\nReply 1 OK") || a.Encoding != relay.EncodingGSM7 || utf16len(m.Body) > relay.MaxBodyChars {
		t.Errorf("truncated GSM-7 forward (%d chars) is %s; want GSM-7 ending in ...", utf16len(m.Body), a.Encoding)
	}
}

func utf16len(s string) int { return len([]rune(s)) }

// A redelivery long after (an SQS redrive), when the customer's thread has
// moved on to a newer relay, is recognised by its MessageSid: neither the
// first text of a relay nor a follow-up becomes a follow-up of the newer one.
func TestLateRedeliveryIsNotAFollowUpOfANewerRelay(t *testing.T) {
	h := newHarness(t)
	h.setTenant(func(ten *relay.Tenant) { ten.ConversationWindow = time.Second })
	const first, follow = "SM0000000000000000000000000000a001", "SM0000000000000000000000000000a002"
	if _, err := h.inbound(first, custPhone, "need a pickup"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.inbound(follow, custPhone, "at 5pm"); err != nil {
		t.Fatal(err)
	}
	h.text(mainPhone, qdnNumber, "OK")
	h.advance(2 * time.Second)
	newer := h.text(custPhone, qdnNumber, "another pickup")
	before := len(h.sender.sent())
	for _, sid := range []string{first, follow} {
		res, err := h.inbound(sid, custPhone, "redelivered")
		if err != nil || res.Outcome != relay.OutcomeDuplicate {
			t.Errorf("redelivery of %s: %s, %v; want duplicate", sid, res.Outcome, err)
		}
	}
	if n := len(h.sender.sent()) - before; n != 0 {
		t.Errorf("redeliveries sent %d texts", n)
	}
	if n := len(h.relay(newer.RelayID).Notes); n != 0 {
		t.Errorf("the newer relay took %d notes", n)
	}
}
