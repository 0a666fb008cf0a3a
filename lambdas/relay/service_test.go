package relay_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

func TestRouting(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(h *harness)
		from, to  string
		wantTo    string
		wantName  string
		wantChain []string
		reason    string
	}{
		{
			name: "job operator first", from: custPhone, to: qdnNumber,
			setup: func(h *harness) {
				must(h.t, h.store.PutJob(context.Background(), relay.Job{TenantID: "qdn", ID: "job_1", CustomerID: "cust_5678", State: "en_route", OperatorID: "sergio_backup"}))
			},
			wantTo: backPhone, wantName: "Acme Waste Inc.", reason: relay.ReasonPrimary,
			wantChain: []string{"sergio_backup", "sergio_main", "emergency"},
		},
		{
			name: "no job uses the chain", from: custPhone, to: qdnNumber,
			wantTo: mainPhone, wantName: "Acme Waste Inc.", reason: relay.ReasonDefaultChain,
			wantChain: []string{"sergio_main", "sergio_backup", "emergency"},
		},
		{
			name: "finished job uses the chain", from: custPhone, to: qdnNumber,
			setup: func(h *harness) {
				must(h.t, h.store.PutJob(context.Background(), relay.Job{TenantID: "qdn", ID: "job_1", CustomerID: "cust_5678", State: "completed", OperatorID: "sergio_backup"}))
			},
			wantTo: mainPhone, wantName: "Acme Waste Inc.", reason: relay.ReasonDefaultChain,
			wantChain: []string{"sergio_main", "sergio_backup", "emergency"},
		},
		{
			name: "inactive job operator falls back to the chain", from: custPhone, to: qdnNumber,
			setup: func(h *harness) {
				must(h.t, h.store.PutJob(context.Background(), relay.Job{TenantID: "qdn", ID: "job_1", CustomerID: "cust_5678", State: "en_route", OperatorID: "emergency"}))
				must(h.t, h.store.PutOperator(context.Background(), relay.Operator{TenantID: "qdn", ID: "emergency", Name: "Emergency", Phone: emergPhone}))
			},
			wantTo: mainPhone, wantName: "Acme Waste Inc.", reason: relay.ReasonDefaultChain,
			wantChain: []string{"sergio_main", "sergio_backup", "emergency"},
		},
		{
			name: "unknown customer is named by masked number", from: "+16195559876", to: qdnNumber,
			wantTo: mainPhone, wantName: "+1******9876", reason: relay.ReasonUnknown,
			wantChain: []string{"sergio_main", "sergio_backup", "emergency"},
		},
		{
			name: "another tenant's customer is unknown there", from: custPhone, to: otherNum,
			wantTo: "+17145550111", wantName: "+1******1234", reason: relay.ReasonUnknown,
			wantChain: []string{"olga"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.setup != nil {
				tt.setup(h)
			}
			res := h.text(tt.from, tt.to, "need a pickup")
			sent := h.sender.sent()
			if len(sent) != 1 {
				t.Fatalf("sent %d messages, want 1", len(sent))
			}
			m := sent[0]
			if m.To != tt.wantTo || m.From != tt.to {
				t.Errorf("sent to %s from %s, want to %s from %s", m.To, m.From, tt.wantTo, tt.to)
			}
			if want := "📦 " + tt.wantName + ": need a pickup\n"; !strings.HasPrefix(m.Body, want) {
				t.Errorf("body = %q, want prefix %q", m.Body, want)
			}
			r := h.relay(res.RelayID)
			if r.Reason != tt.reason || strings.Join(r.Chain, ",") != strings.Join(tt.wantChain, ",") {
				t.Errorf("reason %s chain %v, want %s %v", r.Reason, r.Chain, tt.reason, tt.wantChain)
			}
			ev := h.audit.of(relay.EventRouted)
			if len(ev) != 1 || ev[0].RoutingReason != tt.reason || ev[0].CustomerName != tt.wantName || ev[0].OriginalFrom != tt.from {
				t.Errorf("routed events = %+v, want one with reason %s", ev, tt.reason)
			}
			if ev[0].Segments < 1 || ev[0].Encoding != relay.EncodingUCS2 || ev[0].OutboundSid == "" {
				t.Errorf("routed event segments %d encoding %q sid %q, want counted", ev[0].Segments, ev[0].Encoding, ev[0].OutboundSid)
			}
			if !strings.Contains(m.StatusCallback, "relay="+res.RelayID) || m.ValidityPeriod != r.AckTimeout {
				t.Errorf("callback %q validity %v, want the relay's callback and window %v", m.StatusCallback, m.ValidityPeriod, r.AckTimeout)
			}
		})
	}
}

