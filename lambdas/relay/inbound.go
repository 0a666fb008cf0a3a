package relay

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

var (
	e164Re = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	sidRe  = regexp.MustCompile(`^[A-Z]{2}[0-9A-Za-z]{8,64}$`)
)

// ValidPhone reports whether p is an E.164 number.
func ValidPhone(p string) bool { return e164Re.MatchString(p) }

// ValidSid reports whether s looks like a Twilio sid (two letters and an id).
func ValidSid(s string) bool { return sidRe.MatchString(s) }

// Inbound is one text Twilio received on a tenant number.
type Inbound struct {
	MessageSid string
	From       string
	To         string
	Body       string
	// Media are the text's photos and files (MediaUrl{N}, MediaContentType{N}).
	Media []MediaItem
	// ReceivedAt is when the webhook arrived; zero means now.
	ReceivedAt time.Time
}

// Validate reports every problem with the inbound fields at once.
func (in Inbound) Validate() error {
	var bad []string
	switch {
	case in.MessageSid == "":
		bad = append(bad, "MessageSid is missing")
	case !ValidSid(in.MessageSid):
		bad = append(bad, "MessageSid is malformed")
	}
	switch {
	case in.From == "":
		bad = append(bad, "From is missing")
	case !ValidPhone(in.From):
		bad = append(bad, "From is not an E.164 phone number")
	}
	switch {
	case in.To == "":
		bad = append(bad, "To is missing")
	case !ValidPhone(in.To):
		bad = append(bad, "To is not an E.164 phone number")
	}
	if len(bad) > 0 {
		return Errorf(Invalid, "%s", strings.Join(bad, "; "))
	}
	return nil
}

// Outcome says what became of an inbound text.
type Outcome string

// Inbound outcomes.
const (
	OutcomeRelayed   Outcome = "relayed"
	OutcomeDuplicate Outcome = "duplicate"
	OutcomeOptOut    Outcome = "opt_out"
	OutcomeOptIn     Outcome = "opt_in"
	OutcomeReply     Outcome = "operator_reply"
)

// InboundResult is the answer to an inbound text.
type InboundResult struct {
	Outcome  Outcome
	TenantID string
	RelayID  string
	// Reply, when set, is texted back to the sender in the webhook's TwiML.
	Reply string
	// acted says an operator's ack or pass took effect (its answer is a confirmation).
	acted bool
}

// HandleInbound routes one inbound text: an operator's text is a reply (ack,
// pass, help or two-way text), a customer's STOP/START is recorded, anything
// else from anyone else starts a relay. A text is done only when its effect
// is stored: a retried webhook whose first try failed half-way completes it,
// and one whose first try succeeded is answered as a duplicate. Errors carry
// a Kind; NotFound means no tenant publishes in.To.
func (s *Service) HandleInbound(ctx context.Context, in Inbound) (InboundResult, error) {
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = s.now()
	}
	if err := in.Validate(); err != nil {
		s.record(ctx, AuditEvent{Event: EventRejected, MessageSid: in.MessageSid, OriginalFrom: in.From,
			RoutingReason: "invalid_request", Error: MessageOf(err)})
		return InboundResult{}, err
	}
	tenant, err := s.dir().TenantByNumber(ctx, in.To)
	if err != nil {
		if IsKind(err, NotFound) {
			s.record(ctx, AuditEvent{Event: EventRejected, MessageSid: in.MessageSid, OriginalFrom: in.From,
				RoutingReason: ReasonUnknownNumber, Error: "no tenant publishes " + in.To})
			return InboundResult{}, &Error{Kind: NotFound, Msg: "no tenant publishes number " + in.To, Err: err}
		}
		return InboundResult{}, fmt.Errorf("find tenant for %s: %w", MaskPhone(in.To), err)
	}
	res := InboundResult{TenantID: tenant.ID, RelayID: in.MessageSid}
	// Who sent it and where a customer's text would go, read at once.
	var (
		op           Operator
		opErr, rtErr error
		rt           routing
		th           Relay
		thOK         bool
		thErr        error
	)
	parallel(
		func() error { op, opErr = s.dir().OperatorByPhone(ctx, tenant.ID, in.From); return nil },
		func() error { rt, rtErr = s.route(ctx, tenant, in.From); return nil },
		func() error { th, thOK, thErr = s.thread(ctx, tenant, in); return nil }, // thread.go
	)
	switch {
	case opErr == nil && (rtErr != nil || s.asOperator(ctx, tenant, op, rt)):
		return s.operatorText(ctx, tenant, op, in)
	case opErr != nil && !IsKind(opErr, NotFound):
		return res, fmt.Errorf("find operator: %w", opErr)
	}
	if res, ok, err := s.customerKeyword(ctx, tenant, in, rt); ok {
		return res, err
	}
	if rtErr != nil {
		return res, rtErr
	}
	help := s.helpReply(ctx, tenant, in) // keywords.go: answered, and still relayed
	if thErr != nil {
		return res, thErr
	}
	if thOK {
		res, err = s.followUp(ctx, tenant, in, th, rt)
		res.Reply = firstNonEmpty(help, res.Reply)
		return res, err
	}
	res, err = s.startRelay(ctx, tenant, in, rt)
	res.Reply = firstNonEmpty(help, res.Reply)
	return res, err
}

