package relay

import (
	"context"
	"fmt"
	"time"
)

// Broadcast chains (chain_strategy: broadcast): each step texts the next
// broadcast_size available operators of the chain at once, a wave. Every
// text of a wave is an intent of its own with its own reply code, sent
// through the door like any other; the first operator of the wave to answer
// OK wins, and the others are told who took it when they answer. When the
// window passes with nobody answering, the next wave goes out.

// DefaultBroadcastSize is how many operators a broadcast step texts when
// the tenant sets no broadcast_size; MaxBroadcastSize is the most it may set.
const (
	DefaultBroadcastSize = 3
	MaxBroadcastSize     = 10
)

// broadcastSize is the wave size of a new relay of t: 0 unless t broadcasts.
func (t Tenant) broadcastSize() int {
	if t.ChainStrategy != StrategyBroadcast {
		return 0
	}
	if t.BroadcastSize <= 0 {
		return DefaultBroadcastSize
	}
	return min(t.BroadcastSize, MaxBroadcastSize)
}

// waveSize is how many operators r's next step texts.
func (r *Relay) waveSize() int { return max(r.Broadcast, 1) }

func inWave(wave []Attempt, opID string) bool {
	for _, a := range wave {
		if a.OperatorID == opID {
			return true
		}
	}
	return false
}

// wave returns the attempt numbers of r's current step: the current
// attempt's wave, or the current attempt alone.
func (r *Relay) wave() []int {
	c := r.Current()
	if c == nil {
		return nil
	}
	if c.Wave == 0 {
		return []int{c.N}
	}
	var ns []int
	for i := c.Wave; i <= c.N; i++ {
		ns = append(ns, i)
	}
	return ns
}

// stepStart is the number of the first attempt of r's current step: a
// tick for an earlier attempt is stale.
func (r *Relay) stepStart() int {
	if ns := r.wave(); len(ns) > 0 {
		return ns[0]
	}
	return len(r.Attempts)
}

// waiting returns the attempt of the current step that texted opID, or nil.
func (r *Relay) waiting(opID string) *Attempt {
	for _, n := range r.wave() {
		if a := r.Attempt(n); a.OperatorID == opID && !a.Fallback {
			return a
		}
	}
	return nil
}

// prepareWave leases reply codes for the attempts of a's wave before a
// (a itself gets its code from prepare, with the step's write). A code
// leased for a step whose write is lost expires on its own.
func (s *Service) prepareWave(ctx context.Context, r *Relay, a *Attempt) error {
	if a == nil || a.Wave == 0 {
		return nil
	}
	life := a.CreatedAt.Add(s.codeLife(r))
	fs := make([]func() error, 0, a.N-a.Wave)
	for n := a.Wave; n < a.N; n++ {
		w := r.Attempt(n)
		fs = append(fs, func() error {
			code, err := s.leaseCode(ctx, r.TenantID, w.OperatorID, r.ID, w.CreatedAt, life)
			if err != nil {
				return fmt.Errorf("reply code for %s: %w", w.OperatorID, err)
			}
			w.Code = code
			return nil
		})
	}
	for _, err := range parallel(fs...) {
		if err != nil {
			return err
		}
	}
	return nil
}

// deliverStep sends the texts of r's step ending with attempt n through the
// door: attempt n alone, or every attempt of its wave at once.
func (s *Service) deliverStep(ctx context.Context, r Relay, n int) (Relay, error) {
	a := r.Attempt(n)
	if a == nil || a.Wave == 0 {
		return s.deliverAttempt(ctx, r, n)
	}
	fs := make([]func() error, 0, n-a.Wave+1)
	var last Relay
	for i := a.Wave; i <= n; i++ {
		fs = append(fs, func() error {
			got, err := s.deliverAttempt(ctx, r, i)
			if i == n {
				last = got
			}
			return err
		})
	}
	var first error
	for _, err := range parallel(fs...) {
		if err != nil && first == nil {
			first = err
		}
	}
	if fresh, err := s.load(ctx, r.TenantID, r.ID); err == nil {
		last = fresh
	}
	return last, first
}

// resumeWave takes over the owed texts of the current wave but its last
// attempt (wake resumes that one): a wave whose sender died is completed.
func (s *Service) resumeWave(ctx context.Context, r *Relay) error {
	c := r.Current()
	if c == nil || c.Wave == 0 || r.Status != StatusPending {
		return nil
	}
	now := s.now()
	for n := c.Wave; n < c.N; n++ {
		if !s.resumable(&r.Attempt(n).Outbound, now) {
			continue
		}
		if err := s.resume(ctx, *r, n); err != nil && err != errNothing {
			return err
		}
		fresh, err := s.load(ctx, r.TenantID, r.ID)
		if err != nil {
			return err
		}
		*r = fresh
	}
	return nil
}

// ReasonTaken is the audit reason of the text that tells an operator of a
// broadcast wave that another one took the relay.
const ReasonTaken = "broadcast_taken"

// replyReason is the audit reason of a reply's send.
func replyReason(rp CustomerReply) string {
	if rp.To != "" {
		return ReasonTaken
	}
	return "operator_reply"
}

// takenNotices adds to r, being acknowledged by `by`, a text for every other
// operator of the current wave whose text was sent: who took the relay. They
// are intents stored with the acknowledgement and sent through the door
// like an operator's reply to the customer (sendNotices).
func (s *Service) takenNotices(r *Relay, by Actor, now time.Time) {
	c := r.Current()
	if c == nil || c.Wave == 0 {
		return
	}
	who := by.Name
	if by.OperatorID == "" || who == "" {
		who = "the office"
	}
	for _, n := range r.wave() {
		a := r.Attempt(n)
		if a.OperatorID == by.OperatorID || !a.Accepted() {
			continue
		}
		r.Replies = append(r.Replies, CustomerReply{InboundSid: fmt.Sprintf("taken-%d", n), OperatorID: a.OperatorID,
			To: a.Phone, Body: fmt.Sprintf("%s was taken by %s. No need to answer.", r.CustomerName, who),
			CreatedAt: now, Outbound: s.intent(now)})
	}
}

// sendNotices sends r's owed wave notices, after arming the tick that
// resumes them if this process dies.
func (s *Service) sendNotices(ctx context.Context, r Relay) Relay {
	armed := false
	for i := range r.Replies {
		if r.Replies[i].To == "" || !r.Replies[i].Owed() || !s.held(&r.Replies[i].Outbound, s.now()) {
			continue
		}
		if !armed {
			if err := s.arm(ctx, &r, len(r.Attempts), r.Replies[i].LeaseUntil); err != nil {
				s.log().WarnContext(ctx, "arm notice timer", "relay", r.ID, "err", err)
			}
			armed = true
		}
		got, err := s.deliverReply(ctx, r, i)
		if err != nil {
			s.log().WarnContext(ctx, "wave notice not sent; the timer resumes it", "relay", r.ID, "err", err)
			continue
		}
		r = got
	}
	return r
}
