package relay

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// operatorText handles a text from an operator: an ack, a pass, a help
// request or a two-way reply for a customer. Nothing is claimed up front:
// each effect records the MessageSid that caused it, so a retried webhook
// finds its effect and is answered as the first try was, and one whose
// first try failed half-way does it now.
func (s *Service) operatorText(ctx context.Context, t Tenant, op Operator, in Inbound) (InboundResult, error) {
	if res, ok, err := s.operatorKeyword(ctx, t, op, in); ok { // keywords.go: STOP/START
		return res, err
	}
	res := InboundResult{Outcome: OutcomeReply, TenantID: t.ID}
	reply, handled, err := s.operatorAway(ctx, t, op, in) // AWAY and BACK (away.go)
	if !handled && err == nil {
		reply, err = s.operatorReply(ctx, t, op, in, ParseReply(in.Body), &res)
	}
	if err != nil {
		return res, err
	}
	// A confirmation answers an ack or a pass that took effect: each needs a
	// relay of its own, so they cannot loop and are never capped. Other
	// answers (usage, "who has it") have a generous cap against a loop
	// with an auto-responder.
	if reply != "" && !res.acted && !s.take(ctx, "opreply:"+t.ID+":"+op.Phone, s.settings().operatorReplyLimit) {
		s.log().WarnContext(ctx, "automatic reply to operator suppressed", "to", MaskPhone(op.Phone))
		reply = ""
	}
	res.Reply = reply
	return res, nil
}

// openRelay is a relay an operator holds a reply code for.
type openRelay struct {
	lease CodeLease
	relay Relay
}

// holds reports whether op is the one the relay waits on now and was
// actually texted: only a text Twilio accepted can be acknowledged.
func (o openRelay) holds(opID string) bool {
	c := o.relay.waiting(opID) // the current attempt, or the current wave's (broadcast.go)
	return o.relay.Status == StatusPending && c != nil && c.Accepted()
}

// texting reports whether op is the one the relay waits on, with the text
// still on its way to Twilio: an explicit code proves they read it.
func (o openRelay) texting(opID string) bool {
	c := o.relay.waiting(opID)
	return o.relay.Status == StatusPending && c != nil && c.Owed() && c.Code == o.lease.Code
}

// relaysOf returns the relays op holds unexpired codes for, newest first.
func (s *Service) relaysOf(ctx context.Context, t Tenant, op Operator) ([]openRelay, error) {
	leases, err := s.Store.Codes(ctx, t.ID, op.ID)
	if err != nil {
		return nil, fmt.Errorf("list reply codes: %w", err)
	}
	now := s.now()
	var live []CodeLease
	for _, l := range leases {
		if l.ExpiresAt.After(now) {
			live = append(live, l)
		}
	}
	rs := make([]Relay, len(live))
	fs := make([]func() error, len(live))
	for i, l := range live {
		fs[i] = func() error { var err error; rs[i], err = s.Store.Relay(ctx, l.RelayID); return err }
	}
	errs := parallel(fs...)
	var out []openRelay
	for i, l := range live {
		if err := errs[i]; err != nil {
			if IsKind(err, NotFound) {
				continue // the lease of a step whose write was lost
			}
			return nil, err
		}
		if rs[i].TenantID != t.ID {
			continue
		}
		out = append(out, openRelay{lease: l, relay: rs[i]})
	}
	sort.Slice(out, func(i, j int) bool { return sentAt(out[i]).After(sentAt(out[j])) })
	return out, nil
}

// sentAt is when the relay's current text was accepted, or its lease made.
func sentAt(o openRelay) time.Time {
	if c := o.relay.Current(); c != nil && !c.SentAt.IsZero() {
		return c.SentAt
	}
	return o.lease.CreatedAt
}

