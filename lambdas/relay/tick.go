package relay

import (
	"context"
	"errors"
	"fmt"
)

// HandleTick runs a timer tick. A tick names a relay and one of its
// attempts; the relay is re-read and decides what is due now (wake), so
// early, late, duplicate and stray ticks are harmless. A tick is finished
// only when the relay no longer needs it: an error keeps it for a retry.
func (s *Service) HandleTick(ctx context.Context, tk Tick) error {
	if tk.Kind == TickAudit {
		return s.retryAudit(ctx, tk)
	}
	r, err := s.load(ctx, tk.TenantID, tk.RelayID)
	if err != nil {
		if IsKind(err, NotFound) {
			// The claim never landed: the webhook failed and Twilio's retry starts it.
			s.log().WarnContext(ctx, "tick for unknown relay", "relay", tk.RelayID)
			return nil
		}
		return err
	}
	if tk.Attempt < r.stepStart() && !r.needsCare() {
		// A later step exists; its own tick was armed before it was stored.
		return nil
	}
	return s.wake(ctx, r)
}

// needsCare reports whether anything but the current step is unfinished:
// audit events to write, an earlier step's text or a customer reply owed.
func (r *Relay) needsCare() bool {
	if len(r.Outbox) > 0 || r.notesOwed() {
		return true
	}
	for i := range r.Attempts {
		if r.Attempts[i].Owed() {
			return true
		}
	}
	for i := range r.Replies {
		if r.Replies[i].Owed() {
			return true
		}
	}
	return false
}

// wake does what r needs now: resume a send whose sender is gone, wait for
// a send in flight or a window still open (arming a tick for when it ends),
// move on when the window is over, and write audit events left behind.
func (s *Service) wake(ctx context.Context, r Relay) error {
	for i := 0; ; i++ {
		err := s.wakeOnce(ctx, r)
		if errors.Is(err, errNothing) {
			return nil
		}
		if err == nil || !IsKind(err, Conflict) || i >= updateRetries {
			return err
		}
		if r, err = s.load(ctx, r.TenantID, r.ID); err != nil {
			return err
		}
	}
}

func (s *Service) wakeOnce(ctx context.Context, r Relay) error {
	now := s.now()
	if err := s.resumeReplies(ctx, &r); err != nil {
		return err
	}
	if err := s.resumeNotes(ctx, &r); err != nil { // thread.go
		return err
	}
	if err := s.resumeWave(ctx, &r); err != nil { // broadcast.go
		return err
	}
	// Earlier texts still on their way when the relay moved on (while the
	// relay waits, the current broadcast wave is resumeWave's).
	last := len(r.Attempts) - 1
	if r.Status == StatusPending {
		last = r.stepStart() - 1
	}
	for i := 0; i < last; i++ {
		o := &r.Attempts[i].Outbound
		switch {
		case !o.Owed():
		case s.held(o, now):
			return s.arm(ctx, &r, len(r.Attempts), o.LeaseUntil)
		default:
			return s.settleIntent(ctx, r, i+1)
		}
	}
	a := r.Current()
	switch {
	case a == nil && r.Status == StatusHeld:
		return s.release(ctx, r)
	case a == nil && r.Status == StatusPending:
		// Nothing was planned yet (a relay stored by an older version).
		s.log().WarnContext(ctx, "starting an unstarted relay", "relay", r.ID)
		_, _, err := s.advance(ctx, r, move{reason: r.Reason, actor: "timer"}, stillAt(0))
		return err
	case a == nil:
	case a.Owed() && s.held(&a.Outbound, now):
		// A sender holds the intent; if it dies, its lease runs out here.
		return s.arm(ctx, &r, a.N, a.LeaseUntil)
	case a.Owed() && a.RetryAt.After(now):
		return s.arm(ctx, &r, a.N, a.RetryAt)
	case a.Owed() && (r.Status == StatusPending || a.Fallback):
		return s.resume(ctx, r, a.N)
	case a.Owed():
		// The relay was settled (acknowledged) while this text's sender was
		// gone: find out whether Twilio took it, never send it now.
		return s.settleIntent(ctx, r, a.N)
	case r.Status != StatusPending || a.Fallback:
	case a.Delivery == DeliverySkipped:
		_, _, err := s.advance(ctx, r, move{reason: ReasonSendFailed, actor: "system"}, stillAt(a.N))
		return err
	case a.Accepted() && now.Before(a.Due(r.AckTimeout)):
		wait := a.Due(r.AckTimeout).Sub(now)
		if wait > inPlace {
			return s.arm(ctx, &r, a.N, a.Due(r.AckTimeout))
		}
		if err := s.sleep(ctx, wait); err != nil {
			return err
		}
		return errAgain
	case a.Accepted():
		_, _, err := s.advance(ctx, r, move{reason: ReasonNoAck, actor: "timer"}, stillAt(a.N))
		return err
	}
	return s.settleOutbox(ctx, r)
}

