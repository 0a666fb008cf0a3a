package relay

import (
	"context"
	"fmt"
	"time"
)

// The send path's invariants (docs/architecture.md, "The send path"):
//  1. An outbound text is stored as an intent (an Outbound without a
//     MessageSid, under a lease) in the relay's own item before it is sent.
//  2. Every send goes through door. A try that may have reached Twilio
//     (Tries > 1) is looked up at Twilio before any resend; there is no other
//     resume path.
//  3. Nobody but the lease holder touches an intent before LeaseUntil.
//  4. The acknowledgement window starts at SentAt, when Twilio accepted the text.

// door hands m to Twilio for the intent o and returns Twilio's answer. When an
// earlier try of the same intent may have reached Twilio, the text is looked
// up first and found texts are not sent again.
func (s *Service) door(ctx context.Context, m Message, o Outbound) (Sent, error) {
	if o.Tries > 1 {
		sent, found, err := s.Sender.Lookup(ctx, m, o.FirstTryAt)
		if err != nil {
			// Without the answer a resend could double the text: try later.
			return Sent{}, Wrap(Transient, err, "look up an earlier try")
		}
		if found {
			s.log().InfoContext(ctx, "earlier try found at twilio; not sent again", "to", MaskPhone(m.To), "sid", sent.Sid)
			return sent, nil
		}
	}
	sctx, cancel := context.WithTimeout(ctx, s.settings().sendTimeout)
	defer cancel()
	return s.Sender.Send(sctx, m)
}

// outcome applies Twilio's answer to the intent o at time now.
func outcome(o *Outbound, sent Sent, sendErr error, now time.Time) {
	o.LeaseUntil, o.Holder = time.Time{}, ""
	if sendErr == nil {
		o.MessageSid, o.SentAt, o.RetryAt = sent.Sid, now, time.Time{}
		o.Error, o.ErrorCode = "", 0
		if deliveryRank(o.Delivery) <= deliveryRank(DeliveryAccepted) || o.Delivery == DeliveryRetry {
			o.Delivery = firstNonEmpty(sent.Status, DeliveryQueued)
		}
		return
	}
	o.Error, o.ErrorCode = MessageOf(sendErr), CodeOf(sendErr)
	if IsKind(sendErr, Transient) && o.Tries <= sendRetries {
		o.Delivery = DeliveryRetry
		o.RetryAt = now.Add(time.Duration(2<<(o.Tries-1)) * time.Second)
		return
	}
	o.Delivery = DeliverySkipped
}

// resumable reports whether o's text is owed and nobody holds it now.
func (s *Service) resumable(o *Outbound, now time.Time) bool {
	return o.Owed() && !s.held(o, now) && !o.RetryAt.After(now)
}

// takeOver claims an owed intent whose lease ran out for this process.
func (s *Service) takeOver(o *Outbound, now time.Time) {
	o.Tries++
	if o.FirstTryAt.IsZero() {
		o.FirstTryAt = now
	}
	o.Delivery, o.RetryAt = DeliveryDispatching, time.Time{}
	o.LeaseUntil, o.Holder = now.Add(s.lease()), s.settings().instance
}

// intent is a new outbound text's state before its first try, held by this process.
func (s *Service) intent(now time.Time) Outbound {
	return Outbound{Delivery: DeliveryDispatching, Tries: 1, FirstTryAt: now, LeaseUntil: now.Add(s.lease()),
		Holder: s.settings().instance}
}