// pick chooses the relay a reply without a code is about: the newest one the
// operator holds. Two held relays texted close together are ambiguous; the
// operator is asked for the code instead of the relay guessing.
func pick(open []openRelay, opID string) (*openRelay, string) {
	var held []*openRelay
	for i := range open {
		if open[i].holds(opID) {
			held = append(held, &open[i])
		}
	}
	if len(held) == 0 {
		return nil, ""
	}
	if len(held) > 1 && sentAt(*held[0]).Sub(sentAt(*held[1])) < ambiguity {
		var b strings.Builder
		fmt.Fprintf(&b, "You have %d open messages; reply with the code:", len(held))
		for _, o := range held {
			fmt.Fprintf(&b, " %d OK for %s;", o.lease.Code, o.relay.CustomerName)
		}
		return nil, strings.TrimSuffix(b.String(), ";") + "."
	}
	return held[0], ""
}

func (s *Service) operatorReply(ctx context.Context, t Tenant, op Operator, in Inbound, rp Reply, res *InboundResult) (string, error) {
	if rp.Action == ReplyHelp {
		return UsageText, nil
	}
	if rp.Action == ReplyText && !t.TwoWay {
		return UsageText, nil
	}
	open, err := s.relaysOf(ctx, t, op)
	if err != nil {
		return "", err
	}
	// A retried webhook: find the effect of its first try.
	for i := range open {
		if done, answer := s.effectOf(ctx, t, open[i].relay, in.MessageSid); done {
			res.RelayID, res.acted = open[i].relay.ID, true
			return answer, nil
		}
	}
	var target *openRelay
	if rp.Code != 0 {
		for i := range open {
			if open[i].lease.Code == rp.Code {
				target = &open[i]
				break
			}
		}
		if target == nil {
			if rp.Action != ReplyText {
				return fmt.Sprintf("No open message with code %d. %s", rp.Code, UsageText), nil
			}
			// "10 minutes away" is text, not code 10.
			rp = Reply{Action: ReplyText, Text: strings.TrimSpace(fmt.Sprintf("%d %s", rp.Code, rp.Text))}
		}
	}
	if target == nil && rp.Action == ReplyText {
		for i := range open {
			r := open[i].relay
			if open[i].holds(op.ID) || (r.Status == StatusAcked && r.AckedBy == op.ID) {
				target = &open[i]
				break
			}
		}
	}
	if target == nil && rp.Action != ReplyText {
		var ask string
		if target, ask = pick(open, op.ID); ask != "" {
			return ask, nil
		}
	}
	if target == nil && len(open) > 0 {
		target = &open[0]
	}
	if target == nil {
		return "You have no open messages. " + UsageText, nil
	}
	r := target.relay
	res.RelayID = r.ID
	actor := Actor{OperatorID: op.ID, Name: op.Name}
	mine := target.holds(op.ID) || (rp.Code != 0 && target.texting(op.ID))
	switch rp.Action {
	case ReplyAck:
		if !mine {
			return s.whoHasIt(ctx, t, r), nil
		}
		got, err := s.ack(ctx, r, actor, in.MessageSid, func(x *Relay) bool {
			return openRelay{lease: target.lease, relay: *x}.holds(op.ID) ||
				(rp.Code != 0 && openRelay{lease: target.lease, relay: *x}.texting(op.ID))
		})
		if err != nil {
			if IsKind(err, Conflict) {
				return s.whoHasIt(ctx, t, got), nil
			}
			return "", err
		}
		res.acted = true
		return fmt.Sprintf("Confirmed: %s is yours.", got.CustomerName), nil
	case ReplyPass:
		if !mine {
			return s.whoHasIt(ctx, t, r), nil
		}
		n := len(r.Attempts)
		got, next, err := s.advance(ctx, r, move{reason: ReasonPass, actor: actor.String(), cause: in.MessageSid}, stillAt(n))
		if err != nil {
			if IsKind(err, Conflict) {
				return s.whoHasIt(ctx, t, got), nil
			}
			return "", err
		}
		res.acted = true
		return passed(next), nil
	}
	// Two-way text: relayed to the customer from the business number. An
	// opt-out word is never relayed (keywords.go).
	if out, ok := OptKeyword(rp.Text); ok && out {
		return "Not sent. To stop getting relayed texts, text STOP on its own.", nil
	}
	if !(target.holds(op.ID) || (r.Status == StatusAcked && r.AckedBy == op.ID)) {
		return s.whoHasIt(ctx, t, r), nil
	}
	return s.relayToCustomer(ctx, op, r, in, rp.Text)
}

