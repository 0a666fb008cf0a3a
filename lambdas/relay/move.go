package relay

import (
	"context"
	"fmt"
	"time"
)

// move is one transition of a relay through its chain, so that a call site
// reads as a sentence: move{reason: ReasonPass, actor: op.ID, cause: sid}.
type move struct {
	// reason is why the next person is texted (an audit routing reason).
	reason string
	// target names an operator to text instead of the chain's next.
	target string
	// actor is who caused it: "" for routing, "timer", "twilio", an operator id or an API subject.
	actor string
	// cause is the inbound MessageSid behind the move (an operator's PASS).
	cause string
	// known is an operator the caller has read already, or nil.
	known *Operator
}

// cloneRelay returns a copy of r that shares no slices with it, so the next
// state can be computed as a value and thrown away when its write loses.
func cloneRelay(r Relay) Relay {
	r.Attempts = append([]Attempt(nil), r.Attempts...)
	r.Replies = append([]CustomerReply(nil), r.Replies...)
	r.Notes = append([]Note(nil), r.Notes...)
	r.Outbox = append([]AuditEvent(nil), r.Outbox...)
	r.Chain = append([]string(nil), r.Chain...)
	return r
}

// plan computes the relay after m: the next attempt appended as an intent
// (without its reply code, see prepare), or the relay exhausted with nobody
// left. It writes nothing.
func (s *Service) plan(ctx context.Context, t Tenant, cur Relay, m move) (Relay, *Attempt, error) {
	now := s.now()
	r := cloneRelay(cur)
	r.UpdatedAt = now
	var a *Attempt
	if cur.Status == StatusHeld {
		// A relay held for quiet hours starts (quiet.go).
		r.Outbox = append(r.Outbox, s.releasedEvent(&r, m.actor))
	}
	if m.target != "" {
		op, err := s.dir().Operator(ctx, t.ID, m.target)
		if err != nil {
			return r, nil, fmt.Errorf("find operator %s: %w", m.target, err)
		}
		if !op.Active {
			return r, nil, Errorf(Invalid, "operator %s is not active", m.target)
		}
		a = &Attempt{OperatorID: op.ID, Name: op.Name, Phone: op.Phone, Reason: m.reason}
	} else {
		total := len(r.Chain) * (r.Repeat + 1)
		skipped := map[string]bool{}
		// A broadcast relay texts a wave of operators at once (broadcast.go).
		size, wave := r.waveSize(), []Attempt(nil)
		for p := r.Position + 1; p < total && len(wave) < size; p++ {
			id := r.Chain[p%len(r.Chain)]
			op, err := s.operator(ctx, t.ID, id, m.known)
			if err != nil && !IsKind(err, NotFound) {
				return r, nil, fmt.Errorf("find operator %s: %w", id, err)
			}
			if err != nil || r.refused(op.Phone) || inWave(wave, op.ID) {
				continue
			}
			// Availability is checked when each step starts (availability.go).
			why, err := s.unavailable(ctx, t, &r, op, now)
			if err != nil {
				return r, nil, err
			}
			if why != "" {
				if !skipped[op.ID] {
					skipped[op.ID] = true
					r.Outbox = append(r.Outbox, s.skipEvent(&r, op, why, m.actor))
				}
				continue
			}
			r.Position = p
			why = m.reason
			if p >= len(r.Chain) && p%len(r.Chain) == 0 && why == ReasonNoAck {
				why = ReasonRepeat
			}
			if why == ReasonPrimary && len(skipped) > 0 {
				why = ReasonDefaultChain // the job's operator was skipped
			}
			wave = append(wave, Attempt{OperatorID: op.ID, Name: op.Name, Phone: op.Phone, Reason: why})
		}
		if len(wave) > 0 {
			a = &wave[len(wave)-1]
		}
		if len(wave) > 1 {
			// Every operator of the wave but the last is stored here; the
			// last goes on as a single step does.
			first := len(r.Attempts) + 1
			for _, w := range wave[:len(wave)-1] {
				w.N, w.Wave = len(r.Attempts)+1, first
				w.CreatedAt, w.By, w.Cause = now, m.actor, m.cause
				w.Outbound = s.intent(now)
				r.Attempts = append(r.Attempts, w)
			}
			a.Wave = first
		}
		if a == nil {
			r.Position = total
			r.Status = StatusExhausted
			if t.Fallback == nil || t.Fallback.Phone == "" || r.fallbackTexted() {
				r.Outbox = append(r.Outbox, s.exhaustedEvent(&r, ""))
				return r, nil, nil
			}
			a = &Attempt{OperatorID: "fallback", Name: t.Fallback.Name, Phone: t.Fallback.Phone,
				Reason: ReasonExhausted, Fallback: true}
		}
	}
	a.N = len(r.Attempts) + 1
	a.CreatedAt, a.By, a.Cause = now, m.actor, m.cause
	a.Outbound = s.intent(now)
	if m.target != "" || r.Status != StatusExhausted {
		r.Status = StatusPending
		r.AckedAt, r.AckedBy, r.AckSid = time.Time{}, "", ""
	}
	r.Attempts = append(r.Attempts, *a)
	return r, r.Current(), nil
}