func TestInboundErrors(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name string
		in   relay.Inbound
		kind relay.Kind
	}{
		{"missing sid", relay.Inbound{From: custPhone, To: qdnNumber, Body: "x"}, relay.Invalid},
		{"bad sid", relay.Inbound{MessageSid: "hello", From: custPhone, To: qdnNumber}, relay.Invalid},
		{"bad from", relay.Inbound{MessageSid: "SM0123456789abcdef0123456789abcdef", From: "12", To: qdnNumber}, relay.Invalid},
		{"missing to", relay.Inbound{MessageSid: "SM0123456789abcdef0123456789abcdef", From: custPhone}, relay.Invalid},
		{"unknown number", relay.Inbound{MessageSid: "SM0123456789abcdef0123456789abcdef", From: custPhone, To: "+18005550000"}, relay.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.HandleInbound(context.Background(), tt.in)
			if relay.KindOf(err) != tt.kind {
				t.Errorf("kind = %v (%v), want %v", relay.KindOf(err), err, tt.kind)
			}
		})
	}
	if n := len(h.sender.sent()); n != 0 {
		t.Errorf("sent %d messages for bad input, want 0", n)
	}
	if n := len(h.audit.of(relay.EventRejected)); n != len(tests) {
		t.Errorf("rejected events = %d, want %d", n, len(tests))
	}
}

func TestDuplicateMessageSidForwardsOnce(t *testing.T) {
	h := newHarness(t)
	in := relay.Inbound{MessageSid: "SM0123456789abcdef0123456789abcdef", From: custPhone, To: qdnNumber, Body: "need a pickup"}
	var wg sync.WaitGroup
	outcomes := make([]relay.Outcome, 10)
	for i := range outcomes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.svc.HandleInbound(context.Background(), in)
			if err != nil {
				t.Errorf("HandleInbound: %v", err)
			}
			outcomes[i] = res.Outcome
		}()
	}
	wg.Wait()
	if n := len(h.sender.sent()); n != 1 {
		t.Errorf("sent %d forwards for 10 copies, want 1", n)
	}
	relayed := 0
	for _, o := range outcomes {
		if o == relay.OutcomeRelayed {
			relayed++
		}
	}
	if relayed != 1 || len(h.audit.of(relay.EventDuplicate)) != 9 {
		t.Errorf("relayed %d, duplicates audited %d; want 1 and 9", relayed, len(h.audit.of(relay.EventDuplicate)))
	}
}

