package relay

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Keywords for both sides. A customer's STOP (and Twilio's 21610 answer)
// is recorded and the operator holding the thread is told; nothing is texted
// to the customer until START. A customer's HELP is answered with the
// tenant's help text at most once a day and still relayed. An operator's
// STOP takes them out of every chain until START: never relayed, never an
// acknowledgement, and the office alerted (audit event and metric).

// IsHelp reports whether a customer's text is a HELP keyword.
func IsHelp(body string) bool {
	switch strings.ToUpper(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(body), ".!?"))) {
	case "HELP", "INFO":
		return true
	}
	return false
}

// optInOnly reports whether body is an opt-in word that is also an
// ordinary answer ("yes"): it opts in only a phone that opted out.
func optInOnly(body string) bool {
	return strings.ToUpper(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(body), ".!"))) == "YES"
}

// customerKeyword handles a customer's STOP or START; ok is false when the
// text is not one (or is an opt-in word from a phone that never opted out,
// which is relayed like any text).
func (s *Service) customerKeyword(ctx context.Context, t Tenant, in Inbound, rt routing) (InboundResult, bool, error) {
	out, ok := OptKeyword(in.Body)
	if !ok {
		return InboundResult{}, false, nil
	}
	if !out {
		was, err := s.Store.OptedOut(ctx, t.ID, in.From)
		if err != nil {
			return InboundResult{}, true, fmt.Errorf("check opt-out: %w", err)
		}
		if !was && optInOnly(in.Body) {
			return InboundResult{}, false, nil
		}
	}
	res, err := s.optKeyword(ctx, t, in, out, rt.customer)
	if err != nil {
		return res, true, err
	}
	// Tell the operator holding the thread.
	r, joined, err := s.thread(ctx, t, in)
	if err != nil || !joined {
		if err != nil {
			s.log().WarnContext(ctx, "opt-out notice: thread unavailable", "err", err)
		}
		return res, true, nil
	}
	kind := NoteOptedIn
	if out {
		kind = NoteOptedOut
	}
	res.RelayID = r.ID
	_, err = s.addNote(ctx, t, r, in.MessageSid, func(x *Relay, _ *Attempt) (Note, bool) {
		return Note{Kind: kind, Text: noticeText(x, kind)}, true
	})
	if err != nil && err != errNotJoinable {
		return res, true, fmt.Errorf("tell the operator: %w", err)
	}
	return res, true, nil
}

// helpReply is the answer to a customer's HELP: the tenant's help text, at
// most once a day per customer and never to a customer who opted out.
func (s *Service) helpReply(ctx context.Context, t Tenant, in Inbound) string {
	if !IsHelp(in.Body) || s.customerOptedOut(ctx, t, in.From) {
		return ""
	}
	ok, err := s.Store.Take(ctx, "help:"+t.ID+":"+in.From, 1, helpWindow, s.now())
	if err != nil || !ok {
		return ""
	}
	return t.Help()
}

// customerOptedOut reports whether phone opted out; an unreadable state
// counts as opted out, since a text sent against a STOP is worse than a
// courtesy text missed.
func (s *Service) customerOptedOut(ctx context.Context, t Tenant, phone string) bool {
	out, err := s.Store.OptedOut(ctx, t.ID, phone)
	if err != nil {
		s.log().WarnContext(ctx, "opt-out state unavailable", "err", err)
		return true
	}
	return out
}