// operator reads an operator unless the caller already has it.
func (s *Service) operator(ctx context.Context, tenantID, id string, known *Operator) (Operator, error) {
	if known != nil && known.ID == id {
		return *known, nil
	}
	return s.dir().Operator(ctx, tenantID, id)
}

func (r *Relay) refused(phone string) bool {
	for _, a := range r.Attempts {
		if a.Phone == phone && a.Delivery == DeliverySkipped {
			return true
		}
	}
	return false
}

func (r *Relay) fallbackTexted() bool {
	for _, a := range r.Attempts {
		if a.Fallback {
			return true
		}
	}
	return false
}

// prepare makes a planned attempt ready to be stored: it picks the reply
// code from the operator's leases and arms the attempt's timer, at once. The
// timer is armed before the write that stores the step, so no stored step is
// ever without one; a tick for a step whose write lost finds the relay and
// decides again (tick.go). The returned lease, when not nil, is claimed by
// save together with the step's write.
func (s *Service) prepare(ctx context.Context, r *Relay, a *Attempt) (*CodeLease, error) {
	if a == nil {
		return nil, nil
	}
	due := a.CreatedAt.Add(r.AckTimeout)
	if a.Fallback {
		due = a.LeaseUntil
	}
	var lease *CodeLease
	errs := parallel(
		func() error {
			if a.Fallback {
				return nil
			}
			var err error
			lease, err = s.pickCode(ctx, r, a)
			return err
		},
		func() error { return s.arm(ctx, r, a.N, due) },
	)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if lease != nil {
		a.Code = lease.Code
	}
	return lease, nil
}

// pickCode chooses the reply code of a's operator for r: the code r already
// holds, or the smallest one no unexpired lease holds. It returns the lease
// to claim, or nil when r holds one already (a.Code is then set).
func (s *Service) pickCode(ctx context.Context, r *Relay, a *Attempt) (*CodeLease, error) {
	leases, err := s.Store.Codes(ctx, r.TenantID, a.OperatorID)
	if err != nil {
		return nil, fmt.Errorf("list reply codes: %w", err)
	}
	used := map[int]bool{}
	for _, l := range leases {
		if !l.ExpiresAt.After(a.CreatedAt) {
			continue
		}
		if l.RelayID == r.ID {
			a.Code = l.Code
			return nil, nil
		}
		used[l.Code] = true
	}
	code := 1
	for used[code] {
		code++
	}
	return &CodeLease{TenantID: r.TenantID, OperatorID: a.OperatorID, Code: code, RelayID: r.ID,
		CreatedAt: a.CreatedAt, ExpiresAt: a.CreatedAt.Add(s.codeLife(r))}, nil
}

// codeLife is how long a reply code of r is kept: r's longest life plus grace.
func (s *Service) codeLife(r *Relay) time.Duration {
	return r.AckTimeout*time.Duration(max(len(r.Chain), 1)*(r.Repeat+1)) + s.settings().leaseGrace + r.conversation()
}