func TestEscalationRepeatAndFallback(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	ten, _ := h.store.Tenant(ctx, "qdn")
	ten.Repeat = 1
	must(t, h.store.PutTenant(ctx, ten))
	res := h.text(custPhone, qdnNumber, "need a pickup")

	want := []string{mainPhone, backPhone, emergPhone, mainPhone, backPhone, emergPhone, officePh}
	for i := 1; i < len(want); i++ {
		h.advance(59 * time.Second)
		if n := len(h.sender.sent()); n != i {
			t.Fatalf("after %d windows less a second: %d texts, want %d (no early escalation)", i, n, i)
		}
		h.advance(time.Second)
		sent := h.sender.sent()
		if len(sent) != i+1 || sent[i].To != want[i] {
			t.Fatalf("text %d went to %v, want %s", i+1, sent[len(sent)-1].To, want[i])
		}
	}
	r := h.relay(res.RelayID)
	if r.Status != relay.StatusExhausted {
		t.Errorf("status = %s, want exhausted", r.Status)
	}
	last := h.sender.sent()[len(want)-1]
	if !strings.Contains(last.Body, "Nobody confirmed") || !strings.Contains(last.Body, custPhone) {
		t.Errorf("fallback body = %q, want the customer's number and why", last.Body)
	}
	if r.Attempts[3].Reason != relay.ReasonRepeat || r.Attempts[1].Reason != relay.ReasonNoAck {
		t.Errorf("reasons %s, %s; want %s, %s", r.Attempts[1].Reason, r.Attempts[3].Reason, relay.ReasonNoAck, relay.ReasonRepeat)
	}
	if h.metrics.get(relay.MetricExhausted) != 1 || len(h.audit.of(relay.EventExhausted)) != 1 || len(h.audit.of(relay.EventFallback)) != 1 {
		t.Errorf("exhausted metric %d, events %d/%d; want 1", h.metrics.get(relay.MetricExhausted),
			len(h.audit.of(relay.EventExhausted)), len(h.audit.of(relay.EventFallback)))
	}
	h.advance(10 * time.Minute)
	if n := len(h.sender.sent()); n != len(want) {
		t.Errorf("%d texts after exhaustion, want %d", n, len(want))
	}
	fw := h.audit.of(relay.EventForwarded)
	if len(fw) != 5 || fw[0].Attempt != 2 || fw[0].RoutedToOperator != "sergio_backup" {
		t.Errorf("forwarded events = %d (first %+v), want 5 starting at attempt 2 to sergio_backup", len(fw), fw[0])
	}
}

func TestAckByReplyStopsEscalation(t *testing.T) {
	for _, body := range []string{"OK", "ack", "1 OK", "1ok"} {
		t.Run(body, func(t *testing.T) {
			h := newHarness(t)
			res := h.text(custPhone, qdnNumber, "need a pickup")
			h.advance(10 * time.Second)
			reply := h.text(mainPhone, qdnNumber, body)
			if reply.Outcome != relay.OutcomeReply || reply.RelayID != res.RelayID {
				t.Fatalf("reply outcome %s relay %s, want operator_reply for %s", reply.Outcome, reply.RelayID, res.RelayID)
			}
			if !strings.Contains(reply.Reply, "Confirmed") {
				t.Errorf("reply = %q, want a confirmation", reply.Reply)
			}
			h.advance(10 * time.Minute)
			if n := len(h.sender.sent()); n != 1 {
				t.Errorf("%d texts after ack, want 1", n)
			}
			r := h.relay(res.RelayID)
			if r.Status != relay.StatusAcked || r.AckedBy != "sergio_main" || !r.AckedAt.Equal(h.clock.t.Add(-10*time.Minute)) {
				t.Errorf("status %s by %s at %v, want acked by sergio_main", r.Status, r.AckedBy, r.AckedAt)
			}
			acks := h.audit.of(relay.EventAcked)
			if len(acks) != 1 || !acks[0].Acknowledged || acks[0].AckTimestamp.IsZero() || acks[0].RoutedToOperator != "sergio_main" {
				t.Errorf("ack events = %+v, want one acknowledged by sergio_main with a time", acks)
			}
		})
	}
}

func TestReplyCodesPickTheRightRelay(t *testing.T) {
	h := newHarness(t)
	first := h.text(custPhone, qdnNumber, "first")
	h.advance(2 * time.Second)
	second := h.text("+16195554444", qdnNumber, "second")
	sent := h.sender.sent()
	if !strings.HasSuffix(sent[0].Body, relay.ReplyHint(1)) || !strings.HasSuffix(sent[1].Body, relay.ReplyHint(2)) {
		t.Fatalf("hints %q / %q, want codes 1 and 2", sent[0].Body, sent[1].Body)
	}
	h.text(mainPhone, qdnNumber, "1 OK")
	if r := h.relay(first.RelayID); r.Status != relay.StatusAcked {
		t.Errorf("first relay %s, want acked by code 1", r.Status)
	}
	if r := h.relay(second.RelayID); r.Status != relay.StatusPending {
		t.Errorf("second relay %s, want still pending", r.Status)
	}
	if got := h.text(mainPhone, qdnNumber, "7 OK").Reply; !strings.Contains(got, "code 7") {
		t.Errorf("unknown code reply = %q, want usage mentioning code 7", got)
	}
	if got := h.text(mainPhone, qdnNumber, "HELP").Reply; got != relay.UsageText {
		t.Errorf("HELP reply = %q, want usage", got)
	}
	// Bare OK acknowledges the most recent open relay.
	h.text(mainPhone, qdnNumber, "OK")
	if r := h.relay(second.RelayID); r.Status != relay.StatusAcked {
		t.Errorf("second relay %s after bare OK, want acked", r.Status)
	}
}