// passed is the answer to an operator's PASS.
func passed(next *Attempt) string {
	switch {
	case next == nil || next.OperatorID == "":
		return "Passed. Nobody else is on the chain."
	case next.Fallback:
		return fmt.Sprintf("Passed. Nobody else is on the chain; %s was told.", next.Name)
	}
	return fmt.Sprintf("Passed to %s.", next.Name)
}

// effectOf reports whether the inbound text sid already acted on r, and the
// answer its first try gave.
func (s *Service) effectOf(ctx context.Context, t Tenant, r Relay, sid string) (bool, string) {
	if r.AckSid == sid {
		return true, fmt.Sprintf("Confirmed: %s is yours.", r.CustomerName)
	}
	for i := range r.Attempts {
		if r.Attempts[i].Cause == sid {
			return true, passed(&r.Attempts[i])
		}
	}
	for i := range r.Replies {
		if rp := &r.Replies[i]; rp.InboundSid == sid {
			if rp.Owed() {
				if err := s.wake(ctx, r); err != nil {
					s.log().WarnContext(ctx, "resume reply", "relay", r.ID, "err", err)
				}
			}
			return true, ""
		}
	}
	return false, ""
}

// relayToCustomer sends an operator's two-way text to the customer: an
// intent in the relay first, then the door, like every outbound text.
func (s *Service) relayToCustomer(ctx context.Context, op Operator, r Relay, in Inbound, text string) (string, error) {
	out, err := s.Store.OptedOut(ctx, r.TenantID, r.CustomerPhone)
	if err != nil {
		return "", fmt.Errorf("check opt-out: %w", err)
	}
	if out {
		ev := s.event(&r, Attempt{N: len(r.Attempts), OperatorID: op.ID, Reason: "operator_reply"})
		ev.Event, ev.Actor, ev.Error = EventReply, op.ID, "customer opted out"
		s.record(ctx, ev)
		return fmt.Sprintf("Not sent: %s opted out of texts (STOP).", r.CustomerName), nil
	}
	media := s.saveMedia(ctx, r.TenantID, r.ID, in) // an operator's photo reaches the customer too
	now := s.now()
	actor := Actor{OperatorID: op.ID, Name: op.Name}
	wrote := false // only the call whose write stored the reply sends it
	stored, err := s.update(ctx, r.TenantID, r.ID, &r, func(x *Relay) (bool, error) {
		wrote = false
		for _, rp := range x.Replies {
			if rp.InboundSid == in.MessageSid {
				return false, nil
			}
		}
		x.Replies = append(x.Replies, CustomerReply{InboundSid: in.MessageSid, OperatorID: op.ID, Body: text, CreatedAt: now,
			Media: media, Outbound: s.intent(now)})
		if x.Status == StatusPending {
			// A reply to the customer is an acknowledgement by its sender.
			x.Status, x.AckedAt, x.AckedBy, x.AckSid = StatusAcked, now, actor.String(), ""
			x.Outbox = append(x.Outbox, s.ackEvent(x, actor))
		}
		wrote = true
		return true, nil
	})
	if err != nil {
		return "", err
	}
	if !wrote {
		return "", nil // a concurrent duplicate of this webhook stored the reply and sends it
	}
	if err := s.arm(ctx, &stored, len(stored.Attempts), now.Add(s.lease())); err != nil {
		s.log().WarnContext(ctx, "arm reply timer", "relay", r.ID, "err", err)
	}
	i := replyIndex(stored, in.MessageSid)
	stored, err = s.deliverReply(ctx, stored, i)
	if err != nil {
		return "", err
	}
	if rp := stored.Replies[i]; rp.Delivery == DeliverySkipped {
		if rp.ErrorCode == 21610 {
			return fmt.Sprintf("Not sent: %s opted out of texts (STOP).", r.CustomerName), nil
		}
		return fmt.Sprintf("Not sent to %s: %s.", r.CustomerName, rp.Error), nil
	}
	return "", nil
}

func replyIndex(r Relay, sid string) int {
	for i := range r.Replies {
		if r.Replies[i].InboundSid == sid {
			return i
		}
	}
	return -1
}