// save runs write (storing r with attempt a) and claims a's reply code at
// once. When the code was taken meanwhile, a free one is leased and stored
// in the intent before anything is sent, so the text always names a code
// that answers.
func (s *Service) save(ctx context.Context, r *Relay, a *Attempt, lease *CodeLease, write func() error) error {
	var claimErr error
	errs := parallel(write, func() error {
		if lease != nil {
			claimErr = s.Store.ClaimCode(ctx, *lease)
		}
		return nil
	})
	if errs[0] != nil || claimErr == nil {
		return errs[0]
	}
	n, old := a.N, a.Code
	code, err := s.leaseCode(ctx, r.TenantID, a.OperatorID, r.ID, a.CreatedAt, a.CreatedAt.Add(s.codeLife(r)))
	if err != nil {
		s.log().WarnContext(ctx, "no reply code; sending without one", "relay", r.ID, "err", err)
		code = 0
	}
	stored, err := s.update(ctx, r.TenantID, r.ID, r, func(x *Relay) (bool, error) {
		xa := x.Attempt(n)
		if xa == nil || xa.Code != old || !xa.Owed() {
			return false, nil
		}
		xa.Code = code
		return true, nil
	})
	if err != nil {
		return notConflict(err)
	}
	*r = stored
	return nil
}

// arm schedules a tick for attempt n of r at due.
func (s *Service) arm(ctx context.Context, r *Relay, n int, due time.Time) error {
	if err := s.Timer.Schedule(ctx, Tick{Kind: TickAckTimeout, TenantID: r.TenantID, RelayID: r.ID, Attempt: n, Due: due}); err != nil {
		return fmt.Errorf("arm timer of relay %s: %w", r.ID, err)
	}
	return nil
}

// leaseCode reserves the smallest reply code not held by another of the
// operator's unexpired leases. A relay that already holds a code for the
// operator keeps it. Racing callers that lose a code move on to the next free
// one instead of listing again. Codes are never released early: a lease whose
// step was lost expires on its own, so a text that says "Reply 2 OK" is
// always answerable. Code 0 (no code) is returned when the store keeps
// refusing: a relay is never lost for want of a reply code.
func (s *Service) leaseCode(ctx context.Context, tenantID, operatorID, relayID string, now, expires time.Time) (int, error) {
	leases, err := s.Store.Codes(ctx, tenantID, operatorID)
	if err != nil {
		return 0, fmt.Errorf("list reply codes: %w", err)
	}
	used := map[int]bool{}
	for _, l := range leases {
		if !l.ExpiresAt.After(now) {
			continue
		}
		if l.RelayID == relayID {
			return l.Code, nil
		}
		used[l.Code] = true
	}
	code := 0
	for range maxCodeTries {
		code++
		for used[code] {
			code++
		}
		err := s.Store.ClaimCode(ctx, CodeLease{TenantID: tenantID, OperatorID: operatorID, Code: code,
			RelayID: relayID, CreatedAt: now, ExpiresAt: expires})
		if err == nil {
			return code, nil
		}
		if !IsKind(err, Conflict) {
			return 0, fmt.Errorf("claim reply code: %w", err)
		}
	}
	s.log().WarnContext(ctx, "no reply code free; sending without one", "operator", operatorID, "relay", relayID)
	return 0, nil
}

// commit stores r conditionally on its version. A write whose answer was
// lost (applied, then reported as a conflict or an error) is recognised by
// its token on a re-read and counts as done. On success r is what is stored;
// a Conflict means somebody else wrote first: re-read and decide again.
func (s *Service) commit(ctx context.Context, r *Relay) error {
	token := s.newID()
	next := cloneRelay(*r)
	next.Token, next.UpdatedAt = token, s.now()
	err := s.Store.UpdateRelay(ctx, &next)
	if err == nil {
		*r = next
		return nil
	}
	if IsKind(err, NotFound) || IsKind(err, Invalid) {
		return err
	}
	fresh, gerr := s.Store.Relay(ctx, r.ID)
	if gerr == nil && fresh.Token == token {
		*r = fresh
		return nil
	}
	return err
}