func TestLateAckAfterEscalationSaysWhoHasIt(t *testing.T) {
	h := newHarness(t)
	res := h.text(custPhone, qdnNumber, "need a pickup")
	h.advance(61 * time.Second)
	got := h.text(mainPhone, qdnNumber, "OK").Reply
	if !strings.Contains(got, "Sergio (backup)") {
		t.Errorf("late ack reply = %q, want it to name who has it", got)
	}
	h.text(backPhone, qdnNumber, "OK")
	got = h.text(mainPhone, qdnNumber, "1 OK").Reply
	if !strings.Contains(got, "already confirmed by Sergio (backup)") {
		t.Errorf("ack of an acked relay = %q, want who confirmed it", got)
	}
	if r := h.relay(res.RelayID); r.AckedBy != "sergio_backup" {
		t.Errorf("acked by %s, want sergio_backup", r.AckedBy)
	}
}

func TestPassHandsOffAtOnce(t *testing.T) {
	h := newHarness(t)
	res := h.text(custPhone, qdnNumber, "need a pickup")
	got := h.text(mainPhone, qdnNumber, "1 PASS").Reply
	sent := h.sender.sent()
	if len(sent) != 2 || sent[1].To != backPhone {
		t.Fatalf("after PASS sent %d (last to %s), want the backup texted at once", len(sent), sent[len(sent)-1].To)
	}
	if !strings.Contains(got, "Passed to Sergio (backup)") {
		t.Errorf("pass reply = %q", got)
	}
	r := h.relay(res.RelayID)
	if r.Attempts[1].Reason != relay.ReasonPass {
		t.Errorf("reason = %s, want %s", r.Attempts[1].Reason, relay.ReasonPass)
	}
	// The first window's timer is now stale: the backup keeps a full window.
	h.advance(59 * time.Second)
	if n := len(h.sender.sent()); n != 2 {
		t.Errorf("%d texts before the backup's window ended, want 2", n)
	}
}

func TestDeliveryFailureFailsOverAtOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	res := h.text(custPhone, qdnNumber, "need a pickup")
	sid := h.sender.sent()[0]
	_ = sid
	r := h.relay(res.RelayID)
	sms := r.Attempts[0].MessageSid
	must(t, h.svc.HandleDelivery(ctx, relay.DeliveryUpdate{TenantID: "qdn", RelayID: r.ID, Attempt: 1, MessageSid: sms, Status: "delivered"}))
	must(t, h.svc.HandleDelivery(ctx, relay.DeliveryUpdate{TenantID: "qdn", RelayID: r.ID, Attempt: 1, MessageSid: sms, Status: "sent"}))
	if got := h.relay(r.ID).Attempts[0].Delivery; got != "delivered" {
		t.Errorf("delivery after late sent = %s, want delivered", got)
	}
	if n := len(h.sender.sent()); n != 1 {
		t.Fatalf("%d texts after delivered, want 1", n)
	}

	h.advance(time.Second) // past the primary's pacing slot
	res2 := h.text("+16195554444", qdnNumber, "hello")
	r2 := h.relay(res2.RelayID)
	must(t, h.svc.HandleDelivery(ctx, relay.DeliveryUpdate{TenantID: "qdn", RelayID: r2.ID, Attempt: 1, MessageSid: r2.Attempts[0].MessageSid, Status: "undelivered", ErrorCode: 30003}))
	sent := h.sender.sent()
	if len(sent) != 3 || sent[2].To != backPhone {
		t.Fatalf("after undelivered: %d texts, last to %s; want the backup at once", len(sent), sent[len(sent)-1].To)
	}
	r2 = h.relay(r2.ID)
	if r2.Attempts[1].Reason != relay.ReasonDeliveryFailed || r2.Attempts[0].ErrorCode != 30003 {
		t.Errorf("attempt 2 reason %s, attempt 1 code %d", r2.Attempts[1].Reason, r2.Attempts[0].ErrorCode)
	}
	// A repeated failure callback changes nothing.
	must(t, h.svc.HandleDelivery(ctx, relay.DeliveryUpdate{TenantID: "qdn", RelayID: r2.ID, Attempt: 1, MessageSid: r2.Attempts[0].MessageSid, Status: "failed"}))
	if n := len(h.sender.sent()); n != 3 {
		t.Errorf("%d texts after a repeated callback, want 3", n)
	}
	// Another tenant cannot touch it.
	if err := h.svc.HandleDelivery(ctx, relay.DeliveryUpdate{TenantID: "other", RelayID: r2.ID, Attempt: 2, Status: "failed"}); relay.KindOf(err) != relay.NotFound {
		t.Errorf("cross-tenant delivery update: %v, want NotFound", err)
	}
}

