package loadtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

// TestReconcile checks each counter on a hand-made run: one text, the
// messages the fake Twilio accepted, the audit and the stored relay.
func TestReconcile(t *testing.T) {
	const window = 2 * time.Second
	dir := newDirectory(2, window)
	ten := dir.Tenants[0]
	var phone1, phone2 string
	for p, id := range ten.Operators {
		switch id {
		case "alpha_op01":
			phone1 = p
		case "alpha_op02":
			phone2 = p
		}
	}
	t0 := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	end := t0.Add(time.Minute)
	const sid = "SM00000000000000000000000000000001"
	msg := func(n int, to string, at time.Duration) faketwilio.Message {
		return faketwilio.Message{Sid: fmt.Sprintf("SMout%d%s", n, to[len(to)-4:]), To: to, From: ten.Numbers[0],
			StatusCallback: fmt.Sprintf("http://127.0.0.1/api/sms/delivery?attempt=%d&relay=%s&tenant=alpha", n, sid),
			AcceptedAt:     t0.Add(at)}
	}
	routed := func(m faketwilio.Message, n int) relay.AuditEvent {
		ev := relay.EventRouted
		if n > 1 {
			ev = relay.EventForwarded
		}
		return relay.AuditEvent{MessageSid: sid, Event: ev, Attempt: n, OutboundSid: m.Sid}
	}
	m1, m1b, m2 := msg(1, phone1, 0), msg(1, phone1, 3*time.Second), msg(2, phone2, 500*time.Millisecond)
	fb := msg(3, ten.Fallback, 5*time.Second)
	acked := relay.AuditEvent{MessageSid: sid, Event: relay.EventAcked}
	exhausted := relay.AuditEvent{MessageSid: sid, Event: relay.EventExhausted}
	sent := relay.Attempt{N: 1, OperatorID: "alpha_op01", Outbound: relay.Outbound{MessageSid: m1.Sid, Delivery: relay.DeliveryQueued}}
	sent2 := relay.Attempt{N: 2, OperatorID: "alpha_op02", Outbound: relay.Outbound{MessageSid: m2.Sid, Delivery: relay.DeliveryQueued}}
	stored := func(status relay.Status, by string, attempts ...relay.Attempt) map[string]relay.Relay {
		return map[string]relay.Relay{sid: {ID: sid, TenantID: "alpha", Status: status, AckedBy: by, Attempts: attempts}}
	}
	tests := []struct {
		name   string
		text   text
		msgs   []faketwilio.Message
		events []relay.AuditEvent
		relays map[string]relay.Relay
		want   func(Result) bool
	}{
		{"forwarded and acknowledged", text{ack: true}, []faketwilio.Message{m1}, []relay.AuditEvent{routed(m1, 1), acked},
			stored(relay.StatusAcked, "alpha_op01", sent),
			func(r Result) bool {
				return r.Accepted == 1 && r.Forwarded == 1 && !r.Failed() && r.AckUnsent == 0 && r.AuditMissing == 0
			}},
		{"lost: nobody texted", text{}, nil, []relay.AuditEvent{exhausted}, stored(relay.StatusExhausted, ""),
			func(r Result) bool { return r.Lost == 1 && r.Forwarded == 0 && r.Failed() }},
		{"double: one attempt sent twice", text{ack: true}, []faketwilio.Message{m1, m1b},
			[]relay.AuditEvent{routed(m1, 1), routed(m1b, 1), acked}, stored(relay.StatusAcked, "alpha_op01", sent),
			func(r Result) bool { return r.Double == 1 && r.Lost == 0 }},
		{"stuck: still pending", text{ack: true}, []faketwilio.Message{m1}, []relay.AuditEvent{routed(m1, 1)},
			stored(relay.StatusPending, "", sent), func(r Result) bool { return r.Stuck == 1 }},
		{"stuck: fallback step never sent", text{}, []faketwilio.Message{m1}, []relay.AuditEvent{routed(m1, 1)},
			stored(relay.StatusExhausted, "", sent, relay.Attempt{N: 2, Fallback: true, Outbound: relay.Outbound{Delivery: relay.DeliveryDispatching, Tries: 1}}),
			func(r Result) bool { return r.Stuck == 1 && r.Exhaust == 1 && r.AuditMissing == 1 }},
		{"dropped: a step never sent", text{}, []faketwilio.Message{m2, fb},
			[]relay.AuditEvent{routed(m2, 2), {MessageSid: sid, Event: relay.EventFallback, OutboundSid: fb.Sid}, exhausted},
			stored(relay.StatusExhausted, "", relay.Attempt{N: 1, Outbound: relay.Outbound{Delivery: relay.DeliveryRetry, Tries: 1, RetryAt: t0}}, sent2,
				relay.Attempt{N: 3, Fallback: true, Outbound: relay.Outbound{MessageSid: fb.Sid, Delivery: relay.DeliveryQueued}}),
			func(r Result) bool { return r.Dropped == 1 && r.Stuck == 0 && r.Lost == 0 }},
		{"late, not stuck: a retry ahead", text{}, []faketwilio.Message{m1}, []relay.AuditEvent{routed(m1, 1)},
			stored(relay.StatusPending, "", sent, relay.Attempt{N: 2, Outbound: relay.Outbound{Delivery: relay.DeliveryRetry, Tries: 1, RetryAt: end.Add(time.Second)}}),
			func(r Result) bool { return r.PacedPending == 1 && r.Stuck == 0 }},
		{"acknowledged by an operator who never got it", text{ack: true}, []faketwilio.Message{m1},
			[]relay.AuditEvent{routed(m1, 1), acked}, stored(relay.StatusAcked, "alpha_op02", sent),
			func(r Result) bool { return r.AckUnsent == 1 }},
		{"audit missing for a forward", text{ack: true}, []faketwilio.Message{m1}, []relay.AuditEvent{acked},
			stored(relay.StatusAcked, "alpha_op01", sent), func(r Result) bool { return r.AuditMissing == 1 }},
		{"operator given less than the window", text{}, []faketwilio.Message{m1, m2, fb},
			[]relay.AuditEvent{routed(m1, 1), routed(m2, 2), {MessageSid: sid, Event: relay.EventFallback, OutboundSid: fb.Sid}, exhausted},
			stored(relay.StatusExhausted, "", sent, sent2, relay.Attempt{N: 3, Fallback: true, Outbound: relay.Outbound{MessageSid: fb.Sid, Delivery: relay.DeliveryQueued}}),
			func(r Result) bool {
				return r.ShortWindow == 1 && r.Escalated == 1 && r.Timeouts == 2 && r.MinGap == 500*time.Millisecond
			}},
		{"confirmed acknowledgement not stored", text{ack: true, ackPosted: true, ackConfirmed: true, ackBy: "alpha_op01"},
			[]faketwilio.Message{m1, m2}, []relay.AuditEvent{routed(m1, 1), routed(m2, 2)},
			stored(relay.StatusPending, "", sent, sent2), func(r Result) bool { return r.AckDropped == 1 }},
		{"forwarded again after a confirmed OK", text{ack: true, ackPosted: true, ackConfirmed: true, ackBy: "alpha_op01", ackAttempt: 1},
			[]faketwilio.Message{m1, m2}, []relay.AuditEvent{routed(m1, 1), routed(m2, 2), acked},
			stored(relay.StatusAcked, "alpha_op01", sent, sent2), func(r Result) bool { return r.SentAfterAck == 1 && r.AckDropped == 0 }},
		{"forged webhook accepted", text{forged: true, statuses: []int{200}}, nil, nil, nil,
			func(r Result) bool { return r.ForgedAccepted == 1 && r.Forged == 1 && r.Accepted == 0 && r.Failed() }},
		{"forged webhook refused", text{forged: true, statuses: []int{403}}, nil, nil, nil,
			func(r Result) bool { return r.ForgedAccepted == 0 && r.Forged == 1 && !r.Failed() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := tt.text
			x.sid, x.copies = sid, 1
			if !x.forged {
				x.answered, x.statuses = true, []int{200}
			}
			h := &harness{o: Options{Window: window}, dir: dir, end: end, texts: map[string]*text{sid: &x}, order: []*text{&x}}
			got := h.reconcile(tt.msgs, tt.events, tt.relays)
			if !tt.want(got) {
				t.Errorf("got %s\n%s", got.Line("test"), got.Detail("test"))
			}
		})
	}
}