// deliverAttempt sends attempt n of r, whose intent r holds under this
// process's lease, through the door, stores Twilio's answer with its audit
// event, and acts on it: a refused send moves the relay on, a transient
// failure is retried by the timer. It never returns a Conflict.
func (s *Service) deliverAttempt(ctx context.Context, r Relay, n int) (Relay, error) {
	a := *r.Attempt(n)
	body := s.attemptBody(&r, a)
	msg := Message{From: r.TenantNumber, To: a.Phone, Body: body, ValidityPeriod: r.AckTimeout}
	if a.Fallback {
		msg.ValidityPeriod = 0
	}
	if s.CallbackURL != nil {
		msg.StatusCallback = s.CallbackURL(r.TenantID, r.ID, n)
	}
	msg, media := s.withMedia(ctx, msg, r.Media, a.CreatedAt) // media.go
	sent, sendErr := s.door(ctx, msg, a.Outbound)
	now := s.now()
	segments, enc := Segments(msg.Body)
	if sendErr != nil {
		s.count(ctx, MetricSendError, r.TenantID)
		s.log().WarnContext(ctx, "send failed", "relay", r.ID, "attempt", n, "to", MaskPhone(a.Phone),
			"kind", KindOf(sendErr).String(), "code", CodeOf(sendErr), "err", sendErr)
		if CodeOf(sendErr) == 21610 && !a.Fallback {
			s.operatorUnsubscribed(ctx, r, a, now) // keywords.go
		}
	}
	stored, err := s.update(ctx, r.TenantID, r.ID, &r, func(x *Relay) (bool, error) {
		xa := x.Attempt(n)
		if xa == nil || xa.Tries != a.Tries || !xa.Owed() {
			return false, nil // somebody else took the intent over, or it is settled
		}
		outcome(&xa.Outbound, sent, sendErr, now)
		xa.Segments, xa.Encoding = segments, enc
		ev := s.sendEvent(x, *xa, sendErr, now)
		ev.Media = media
		x.Outbox = append(x.Outbox, ev)
		if xa.Fallback && xa.Delivery != DeliveryRetry {
			x.Outbox = append(x.Outbox, s.exhaustedEvent(x, xa.OperatorID))
		}
		return true, nil
	})
	if err != nil {
		return r, fmt.Errorf("record send outcome of relay %s: %w", r.ID, notConflict(err))
	}
	r = stored
	cur := r.Attempt(n)
	if cur.Tries != a.Tries {
		return r, nil
	}
	if sendErr == nil {
		s.log().InfoContext(ctx, "forwarded", "relay", r.ID, "tenant", r.TenantID, "attempt", n,
			"operator", a.OperatorID, "to", MaskPhone(a.Phone), "reason", a.Reason, "segments", segments)
	}
	var next error
	switch {
	case cur.Fallback && cur.Delivery != DeliveryRetry:
		s.exhausted(ctx, &r)
	case cur.Delivery == DeliveryRetry:
		next = s.arm(ctx, &r, n, cur.RetryAt)
	case cur.Delivery == DeliverySkipped:
		if r.Status == StatusPending && len(r.Attempts) == n {
			r, _, next = s.advance(ctx, r, move{reason: ReasonSendFailed, actor: "system"}, stillAt(n))
			if next == errNothing {
				next = nil
			}
		}
	case cur.Accepted() && !cur.Fallback && now.Sub(cur.CreatedAt) >= r.AckTimeout/2:
		// The timer armed with the intent fires before this window ends;
		// arm one for the window that started now, when Twilio accepted.
		next = s.arm(ctx, &r, n, cur.Due(r.AckTimeout))
	}
	s.flush(ctx, &r)
	return r, notConflict(next)
}

// stillAt is advance's check that the relay still waits on attempt n.
func stillAt(n int) func(r *Relay) error {
	return func(r *Relay) error {
		if r.Status != StatusPending || len(r.Attempts) != n {
			return errNothing
		}
		return nil
	}
}

// notConflict turns a Conflict into a Transient error: after the door, a
// lost write must not make a caller step the relay again.
func notConflict(err error) error {
	if err == nil || err == errNothing || !IsKind(err, Conflict) {
		return err
	}
	return Wrap(Transient, err, "relay kept changing")
}

// sendEvent is the audit record of a send's outcome.
func (s *Service) sendEvent(r *Relay, a Attempt, sendErr error, now time.Time) AuditEvent {
	ev := s.event(r, a)
	ev.Timestamp = now // when Twilio answered, not when the outcome was stored
	ev.Segments, ev.Encoding = a.Segments, a.Encoding
	ev.LatencyMs = now.Sub(a.CreatedAt).Milliseconds()
	if a.N == 1 {
		ev.LatencyMs = now.Sub(r.ReceivedAt).Milliseconds()
	}
	switch {
	case sendErr != nil:
		ev.Event, ev.Error, ev.ErrorCode = EventSendError, MessageOf(sendErr), CodeOf(sendErr)
	case a.Fallback:
		ev.Event = EventFallback
	case a.N == 1:
		ev.Event = EventRouted
	default:
		ev.Event = EventForwarded
	}
	return ev
}

// exhaustedEvent is the audit record of a relay that ran out of people.
func (s *Service) exhaustedEvent(r *Relay, fallbackID string) AuditEvent {
	ev := s.event(r, Attempt{N: len(r.Attempts), Reason: ReasonExhausted, OperatorID: fallbackID})
	ev.Event = EventExhausted
	return ev
}

// exhausted counts and logs a relay that ran out of people; its audit event
// was stored with the state change.
func (s *Service) exhausted(ctx context.Context, r *Relay) {
	s.count(ctx, MetricExhausted, r.TenantID)
	s.log().WarnContext(ctx, "relay exhausted", "relay", r.ID, "tenant", r.TenantID, "attempts", len(r.Attempts))
}

func (s *Service) attemptBody(r *Relay, a Attempt) string {
	hint := ReplyHint(a.Code)
	if a.Fallback {
		hint = "Nobody confirmed this. Customer: " + r.CustomerPhone
	}
	text := r.Text
	if conv, ok := r.conversationBody(a, hint); ok {
		text = conv // follow-ups came first: the conversation so far (thread.go)
	}
	return WithHint(text, hintFor(text, hint))
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// event is the audit record of an attempt of r.
func (s *Service) event(r *Relay, a Attempt) AuditEvent {
	return AuditEvent{
		ID: s.newID(), Timestamp: s.now(), MessageSid: r.ID, CustomerID: r.CustomerID, CustomerName: r.CustomerName,
		OriginalFrom: r.CustomerPhone, RoutedToOperator: a.OperatorID, RoutingReason: a.Reason,
		Acknowledged: r.Status == StatusAcked, AckTimestamp: r.AckedAt,
		TenantID: r.TenantID, Attempt: a.N, Truncated: r.Truncated, OutboundSid: a.MessageSid, Actor: a.By,
	}
}
