package relay

import (
	"context"
	"fmt"
)

// Forward hands a relay to the next operator of its chain now, or to the
// named operator (a manual escalate or reassign). tenantID scopes the lookup;
// "" means any tenant. It is the operation behind POST /api/sms/forward.
func (s *Service) Forward(ctx context.Context, tenantID, relayID, operatorID string, by Actor) (Relay, error) {
	reason := ReasonManualForward
	if operatorID != "" {
		reason = ReasonReassign
	}
	if by.OperatorID != "" {
		reason = ReasonPass
	}
	r, err := s.load(ctx, tenantID, relayID)
	if err != nil {
		return r, err
	}
	// A retry after a lost write is only safe while the relay is still at
	// the step the caller saw; otherwise someone else already moved it.
	seen := len(r.Attempts)
	r, _, err = s.advance(ctx, r, move{reason: reason, target: operatorID, actor: by.String()}, func(x *Relay) error {
		switch {
		case len(x.Attempts) != seen:
			return Errorf(Conflict, "relay %s moved on while it was being forwarded", relayID)
		case operatorID == "" && x.Status == StatusExhausted:
			return Errorf(Conflict, "relay %s is exhausted; name an operator to reassign it", relayID)
		case operatorID == "" && x.Status == StatusAcked:
			return Errorf(Conflict, "relay %s is already acknowledged by %s", relayID, x.AckedBy)
		}
		return nil
	})
	return r, err
}

// Ack acknowledges a relay for by (the office, through the API). tenantID
// scopes the lookup ("" means any tenant). An already acknowledged relay is a
// Conflict naming who has it.
func (s *Service) Ack(ctx context.Context, tenantID, relayID string, by Actor) (Relay, error) {
	r, err := s.load(ctx, tenantID, relayID)
	if err != nil {
		return r, err
	}
	return s.ack(ctx, r, by, "", func(*Relay) bool { return true })
}

// ack marks the relay acknowledged by `by` with a conditional write and its
// audit event, re-reading on every Conflict; may is asked of each fresh
// copy whether by may still acknowledge it. sid is the operator's inbound
// MessageSid ("" for the API).
func (s *Service) ack(ctx context.Context, r Relay, by Actor, sid string, may func(*Relay) bool) (Relay, error) {
	now := s.now()
	stored, err := s.update(ctx, r.TenantID, r.ID, &r, func(x *Relay) (bool, error) {
		if x.Status == StatusAcked {
			return false, Errorf(Conflict, "relay %s is already acknowledged by %s", x.ID, x.AckedBy)
		}
		if !may(x) {
			return false, Errorf(Conflict, "relay %s moved on", x.ID)
		}
		x.Status, x.AckedAt, x.AckedBy, x.AckSid = StatusAcked, now, by.String(), sid
		x.Outbox = append(x.Outbox, s.ackEvent(x, by))
		s.takenNotices(x, by, now) // a broadcast wave's others are told (broadcast.go)
		return true, nil
	})
	if err != nil {
		return stored, err
	}
	stored = s.sendNotices(ctx, stored)
	s.count(ctx, MetricAcked, stored.TenantID)
	s.log().InfoContext(ctx, "acknowledged", "relay", stored.ID, "tenant", stored.TenantID, "by", by.String())
	s.flush(ctx, &stored)
	return stored, nil
}

// ackEvent is the audit record of r's acknowledgement by `by`.
func (s *Service) ackEvent(r *Relay, by Actor) AuditEvent {
	a := Attempt{N: len(r.Attempts), OperatorID: by.String(), Reason: ReasonAcked}
	if c := r.Current(); c != nil {
		a.MessageSid = c.MessageSid
	}
	ev := s.event(r, a)
	ev.Event, ev.Actor = EventAcked, by.String()
	ev.LatencyMs = r.AckedAt.Sub(r.ReceivedAt).Milliseconds()
	return ev
}

// AddNote audits a note or routing decision posted by the dashboard.
func (s *Service) AddNote(ctx context.Context, tenantID, relayID, reason, note string, by Actor) (AuditEvent, error) {
	r, err := s.load(ctx, tenantID, relayID)
	if err != nil {
		return AuditEvent{}, err
	}
	ev := s.event(&r, Attempt{N: len(r.Attempts), Reason: reason})
	if c := r.Current(); c != nil {
		ev.RoutedToOperator = c.OperatorID
	}
	ev.Event, ev.Note, ev.Actor = EventNote, note, by.String()
	if s.Audit == nil {
		return ev, Errorf(Internal, "no audit log configured")
	}
	if err := s.Audit.Record(ctx, ev); err != nil {
		return ev, fmt.Errorf("record note: %w", err)
	}
	return ev, nil
}