// optKeyword records a customer's STOP or START. Recording is idempotent,
// and the audit event's id comes from the MessageSid, so a retried webhook
// repeats both harmlessly.
func (s *Service) optKeyword(ctx context.Context, t Tenant, in Inbound, out bool, c Customer) (InboundResult, error) {
	res := InboundResult{TenantID: t.ID, RelayID: in.MessageSid, Outcome: OutcomeOptIn}
	reason := "customer_opted_in"
	if out {
		res.Outcome, reason = OutcomeOptOut, "customer_opted_out"
	}
	if err := s.Store.SetOptOut(ctx, t.ID, in.From, out, in.ReceivedAt); err != nil {
		return res, fmt.Errorf("record opt-out: %w", err)
	}
	s.record(ctx, AuditEvent{ID: "optout-" + in.MessageSid, Timestamp: in.ReceivedAt, Event: EventOptOut,
		TenantID: t.ID, MessageSid: in.MessageSid, CustomerID: c.ID, CustomerName: displayName(c, in.From),
		OriginalFrom: in.From, RoutingReason: reason})
	return res, nil
}

func displayName(c Customer, phone string) string {
	if c.ID != "" && strings.TrimSpace(c.Name) != "" {
		return c.Name
	}
	return MaskPhone(phone)
}

// routing is where a customer's text goes.
type routing struct {
	customer Customer
	job      Job
	first    *Operator // the job's operator, read by routing
	chain    []string
	reason   string
}

