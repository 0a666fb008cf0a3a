package relay

import (
	"context"
	"fmt"
	"time"
)

// Problems lists every bad schedule field, named as in the data file.
func (sc Schedule) Problems() FieldErrors {
	var fe FieldErrors
	checkSchedule(&fe, sc)
	return fe
}

// quietStart decides what quiet hours do to a new relay r: it marks an
// urgent text, and in hold mode stores the relay held, with its release
// tick, and answers the customer. held is true when the relay was held (or
// was a duplicate of one); the caller then returns res and err as they are.
func (s *Service) quietStart(ctx context.Context, t Tenant, in Inbound, rt routing, r *Relay) (held bool, res InboundResult, err error) {
	now := s.now()
	quiet, end := t.Quiet(now)
	r.Urgent = t.Urgent(in.Body)
	if !quiet {
		return false, res, nil
	}
	if r.Urgent {
		ev := s.event(r, Attempt{Reason: ReasonUrgent})
		ev.Event, ev.Note = EventBypass, "urgent keyword; quiet hours bypassed"
		r.Outbox = append(r.Outbox, ev)
		return false, res, nil
	}
	if t.QuietHours.OnCallOnly() {
		return false, res, nil
	}
	res = InboundResult{TenantID: t.ID, RelayID: in.MessageSid, Outcome: OutcomeHeld}
	r.Status, r.HeldUntil = StatusHeld, end
	ev := s.event(r, Attempt{Reason: EventHeld})
	ev.Event, ev.Note = EventHeld, "held until "+end.In(t.Location()).Format(time.RFC3339)
	r.Outbox = append(r.Outbox, ev)
	// The release tick is armed before the write that stores the relay, as
	// for every step, so a held relay survives a restart.
	if err := s.arm(ctx, r, 0, end); err != nil {
		return true, res, err
	}
	if err := s.create(ctx, r); err != nil {
		if IsKind(err, Conflict) {
			res, err = s.duplicate(ctx, t, in, rt)
			return true, res, err
		}
		return true, res, fmt.Errorf("claim message %s: %w", in.MessageSid, err)
	}
	s.count(ctx, MetricRelayed, t.ID)
	s.log().InfoContext(ctx, "held for quiet hours", "relay", r.ID, "tenant", t.ID, "until", end)
	s.flush(ctx, r)
	if t.AfterHoursReply != "" && s.take(ctx, "autoreply:"+t.ID+":"+in.From, s.settings().autoReplyLimit) {
		res.Reply = t.AfterHoursReply
	}
	return true, res, nil
}

// release starts a held relay whose quiet hours are over, or re-arms its
// tick for when they end.
func (s *Service) release(ctx context.Context, r Relay) error {
	if now := s.now(); now.Before(r.HeldUntil) {
		if err := s.arm(ctx, &r, 0, r.HeldUntil); err != nil {
			return err
		}
		return s.settleOutbox(ctx, r)
	}
	_, _, err := s.advance(ctx, r, move{reason: r.Reason, actor: "timer"}, func(x *Relay) error {
		if x.Status != StatusHeld || len(x.Attempts) != 0 {
			return errNothing
		}
		return nil
	})
	return err
}

// releasedEvent is the audit record of a held relay's start.
func (s *Service) releasedEvent(r *Relay, actor string) AuditEvent {
	ev := s.event(r, Attempt{Reason: EventReleased, By: actor})
	ev.Event = EventReleased
	return ev
}

// unavailableReply is what the customer is told when the relay's first
// step found nobody in the chain available.
func unavailableReply(t Tenant, a *Attempt) string {
	if a == nil || a.Fallback {
		return t.UnavailableReply
	}
	return ""
}