func TestPermanentSendErrorSkipsOperator(t *testing.T) {
	h := newHarness(t)
	h.sender.fail[mainPhone] = &relay.Error{Kind: relay.Permanent, Code: 21614, Msg: "not a mobile number"}
	res := h.text(custPhone, qdnNumber, "need a pickup")
	sent := h.sender.sent()
	if len(sent) != 1 || sent[0].To != backPhone {
		t.Fatalf("sent %v, want the backup texted at once", sent)
	}
	r := h.relay(res.RelayID)
	if r.Attempts[0].Delivery != relay.DeliverySkipped || r.Attempts[0].ErrorCode != 21614 || r.Attempts[1].Reason != relay.ReasonSendFailed {
		t.Errorf("attempts = %+v", r.Attempts)
	}
	errs := h.audit.of(relay.EventSendError)
	if len(errs) != 1 || errs[0].ErrorCode != 21614 {
		t.Errorf("send_error events = %+v, want one with code 21614", errs)
	}
}

func TestTransientSendErrorRetries(t *testing.T) {
	h := newHarness(t)
	h.sender.fail[mainPhone] = &relay.Error{Kind: relay.Transient, Code: 20429, Msg: "too many requests"}
	res := h.text(custPhone, qdnNumber, "need a pickup")
	if n := len(h.sender.sent()); n != 0 {
		t.Fatalf("%d texts, want 0 while Twilio throttles", n)
	}
	delete(h.sender.fail, mainPhone)
	h.advance(6 * time.Second)
	sent := h.sender.sent()
	if len(sent) != 1 || sent[0].To != mainPhone {
		t.Fatalf("after retry: %v, want the primary texted", sent)
	}
	if a := h.relay(res.RelayID).Attempts[0]; a.Tries != 2 || a.MessageSid == "" {
		t.Errorf("attempt = %+v, want two tries and a sid", a)
	}
}

func TestTwoWayReplies(t *testing.T) {
	h := newHarness(t)
	res := h.text(custPhone, qdnNumber, "need a pickup")
	if got := h.text(mainPhone, qdnNumber, "On my way, 10 min").Reply; got != "" {
		t.Errorf("reply to operator = %q, want none", got)
	}
	toCust := h.sender.to(custPhone)
	if len(toCust) != 1 || toCust[0].Body != "On my way, 10 min" || toCust[0].From != qdnNumber {
		t.Fatalf("customer got %+v, want the text from the business number", toCust)
	}
	if r := h.relay(res.RelayID); r.Status != relay.StatusAcked || r.AckedBy != "sergio_main" {
		t.Errorf("relay %s by %s, want acked by the replying operator", r.Status, r.AckedBy)
	}
	// The conversation goes on after the ack.
	h.text(mainPhone, qdnNumber, "1 here now")
	if n := len(h.sender.to(custPhone)); n != 2 {
		t.Errorf("customer got %d texts, want 2", n)
	}
	// STOP: the customer is not messaged and the operator is told.
	if out := h.text(custPhone, qdnNumber, "STOP").Outcome; out != relay.OutcomeOptOut {
		t.Errorf("STOP outcome = %s", out)
	}
	got := h.text(mainPhone, qdnNumber, "still there?").Reply
	if !strings.Contains(got, "opted out") || len(h.sender.to(custPhone)) != 2 {
		t.Errorf("reply %q, customer texts %d; want opted-out notice and no text", got, len(h.sender.to(custPhone)))
	}
	// A backup who does not hold the relay cannot talk to the customer.
	if got := h.text(backPhone, qdnNumber, "hello").Reply; got == "" {
		t.Errorf("non-holder reply = %q, want an explanation", got)
	}
}