// route picks the relay's chain: the operator assigned to the customer's
// active job first, then the tenant's chain without repeats.
func (s *Service) route(ctx context.Context, t Tenant, from string) (routing, error) {
	c, err := s.dir().CustomerByPhone(ctx, t.ID, from)
	if err != nil {
		if IsKind(err, NotFound) {
			return routing{chain: dedupe(t.Chain), reason: ReasonUnknown}, nil
		}
		return routing{}, fmt.Errorf("find customer: %w", err)
	}
	jobs, err := s.dir().JobsForCustomer(ctx, t.ID, c.ID)
	if err != nil {
		return routing{customer: c}, fmt.Errorf("find jobs of %s: %w", c.ID, err)
	}
	for _, j := range jobs {
		if !j.Active() || j.OperatorID == "" {
			continue
		}
		op, err := s.dir().Operator(ctx, t.ID, j.OperatorID)
		if err != nil || !op.Active {
			continue // an unassignable job falls through to the chain
		}
		return routing{customer: c, job: j, first: &op, chain: dedupe(append([]string{j.OperatorID}, t.Chain...)),
			reason: ReasonPrimary}, nil
	}
	return routing{customer: c, chain: dedupe(t.Chain), reason: ReasonDefaultChain}, nil
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// startRelay stores the relay with its first step as one write, the atomic
// claim of the MessageSid, and sends the first text through the door.
func (s *Service) startRelay(ctx context.Context, t Tenant, in Inbound, rt routing) (InboundResult, error) {
	res := InboundResult{TenantID: t.ID, RelayID: in.MessageSid, Outcome: OutcomeRelayed}
	rt, err := s.turn(ctx, t, in.MessageSid, rt) // round robin (rotation.go)
	if err != nil {
		return res, err
	}
	c := rt.customer
	text, truncated := ForwardTextPrefix(t.ForwardPrefix(), displayName(c, in.From), in.Body, ReplyHint(999999))
	now := s.now()
	r := Relay{
		Media: s.saveMedia(ctx, t.ID, in.MessageSid, in), // media.go
		ID:    in.MessageSid, TenantID: t.ID, TenantNumber: in.To,
		CustomerID: c.ID, CustomerName: displayName(c, in.From), CustomerPhone: in.From, JobID: rt.job.ID,
		Body: in.Body, Text: text, Truncated: truncated, Reason: rt.reason,
		Chain: rt.chain, Repeat: max(t.Repeat, 0), Position: -1, AckTimeout: t.Window(), Broadcast: t.broadcastSize(),
		Status: StatusPending, ReceivedAt: in.ReceivedAt, UpdatedAt: now,
		Prefix: t.ForwardPrefix(), Conversation: t.ConversationFor(),
		ExpiresAt: now.Add(s.settings().relayTTL),
	}
	if held, hres, err := s.quietStart(ctx, t, in, rt, &r); held {
		return hres, err
	}
	next, a, err := s.plan(ctx, t, r, move{reason: rt.reason, known: rt.first})
	if err != nil {
		return res, err
	}
	lease, err := s.prepare(ctx, &next, a)
	if err == nil {
		err = s.prepareWave(ctx, &next, a)
	}
	if err != nil {
		return res, err
	}
	if a == nil {
		// Nobody to text and no fallback: a relay that is born exhausted
		// still needs a tick to write its audit event if this process dies.
		if err := s.arm(ctx, &next, 0, now.Add(s.lease())); err != nil {
			return res, err
		}
	}
	if err := s.save(ctx, &next, a, lease, func() error { return s.create(ctx, &next) }); err != nil {
		if IsKind(err, Conflict) {
			return s.duplicate(ctx, t, in, rt)
		}
		return res, fmt.Errorf("claim message %s: %w", in.MessageSid, err)
	}
	s.count(ctx, MetricRelayed, t.ID)
	s.dropSources(ctx, t, next.Media)
	var autoReply bool
	errs := parallel(
		func() error {
			s.setThread(ctx, &next) // thread.go: the customer's next texts join this relay
			return nil
		},
		func() error {
			var err error
			if a == nil {
				s.exhausted(ctx, &next)
				s.flush(ctx, &next)
				return nil
			}
			_, err = s.deliverStep(ctx, next, a.N)
			return err
		},
		func() error {
			// Capped like every automatic reply, so an auto-responder on the
			// customer's side and ours cannot keep texting each other.
			autoReply = (t.AutoReply != "" || unavailableReply(t, a) != "") && !s.customerOptedOut(ctx, t, in.From) &&
				s.take(ctx, "autoreply:"+t.ID+":"+in.From, s.settings().autoReplyLimit)
			return nil
		},
	)
	if errs[1] != nil {
		// The relay and its timer are stored: the timer finishes the send.
		s.log().WarnContext(ctx, "first send not finished; the timer resumes it", "relay", r.ID, "err", errs[1])
	}
	if autoReply {
		// Nobody available: the customer is told so instead of the usual reply.
		res.Reply = firstNonEmpty(unavailableReply(t, a), t.AutoReply)
	}
	return res, nil
}

// duplicate answers a MessageSid that is already claimed. When the first
// try stopped half-way (its sender gone, its send owed), this one completes
// it through the same door, so a retry never leaves a text unsent.
func (s *Service) duplicate(ctx context.Context, t Tenant, in Inbound, rt routing) (InboundResult, error) {
	res := InboundResult{TenantID: t.ID, RelayID: in.MessageSid, Outcome: OutcomeDuplicate}
	s.log().InfoContext(ctx, "duplicate inbound message", "message_sid", in.MessageSid, "tenant", t.ID)
	r, err := s.load(ctx, t.ID, in.MessageSid)
	if err != nil {
		return res, fmt.Errorf("read claimed message %s: %w", in.MessageSid, err)
	}
	s.record(ctx, AuditEvent{Event: EventDuplicate, TenantID: t.ID, MessageSid: in.MessageSid,
		CustomerID: rt.customer.ID, CustomerName: r.CustomerName, OriginalFrom: in.From, RoutingReason: ReasonDuplicate})
	s.setThread(ctx, &r)
	if a := r.Current(); (a != nil && s.resumable(&a.Outbound, s.now())) || len(r.Outbox) > 0 {
		if err := s.wake(ctx, r); err != nil {
			return res, err
		}
	}
	return res, nil
}