// create stores a new relay: the atomic claim of its MessageSid. Like
// commit, a create whose answer was lost is recognised by its token.
func (s *Service) create(ctx context.Context, r *Relay) error {
	r.Token = s.newID()
	err := s.Store.CreateRelay(ctx, r)
	if err == nil {
		return nil
	}
	fresh, gerr := s.Store.Relay(ctx, r.ID)
	if gerr == nil && fresh.Token == r.Token {
		*r = fresh
		return nil
	}
	return err
}

// load reads a relay and checks it belongs to tenantID ("" means any tenant).
func (s *Service) load(ctx context.Context, tenantID, id string) (Relay, error) {
	r, err := s.Store.Relay(ctx, id)
	if err != nil {
		return r, err
	}
	if tenantID != "" && r.TenantID != tenantID {
		return Relay{}, Errorf(NotFound, "no relay %s", id)
	}
	return r, nil
}

// update re-reads the relay and applies decide until decide's change is
// stored or decide says there is nothing to do (returns false). Every
// Conflict means "re-read and decide again", never "someone else did it".
// It returns the relay as last read or stored.
func (s *Service) update(ctx context.Context, tenantID, relayID string, r *Relay, decide func(r *Relay) (bool, error)) (Relay, error) {
	var cur Relay
	if r != nil {
		cur = *r
	}
	for i := 0; ; i++ {
		if r == nil || i > 0 {
			fresh, err := s.load(ctx, tenantID, relayID)
			if err != nil {
				return fresh, err
			}
			cur = fresh
		}
		next := cloneRelay(cur)
		write, err := decide(&next)
		if err != nil || !write {
			return next, err
		}
		err = s.commit(ctx, &next)
		if err == nil {
			return next, nil
		}
		if !IsKind(err, Conflict) || i >= updateRetries {
			return cur, err
		}
	}
}

// step moves r on by m: plan, prepare (code and timer), store, then send
// through the door. A Conflict is returned untouched so callers re-read and
// decide again. It returns the relay as stored and the new attempt (nil when
// the relay ended with nobody to text).
func (s *Service) step(ctx context.Context, t Tenant, r Relay, m move) (Relay, *Attempt, error) {
	next, a, err := s.plan(ctx, t, r, m)
	if err != nil {
		return r, nil, err
	}
	lease, err := s.prepare(ctx, &next, a)
	if err == nil {
		err = s.prepareWave(ctx, &next, a)
	}
	if err != nil {
		return r, nil, err
	}
	if err := s.save(ctx, &next, a, lease, func() error { return s.commit(ctx, &next) }); err != nil {
		return r, nil, fmt.Errorf("advance relay %s: %w", r.ID, err)
	}
	if a != nil && !a.Fallback && m.reason != r.Reason {
		s.count(ctx, MetricEscalated, t.ID)
	}
	if a == nil {
		s.exhausted(ctx, &next)
		s.flush(ctx, &next)
		return next, nil, nil
	}
	n := a.N
	next, err = s.deliverStep(ctx, next, n)
	return next, next.Attempt(n), err
}

// advance loads the relay's tenant and moves the relay by m, re-reading and
// deciding again on every Conflict: still is asked of each fresh copy
// whether the move still applies (the relay may have moved on by itself).
func (s *Service) advance(ctx context.Context, r Relay, m move, still func(r *Relay) error) (Relay, *Attempt, error) {
	t, err := s.dir().Tenant(ctx, r.TenantID)
	if err != nil {
		return r, nil, fmt.Errorf("load tenant %s: %w", r.TenantID, err)
	}
	for i := 0; ; i++ {
		if i > 0 {
			if r, err = s.load(ctx, r.TenantID, r.ID); err != nil {
				return r, nil, err
			}
		}
		if err := still(&r); err != nil {
			return r, nil, err
		}
		next, a, err := s.step(ctx, t, r, m)
		if err == nil || !IsKind(err, Conflict) || i >= updateRetries {
			return next, a, err
		}
	}
}

// errNothing tells advance's callers that a fresh copy needs no move.
var errNothing = Errorf(Conflict, "nothing to do")