func TestTwoWayOffGetsUsage(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	ten, _ := h.store.Tenant(ctx, "qdn")
	ten.TwoWay = false
	must(t, h.store.PutTenant(ctx, ten))
	h.text(custPhone, qdnNumber, "need a pickup")
	if got := h.text(mainPhone, qdnNumber, "on my way").Reply; got != relay.UsageText {
		t.Errorf("reply = %q, want usage", got)
	}
	if n := len(h.sender.to(custPhone)); n != 0 {
		t.Errorf("customer got %d texts, want 0", n)
	}
}

func TestOperatorRepliesHaveTheirOwnCap(t *testing.T) {
	h := newHarness(t)
	replies := 0
	for range relay.DefaultOperatorReplyLimit + 5 {
		if h.text(mainPhone, qdnNumber, "HELP").Reply != "" {
			replies++
		}
	}
	// Far more than a customer's cap: a busy operator's confirmations are
	// never swallowed; only a loop with an auto-responder hits this one.
	if replies != relay.DefaultOperatorReplyLimit {
		t.Errorf("%d automatic replies in a burst, want %d", replies, relay.DefaultOperatorReplyLimit)
	}
	h.advance(relay.DefaultAutoReplyWindow)
	if h.text(mainPhone, qdnNumber, "HELP").Reply == "" {
		t.Errorf("no reply after the window, want the cap to reset")
	}
}

func TestForwardAndAckOperations(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	res := h.text(custPhone, qdnNumber, "need a pickup")
	if _, err := h.svc.Forward(ctx, "other", res.RelayID, "", relay.Actor{Name: "x"}); relay.KindOf(err) != relay.NotFound {
		t.Errorf("cross-tenant forward: %v, want NotFound", err)
	}
	if _, err := h.svc.Forward(ctx, "qdn", res.RelayID, "emergency", relay.Actor{Name: "dash"}); err != nil {
		t.Fatalf("reassign: %v", err)
	}
	if s := h.sender.sent(); s[len(s)-1].To != emergPhone {
		t.Errorf("reassigned to %s, want emergency", s[len(s)-1].To)
	}
	if _, err := h.svc.Forward(ctx, "qdn", res.RelayID, "nobody", relay.Actor{}); relay.KindOf(err) != relay.NotFound {
		t.Errorf("forward to unknown operator: %v, want NotFound", err)
	}
	r, err := h.svc.Ack(ctx, "qdn", res.RelayID, relay.Actor{Name: "dash"})
	if err != nil || r.Status != relay.StatusAcked {
		t.Fatalf("ack: %v %s", err, r.Status)
	}
	if _, err := h.svc.Ack(ctx, "qdn", res.RelayID, relay.Actor{Name: "dash"}); relay.KindOf(err) != relay.Conflict {
		t.Errorf("second ack: %v, want Conflict", err)
	}
	if _, err := h.svc.Forward(ctx, "qdn", res.RelayID, "", relay.Actor{}); relay.KindOf(err) != relay.Conflict {
		t.Errorf("forward of an acked relay: %v, want Conflict", err)
	}
}