// claimIntent takes attempt n's owed intent over for this process with a
// conditional write (tries + 1, a fresh lease); errNothing when somebody
// holds it or it is settled.
func (s *Service) claimIntent(ctx context.Context, r Relay, n int) (Relay, error) {
	now := s.now()
	return s.update(ctx, r.TenantID, r.ID, &r, func(x *Relay) (bool, error) {
		a := x.Attempt(n)
		if a == nil || !s.resumable(&a.Outbound, now) {
			return false, errNothing
		}
		s.takeOver(&a.Outbound, now)
		return true, nil
	})
}

// resume takes over attempt n's owed send, whose sender is gone or whose
// retry is due, and sends it through the door (which looks it up first).
func (s *Service) resume(ctx context.Context, r Relay, n int) error {
	r, err := s.claimIntent(ctx, r, n)
	if err != nil {
		return err
	}
	s.log().WarnContext(ctx, "resuming a send", "relay", r.ID, "attempt", n, "tries", r.Attempt(n).Tries)
	// The lease's tick: if this process dies too, the next one takes over.
	if err := s.arm(ctx, &r, n, r.Attempt(n).LeaseUntil); err != nil {
		return err
	}
	_, err = s.deliverAttempt(ctx, r, n)
	return err
}

// settleOutbox writes audit events a crash or a failed write left in the
// relay, then stores the relay without them.
func (s *Service) settleOutbox(ctx context.Context, r Relay) error {
	if len(r.Outbox) == 0 {
		return nil
	}
	before := len(r.Outbox)
	wrote := s.flush(ctx, &r)
	if wrote == 0 && len(r.Outbox) == 0 {
		return nil // this process wrote them already; they stay in the item, harmlessly
	}
	if len(r.Outbox) == before {
		return fmt.Errorf("audit log unavailable for relay %s", r.ID)
	}
	if err := s.commit(ctx, &r); err != nil {
		return err
	}
	if len(r.Outbox) > 0 {
		return fmt.Errorf("audit log unavailable for %d events of relay %s", len(r.Outbox), r.ID)
	}
	return nil
}

// errAgain makes wake re-read the relay and decide again.
var errAgain = Errorf(Conflict, "decide again")

// errSettled is the outcome recorded for a text that was never sent because
// its relay moved on (acknowledged, or handed to someone else) first.
var errSettled = Errorf(Permanent, "not sent: the relay moved on before the send completed")

// settleIntent records what became of attempt n's owed text, whose sender
// is gone, without sending it: the relay no longer waits on it. Found at
// Twilio, it is recorded as sent (with its audit event); not found, as never
// sent.
func (s *Service) settleIntent(ctx context.Context, r Relay, n int) error {
	r, err := s.claimIntent(ctx, r, n)
	if err != nil {
		return err
	}
	a := *r.Attempt(n)
	msg := Message{From: r.TenantNumber, To: a.Phone, Body: s.attemptBody(&r, a)}
	sent, found, err := s.Sender.Lookup(ctx, msg, a.FirstTryAt)
	if err != nil {
		return Wrap(Transient, err, "look up an unsettled text")
	}
	var sendErr error
	if !found {
		sendErr = errSettled
	}
	done := s.now()
	stored, err := s.update(ctx, r.TenantID, r.ID, &r, func(x *Relay) (bool, error) {
		xa := x.Attempt(n)
		if xa == nil || xa.Tries != a.Tries || !xa.Owed() {
			return false, nil
		}
		outcome(&xa.Outbound, sent, sendErr, done)
		if sendErr != nil {
			xa.Delivery = DeliverySkipped
		}
		x.Outbox = append(x.Outbox, s.sendEvent(x, *xa, sendErr, done))
		return true, nil
	})
	if err != nil {
		return notConflict(err)
	}
	s.flush(ctx, &stored)
	return nil
}