// deliverReply sends reply i of r through the door and stores the outcome
// with its audit event.
func (s *Service) deliverReply(ctx context.Context, r Relay, i int) (Relay, error) {
	rp := r.Replies[i]
	msg, media := s.withMedia(ctx, Message{From: r.TenantNumber, To: firstNonEmpty(rp.To, r.CustomerPhone), Body: rp.Body}, rp.Media, rp.CreatedAt)
	sent, sendErr := s.door(ctx, msg, rp.Outbound)
	now := s.now()
	stored, err := s.update(ctx, r.TenantID, r.ID, &r, func(x *Relay) (bool, error) {
		xr := &x.Replies[i]
		if xr.Tries != rp.Tries || !xr.Owed() {
			return false, nil
		}
		outcome(&xr.Outbound, sent, sendErr, now)
		xr.Segments, xr.Encoding = Segments(msg.Body)
		ev := s.event(x, Attempt{N: len(x.Attempts), OperatorID: rp.OperatorID, Reason: replyReason(rp)})
		ev.Event, ev.Actor, ev.Timestamp = EventReply, rp.OperatorID, now
		ev.OutboundSid, ev.Segments, ev.Encoding, ev.Media = xr.MessageSid, xr.Segments, xr.Encoding, media
		if sendErr != nil {
			ev.Error, ev.ErrorCode = MessageOf(sendErr), CodeOf(sendErr)
		}
		x.Outbox = append(x.Outbox, ev)
		return true, nil
	})
	if err != nil {
		return r, fmt.Errorf("record reply outcome of relay %s: %w", r.ID, notConflict(err))
	}
	if xr := stored.Replies[i]; xr.Delivery == DeliverySkipped && xr.ErrorCode == 21610 && xr.To == "" {
		s.twilioOptOut(ctx, stored, now)
	} else if xr.Delivery == DeliveryRetry {
		if err := s.arm(ctx, &stored, len(stored.Attempts), xr.RetryAt); err != nil {
			return stored, err
		}
	}
	s.flush(ctx, &stored)
	return stored, nil
}

// resumeReplies takes over customer replies whose sender is gone.
func (s *Service) resumeReplies(ctx context.Context, r *Relay) error {
	now := s.now()
	for i := range r.Replies {
		if !s.resumable(&r.Replies[i].Outbound, now) {
			if rp := r.Replies[i]; rp.Owed() {
				if err := s.arm(ctx, r, len(r.Attempts), maxTime(rp.LeaseUntil, rp.RetryAt)); err != nil {
					return err
				}
			}
			continue
		}
		stored, err := s.update(ctx, r.TenantID, r.ID, r, func(x *Relay) (bool, error) {
			if !s.resumable(&x.Replies[i].Outbound, now) {
				return false, errNothing
			}
			s.takeOver(&x.Replies[i].Outbound, now)
			return true, nil
		})
		if errors.Is(err, errNothing) {
			continue
		}
		if err != nil {
			return err
		}
		if stored, err = s.deliverReply(ctx, stored, i); err != nil {
			return err
		}
		*r = stored
	}
	return nil
}

// whoHasIt tells an operator where a relay they answered stands.
func (s *Service) whoHasIt(ctx context.Context, t Tenant, r Relay) string {
	name := func(id string) string {
		if op, err := s.dir().Operator(ctx, t.ID, id); err == nil && op.Name != "" {
			return op.Name
		}
		return id
	}
	switch {
	case r.Status == StatusAcked && r.Broadcast > 1:
		// A broadcast: somebody else of the wave answered first.
		return fmt.Sprintf("%s was already taken by %s.", r.CustomerName, name(r.AckedBy))
	case r.Status == StatusAcked:
		return fmt.Sprintf("%s is already confirmed by %s.", r.CustomerName, name(r.AckedBy))
	case r.Status == StatusExhausted:
		return fmt.Sprintf("%s went unanswered and was sent to the fallback contact.", r.CustomerName)
	}
	if c := r.Current(); c != nil {
		return fmt.Sprintf("%s was handed to %s.", r.CustomerName, name(c.OperatorID))
	}
	return UsageText
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