// TestRacesHaveOneWinner runs the transitions that can collide — ack vs
// timer vs delivery failure vs pass — at once, many times, and checks that
// each relay took exactly one of them.
func TestRacesHaveOneWinner(t *testing.T) {
	for i := range 200 {
		h := newHarness(t)
		ctx := context.Background()
		res := h.text(custPhone, qdnNumber, "race")
		r := h.relay(res.RelayID)
		h.clock.Set(h.clock.Now().Add(61 * time.Second))
		var wg sync.WaitGroup
		run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
		for range 2 {
			run(func() {
				_ = h.svc.HandleTick(ctx, relay.Tick{Kind: relay.TickAckTimeout, TenantID: "qdn", RelayID: r.ID, Attempt: 1, Due: h.clock.Now()})
			})
			run(func() {
				_, _ = h.svc.Ack(ctx, "qdn", r.ID, relay.Actor{Name: "dash"})
			})
			run(func() {
				_ = h.svc.HandleDelivery(ctx, relay.DeliveryUpdate{TenantID: "qdn", RelayID: r.ID, Attempt: 1, MessageSid: r.Attempts[0].MessageSid, Status: "failed"})
			})
		}
		wg.Wait()
		got := h.relay(r.ID)
		sends := len(h.sender.sent())
		// A racer that loses its write may still have used a pacing slot, so
		// the winning escalation can be paced rather than sent at once.
		if len(got.Attempts) > 2 || sends > len(got.Attempts) || len(h.sender.to(backPhone)) > 1 {
			t.Fatalf("round %d: %s with %d attempts and %d sends, want at most one escalation", i, got.Status, len(got.Attempts), sends)
		}
		switch got.Status {
		case relay.StatusAcked:
			if n := len(h.audit.of(relay.EventAcked)); n != 1 {
				t.Fatalf("round %d: %d ack events, want 1", i, n)
			}
		case relay.StatusPending:
			if len(got.Attempts) != 2 {
				t.Fatalf("round %d: pending with %d attempts, want exactly one escalation", i, len(got.Attempts))
			}
		default:
			t.Fatalf("round %d: status %s", i, got.Status)
		}
	}
}

func TestCustomerAutoReplyIsCapped(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	ten, _ := h.store.Tenant(ctx, "qdn")
	ten.AutoReply = "Thanks, a dispatcher will text you shortly."
	// Each text starts a relay of its own: acknowledged, and the
	// conversation window over before the next.
	ten.ConversationWindow = time.Second
	must(t, h.store.PutTenant(ctx, ten))
	replies := 0
	for range 12 {
		if h.text(custPhone, qdnNumber, "are you there?").Reply == ten.AutoReply {
			replies++
		}
		h.text(mainPhone, qdnNumber, "OK")
		h.advance(2 * time.Second)
	}
	if replies != relay.DefaultAutoReplyLimit {
		t.Errorf("%d auto-replies to one customer in a burst, want %d", replies, relay.DefaultAutoReplyLimit)
	}
}

func TestUnstartedRelayIsStartedByItsTimer(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	// A process claimed the message and died before the first step.
	r := relay.Relay{ID: "SM0000000000000000000000000000dead", TenantID: "qdn", TenantNumber: qdnNumber,
		CustomerName: "Acme Waste Inc.", CustomerPhone: custPhone, Body: "hello", Text: "📦 Acme Waste Inc.: hello",
		Reason: relay.ReasonDefaultChain, Chain: []string{"sergio_main", "sergio_backup"}, Position: -1,
		AckTimeout: time.Minute, Status: relay.StatusPending, ReceivedAt: h.clock.Now()}
	must(t, h.store.CreateRelay(ctx, &r))
	must(t, h.timer.Schedule(ctx, relay.Tick{Kind: relay.TickAckTimeout, TenantID: "qdn", RelayID: r.ID, Attempt: 1, Due: h.clock.Now().Add(time.Minute)}))
	h.advance(time.Minute)
	if got := h.sender.to(mainPhone); len(got) != 1 || !strings.HasPrefix(got[0].Body, "📦 Acme Waste Inc.: hello") {
		t.Fatalf("primary got %+v, want the relay started by its safety tick", got)
	}
	h.advance(time.Minute)
	if n := len(h.sender.to(backPhone)); n != 1 {
		t.Errorf("backup got %d texts after the next window, want 1", n)
	}
}