// operatorKeyword handles an operator's STOP or START; ok is false for any
// other text. STOP is recorded, audited and counted (the office's alarm),
// and every relay waiting on the operator moves on at once.
func (s *Service) operatorKeyword(ctx context.Context, t Tenant, op Operator, in Inbound) (InboundResult, bool, error) {
	res := InboundResult{Outcome: OutcomeOptOut, TenantID: t.ID, RelayID: in.MessageSid}
	out, ok := OptKeyword(in.Body)
	if !ok {
		return res, false, nil
	}
	was, err := s.Store.OptedOut(ctx, t.ID, op.Phone)
	if err != nil {
		return res, true, fmt.Errorf("check opt-out: %w", err)
	}
	if !out && !was && optInOnly(in.Body) {
		return res, false, nil // "yes" is an answer, not START
	}
	if err := s.Store.SetOptOut(ctx, t.ID, op.Phone, out, in.ReceivedAt); err != nil {
		return res, true, fmt.Errorf("record opt-out: %w", err)
	}
	s.flushDirectory() // this process skips them from the next step on
	reason := "operator_opted_in"
	if out {
		reason = ReasonOperatorOptedOut
	}
	s.record(ctx, AuditEvent{ID: "optout-" + in.MessageSid, Timestamp: in.ReceivedAt, Event: EventOptOut,
		TenantID: t.ID, MessageSid: in.MessageSid, RoutedToOperator: op.ID, OriginalFrom: in.From,
		RoutingReason: reason, Actor: op.ID})
	if !out {
		res.Outcome = OutcomeOptIn
		res.Reply = "You are back on the relay: new texts reach you again."
		return res, true, nil
	}
	if !was {
		s.count(ctx, MetricOperatorOptedOut, t.ID)
		s.log().WarnContext(ctx, "operator opted out of texts", "tenant", t.ID, "operator", op.ID, "phone", MaskPhone(op.Phone))
	}
	open, err := s.relaysOf(ctx, t, op)
	if err != nil {
		return res, true, err
	}
	for _, o := range open {
		if !o.holds(op.ID) && !(o.relay.Status == StatusPending && o.relay.Current() != nil && o.relay.Current().OperatorID == op.ID) {
			continue
		}
		n := len(o.relay.Attempts)
		_, _, err := s.advance(ctx, o.relay, move{reason: ReasonOperatorOptedOut, actor: op.ID, cause: in.MessageSid}, stillAt(n))
		if err != nil && err != errNothing && !IsKind(err, Conflict) {
			return res, true, fmt.Errorf("move relay %s on: %w", o.relay.ID, err)
		}
	}
	return res, true, nil
}

// asOperator decides whether a text from a phone that is both an
// operator's and a customer's (data that should have been refused) is the
// operator's: only when they hold a relay. Otherwise it is the customer's,
// so her texts are never swallowed.
func (s *Service) asOperator(ctx context.Context, t Tenant, op Operator, rt routing) bool {
	if rt.customer.ID == "" {
		return true
	}
	open, err := s.relaysOf(ctx, t, op)
	if err != nil {
		return true
	}
	for _, o := range open {
		if o.holds(op.ID) || (o.relay.Status == StatusAcked && o.relay.AckedBy == op.ID) {
			return true
		}
	}
	return false
}

// twilioOptOut records Twilio's 21610 answer (the customer opted out at
// the carrier) as if the customer had texted STOP.
func (s *Service) twilioOptOut(ctx context.Context, r Relay, now time.Time) {
	if err := s.Store.SetOptOut(ctx, r.TenantID, r.CustomerPhone, true, now); err != nil {
		s.log().WarnContext(ctx, "record 21610 opt-out", "relay", r.ID, "err", err)
	}
	s.record(ctx, AuditEvent{Timestamp: now, Event: EventOptOut, TenantID: r.TenantID, MessageSid: r.ID,
		RelayID: r.ID, CustomerID: r.CustomerID, CustomerName: r.CustomerName, OriginalFrom: r.CustomerPhone,
		RoutingReason: "customer_opted_out", ErrorCode: 21610, Note: "Twilio answered 21610: the customer opted out"})
}

// operatorUnsubscribed records Twilio's 21610 answer to a text for an
// operator (they opted out at the carrier) as the operator's STOP: out of
// every chain until START, the office alerted once.
func (s *Service) operatorUnsubscribed(ctx context.Context, r Relay, a Attempt, now time.Time) {
	was, err := s.Store.OptedOut(ctx, r.TenantID, a.Phone)
	if err != nil || was {
		return
	}
	if err := s.Store.SetOptOut(ctx, r.TenantID, a.Phone, true, now); err != nil {
		s.log().WarnContext(ctx, "record operator 21610 opt-out", "relay", r.ID, "err", err)
		return
	}
	s.count(ctx, MetricOperatorOptedOut, r.TenantID)
	s.record(ctx, AuditEvent{Timestamp: now, Event: EventOptOut, TenantID: r.TenantID, MessageSid: r.ID, RelayID: r.ID,
		RoutedToOperator: a.OperatorID, OriginalFrom: a.Phone, RoutingReason: ReasonOperatorOptedOut, ErrorCode: 21610,
		Note: "Twilio answered 21610: the operator opted out"})
}