func TestCutOffSendIsResumed(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	res := h.text(custPhone, qdnNumber, "need a pickup")
	// Simulate a process stopped mid-send of the escalation: attempt 2 is
	// stored as dispatching with no outbound sid, its ack tick pending.
	r := h.relay(res.RelayID)
	r.Attempts = append(r.Attempts, relay.Attempt{N: 2, OperatorID: "sergio_backup", Name: "Sergio (backup)",
		Phone: backPhone, Reason: relay.ReasonNoAck, Code: 1, CreatedAt: h.clock.Now(),
		Outbound: relay.Outbound{Delivery: relay.DeliveryDispatching, Tries: 1, FirstTryAt: h.clock.Now(),
			LeaseUntil: h.clock.Now().Add(25 * time.Second)}})
	r.Position = 1
	must(t, h.store.UpdateRelay(ctx, &r))
	h.timer.mu.Lock()
	h.timer.ticks = []relay.Tick{{Kind: relay.TickAckTimeout, TenantID: "qdn", RelayID: r.ID, Attempt: 2, Due: h.clock.Now().Add(time.Minute)}}
	h.timer.mu.Unlock()
	h.advance(time.Minute)
	if n := len(h.sender.to(backPhone)); n != 1 {
		t.Fatalf("backup got %d texts, want the cut-off send resumed once", n)
	}
	if h.sender.lookups != 1 {
		t.Errorf("got %d lookups at Twilio before the resend, want 1", h.sender.lookups)
	}
	if n := len(h.sender.to(emergPhone)); n != 0 {
		t.Errorf("emergency got %d texts, want 0: the backup gets a full window first", n)
	}
	h.advance(time.Minute)
	if n := len(h.sender.to(emergPhone)); n != 1 {
		t.Errorf("emergency got %d texts after the backup's window, want 1", n)
	}
}

func TestDuplicateKeepsReplyCodeAndSlot(t *testing.T) {
	h := newHarness(t)
	in := relay.Inbound{MessageSid: "SM0123456789abcdef0123456789abcdef", From: custPhone, To: qdnNumber, Body: "need a pickup"}
	for range 3 {
		if _, err := h.svc.HandleInbound(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.text(mainPhone, qdnNumber, "1 OK").Reply; !strings.Contains(got, "Confirmed") {
		t.Errorf("reply after duplicates = %q, want the code still valid", got)
	}
	h.advance(time.Second)
	h.text("+16195554444", qdnNumber, "next")
	if n := len(h.sender.to(mainPhone)); n != 2 {
		t.Errorf("primary got %d texts one second later, want 2 (duplicates take no pacing slot)", n)
	}
}

func TestBurstToOneOperatorLosesNothing(t *testing.T) {
	h := newHarness(t)
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.svc.HandleInbound(context.Background(), relay.Inbound{MessageSid: fmt.Sprintf("SM%032d", 777000+i),
				From: fmt.Sprintf("+1619555%04d", 3000+i), To: qdnNumber, Body: "burst"})
			if err != nil {
				t.Errorf("relay %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	h.advance(30 * time.Second) // pacing spreads them one per second
	sent := h.sender.to(mainPhone)
	if len(sent) != 24 {
		t.Fatalf("primary got %d texts, want 24", len(sent))
	}
	codes := map[string]bool{}
	for _, m := range sent {
		hint := m.Body[strings.LastIndex(m.Body, "\n")+1:]
		if codes[hint] {
			t.Errorf("reply hint %q used twice", hint)
		}
		codes[hint] = true
	}
}

// countingStore counts operator reads, the webhook's repeatable remote calls.
type countingStore struct {
	*memstore.Store
	mu    sync.Mutex
	reads map[string]int
}

func (c *countingStore) Operator(ctx context.Context, tenantID, id string) (relay.Operator, error) {
	c.mu.Lock()
	c.reads[id]++
	c.mu.Unlock()
	return c.Store.Operator(ctx, tenantID, id)
}

func TestJobOperatorIsReadOnce(t *testing.T) {
	h := newHarness(t)
	must(t, h.store.PutJob(context.Background(), relay.Job{TenantID: "qdn", ID: "job_1", CustomerID: "cust_5678", State: "en_route", OperatorID: "sergio_backup"}))
	cs := &countingStore{Store: h.store, reads: map[string]int{}}
	h.svc.Store = cs
	h.text(custPhone, qdnNumber, "need a pickup")
	if n := cs.reads["sergio_backup"]; n != 1 {
		t.Errorf("the job's operator was read %d times on the webhook path, want 1", n)
	}
}
