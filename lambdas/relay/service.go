package relay

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Defaults of the Service's tunables.
const (
	// DefaultPace is the minimum gap between two relay texts from one tenant
	// number to one phone, a carrier-protection measure.
	DefaultPace = time.Second
	// DefaultRelayTTL is how long relays and claims are kept in the store.
	DefaultRelayTTL = 30 * 24 * time.Hour
	// DefaultLeaseGrace is how long a reply code outlives the longest life of
	// its relay (every window of every pass). Codes outlive the relay's
	// acknowledgement on purpose: a late "2 OK" is answered with who has the
	// relay, and the acknowledging operator keeps talking to the customer
	// with "2 <text>"; after that the code is free for the next relay.
	DefaultLeaseGrace = time.Hour
	// DefaultAutoReplyLimit automatic replies per DefaultAutoReplyWindow to
	// one number stop two robots from texting each other forever.
	DefaultAutoReplyLimit  = 5
	DefaultAutoReplyWindow = 10 * time.Minute
	// sendRetries is how many timer-driven retries a transiently failed send gets
	// before the relay moves on (the adapter retries within each try as well).
	sendRetries = 2
	// updateRetries bounds optimistic-concurrency loops on one relay.
	updateRetries = 8
	// maxCodeTries bounds the reply codes one forward tries to lease.
	maxCodeTries = 64
)

// Service runs relays: it routes inbound texts, forwards them, arms timers,
// takes acknowledgements and replies, and escalates. It holds no state of its
// own, so any number of instances may run against one Store.
type Service struct {
	Store   Store
	Sender  Sender
	Timer   Timer
	Audit   Auditor
	Metrics Metrics // optional
	Log     *slog.Logger

	// Now and NewID are injected so tests control time and ids.
	Now   func() time.Time
	NewID func() string
	// CallbackURL returns the StatusCallback URL of an attempt; nil or "" means none.
	CallbackURL func(tenantID, relayID string, attempt int) string

	Pace     time.Duration
	RelayTTL time.Duration
	// LeaseGrace overrides DefaultLeaseGrace.
	LeaseGrace      time.Duration
	AutoReplyLimit  int
	AutoReplyWindow time.Duration
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	// Event ids only need to be unique, not secret: 96 random bits.
	return fmt.Sprintf("%016x%08x", rand.Uint64(), rand.Uint32())
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

func (s *Service) count(ctx context.Context, name, tenantID string) {
	if s.Metrics != nil {
		s.Metrics.Count(ctx, name, tenantID, 1)
	}
}

// record writes an audit event; a failed write is logged, never allowed to
// undo or block the relay it describes.
func (s *Service) record(ctx context.Context, e AuditEvent) {
	if e.ID == "" {
		e.ID = s.newID()
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = s.now()
	}
	if s.Audit == nil {
		return
	}
	if err := s.Audit.Record(ctx, e); err != nil {
		s.log().ErrorContext(ctx, "audit write failed", "event", e.Event, "message_sid", e.MessageSid,
			"tenant", e.TenantID, "err", err)
	}
}

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
}

// HandleInbound routes one inbound text: a duplicate MessageSid is noted and
// dropped, an operator's text is a reply (ack, pass, help or two-way text), a
// customer's STOP/START is recorded, anything else from anyone else starts a
// relay. Errors carry a Kind; NotFound means no tenant publishes in.To.
func (s *Service) HandleInbound(ctx context.Context, in Inbound) (InboundResult, error) {
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = s.now()
	}
	if err := in.Validate(); err != nil {
		s.record(ctx, AuditEvent{Event: EventRejected, MessageSid: in.MessageSid, OriginalFrom: in.From,
			RoutingReason: "invalid_request", Error: MessageOf(err)})
		return InboundResult{}, err
	}
	tenant, err := s.Store.TenantByNumber(ctx, in.To)
	if err != nil {
		if IsKind(err, NotFound) {
			s.record(ctx, AuditEvent{Event: EventRejected, MessageSid: in.MessageSid, OriginalFrom: in.From,
				RoutingReason: ReasonUnknownNumber, Error: "no tenant publishes " + in.To})
			return InboundResult{}, &Error{Kind: NotFound, Msg: "no tenant publishes number " + in.To, Err: err}
		}
		return InboundResult{}, fmt.Errorf("find tenant for %s: %w", MaskPhone(in.To), err)
	}
	res := InboundResult{TenantID: tenant.ID, RelayID: in.MessageSid}
	if op, err := s.Store.OperatorByPhone(ctx, tenant.ID, in.From); err == nil {
		return s.operatorText(ctx, tenant, op, in)
	} else if !IsKind(err, NotFound) {
		return res, fmt.Errorf("find operator: %w", err)
	}
	if out, ok := OptKeyword(in.Body); ok {
		return s.optKeyword(ctx, tenant, in, out)
	}
	return s.startRelay(ctx, tenant, in)
}

func (s *Service) optKeyword(ctx context.Context, t Tenant, in Inbound, out bool) (InboundResult, error) {
	res := InboundResult{TenantID: t.ID, RelayID: in.MessageSid, Outcome: OutcomeOptIn}
	if out {
		res.Outcome = OutcomeOptOut
	}
	if err := s.claimInbound(ctx, in); err != nil {
		if IsKind(err, Conflict) {
			res.Outcome = OutcomeDuplicate
			return res, nil
		}
		return res, err
	}
	if err := s.Store.SetOptOut(ctx, t.ID, in.From, out, s.now()); err != nil {
		return res, fmt.Errorf("record opt-out: %w", err)
	}
	reason := "customer_opted_in"
	if out {
		reason = "customer_opted_out"
	}
	c, _ := s.Store.CustomerByPhone(ctx, t.ID, in.From)
	s.record(ctx, AuditEvent{Event: EventOptOut, TenantID: t.ID, MessageSid: in.MessageSid,
		CustomerID: c.ID, CustomerName: displayName(c, in.From), OriginalFrom: in.From, RoutingReason: reason})
	return res, nil
}

func (s *Service) claimInbound(ctx context.Context, in Inbound) error {
	now := s.now()
	return s.Store.Claim(ctx, "inbound:"+in.MessageSid, now, now.Add(orDefault(s.RelayTTL, DefaultRelayTTL)))
}

func displayName(c Customer, phone string) string {
	if c.ID != "" && strings.TrimSpace(c.Name) != "" {
		return c.Name
	}
	return MaskPhone(phone)
}

// route picks the relay's chain: the operator assigned to the customer's
// active job first, then the tenant's chain without repeats.
func (s *Service) route(ctx context.Context, t Tenant, from string) (Customer, Job, *Operator, []string, string, error) {
	c, err := s.Store.CustomerByPhone(ctx, t.ID, from)
	if err != nil {
		if IsKind(err, NotFound) {
			return Customer{}, Job{}, nil, dedupe(t.Chain), ReasonUnknown, nil
		}
		return c, Job{}, nil, nil, "", fmt.Errorf("find customer: %w", err)
	}
	jobs, err := s.Store.JobsForCustomer(ctx, t.ID, c.ID)
	if err != nil {
		return c, Job{}, nil, nil, "", fmt.Errorf("find jobs of %s: %w", c.ID, err)
	}
	for _, j := range jobs {
		if !j.Active() || j.OperatorID == "" {
			continue
		}
		op, err := s.Store.Operator(ctx, t.ID, j.OperatorID)
		if err != nil || !op.Active {
			continue // an unassignable job falls through to the chain
		}
		return c, j, &op, dedupe(append([]string{j.OperatorID}, t.Chain...)), ReasonPrimary, nil
	}
	return c, Job{}, nil, dedupe(t.Chain), ReasonDefaultChain, nil
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

func (s *Service) startRelay(ctx context.Context, t Tenant, in Inbound) (InboundResult, error) {
	res := InboundResult{TenantID: t.ID, RelayID: in.MessageSid, Outcome: OutcomeRelayed}
	c, job, first, chain, reason, err := s.route(ctx, t, in.From)
	if err != nil {
		return res, err
	}
	text, truncated := ForwardText(displayName(c, in.From), in.Body, ReplyHint(999999))
	now := s.now()
	r := Relay{
		ID: in.MessageSid, TenantID: t.ID, TenantNumber: in.To,
		CustomerID: c.ID, CustomerName: displayName(c, in.From), CustomerPhone: in.From, JobID: job.ID,
		Body: in.Body, Text: text, Truncated: truncated, Reason: reason,
		Chain: chain, Repeat: max(t.Repeat, 0), Position: -1, AckTimeout: t.Window(),
		Status: StatusPending, ReceivedAt: in.ReceivedAt, UpdatedAt: now,
		ExpiresAt: now.Add(orDefault(s.RelayTTL, DefaultRelayTTL)),
	}
	// The safety net is armed first: if this process dies anywhere after the
	// claim, this tick finds the relay and starts or resumes its first step.
	if err := s.Timer.Schedule(ctx, Tick{Kind: TickAckTimeout, TenantID: t.ID, RelayID: r.ID, Attempt: 1,
		Due: now.Add(r.AckTimeout)}); err != nil {
		return res, fmt.Errorf("arm ack timer: %w", err)
	}
	// The create is the atomic claim of the MessageSid: a Twilio retry or a
	// concurrent duplicate loses here, before it reserved a code or a slot,
	// and nothing is sent twice.
	if err := s.Store.CreateRelay(ctx, &r); err != nil {
		if IsKind(err, Conflict) {
			res.Outcome = OutcomeDuplicate
			s.log().InfoContext(ctx, "duplicate inbound message", "message_sid", in.MessageSid, "tenant", t.ID)
			s.record(ctx, AuditEvent{Event: EventDuplicate, TenantID: t.ID, MessageSid: in.MessageSid,
				CustomerID: c.ID, CustomerName: r.CustomerName, OriginalFrom: in.From, RoutingReason: ReasonDuplicate})
			return res, nil
		}
		return res, fmt.Errorf("claim message %s: %w", in.MessageSid, err)
	}
	s.count(ctx, MetricRelayed, t.ID)
	// The job's operator, already read by routing, is not read again.
	if _, err := s.step(ctx, t, &r, reason, "", "", true, first); err != nil {
		return res, err
	}
	if t.AutoReply != "" {
		// Capped like every automatic reply, so an auto-responder on the
		// customer's side and ours cannot keep texting each other.
		ok, err := s.Store.Take(ctx, "autoreply:"+t.ID+":"+in.From, orDefault(s.AutoReplyLimit, DefaultAutoReplyLimit),
			orDefault(s.AutoReplyWindow, DefaultAutoReplyWindow), s.now())
		if err == nil && ok {
			res.Reply = t.AutoReply
		}
	}
	return res, nil
}

// step is a planned transition: the attempt appended (nil when the relay
// ends with nobody to text) and what was armed for it.
type step struct {
	attempt *Attempt
	paced   bool
}

// plan appends the next attempt to r in memory, arms its timers and reserves
// its reply code. It does not store r: the caller's conditional write decides
// whether the step happens. target names an operator to skip the chain.
func (s *Service) plan(ctx context.Context, t Tenant, r *Relay, reason, target, actor string, armed bool, known *Operator) (step, error) {
	now := s.now()
	r.UpdatedAt = now
	var a *Attempt
	if target != "" {
		op, err := s.Store.Operator(ctx, t.ID, target)
		if err != nil {
			return step{}, fmt.Errorf("find operator %s: %w", target, err)
		}
		if !op.Active {
			return step{}, Errorf(Invalid, "operator %s is not active", target)
		}
		a = &Attempt{OperatorID: op.ID, Name: op.Name, Phone: op.Phone, Reason: reason}
	} else {
		total := len(r.Chain) * (r.Repeat + 1)
		for p := r.Position + 1; p < total; p++ {
			id := r.Chain[p%len(r.Chain)]
			var op Operator
			var err error
			if known != nil && known.ID == id {
				op = *known
			} else {
				op, err = s.Store.Operator(ctx, t.ID, id)
			}
			if err != nil && !IsKind(err, NotFound) {
				return step{}, fmt.Errorf("find operator %s: %w", id, err)
			}
			if err != nil || !op.Active || r.refused(op.Phone) {
				continue
			}
			r.Position = p
			why := reason
			if p >= len(r.Chain) && p%len(r.Chain) == 0 && why == ReasonNoAck {
				why = ReasonRepeat
			}
			a = &Attempt{OperatorID: op.ID, Name: op.Name, Phone: op.Phone, Reason: why}
			break
		}
		if a == nil {
			r.Position = total
			r.Status = StatusExhausted
			if t.Fallback == nil || t.Fallback.Phone == "" || r.fallbackTexted() {
				return step{}, nil
			}
			a = &Attempt{OperatorID: "fallback", Name: t.Fallback.Name, Phone: t.Fallback.Phone,
				Reason: ReasonExhausted, Fallback: true}
		}
	}
	a.N = len(r.Attempts) + 1
	a.CreatedAt, a.By = now, actor
	a.Delivery = DeliveryDispatching
	if target != "" || r.Status != StatusExhausted {
		r.Status = StatusPending
		r.AckedAt, r.AckedBy = time.Time{}, ""
	}
	if !a.Fallback {
		life := r.AckTimeout * time.Duration(max(len(r.Chain), 1)*(r.Repeat+1))
		code, err := s.leaseCode(ctx, t.ID, a.OperatorID, r.ID, now, now.Add(life+orDefault(s.LeaseGrace, DefaultLeaseGrace)))
		if err != nil {
			return step{}, err
		}
		a.Code = code
	}
	st := step{attempt: a}
	// Pacing: a phone gets at most one relay text per Pace from one number.
	slot, err := s.Store.ReserveSlot(ctx, "pace:"+r.TenantNumber+":"+a.Phone, now, orDefault(s.Pace, DefaultPace))
	if err != nil {
		return step{}, fmt.Errorf("reserve send slot: %w", err)
	}
	due := now
	if slot.After(now) {
		a.Delivery, a.NotBefore, st.paced, due = DeliveryPaced, slot, true, slot
		if err := s.Timer.Schedule(ctx, Tick{Kind: TickSend, TenantID: t.ID, RelayID: r.ID, Attempt: a.N, Due: slot}); err != nil {
			return step{}, fmt.Errorf("arm send timer: %w", err)
		}
	}
	if !a.Fallback && !(armed && a.N == 1 && !st.paced) {
		// Armed before the write so that no stored step is ever without its timer;
		// a tick for a step that never got stored finds a different attempt and does nothing.
		if err := s.Timer.Schedule(ctx, Tick{Kind: TickAckTimeout, TenantID: t.ID, RelayID: r.ID,
			Attempt: a.N, Due: due.Add(r.AckTimeout)}); err != nil {
			return step{}, fmt.Errorf("arm ack timer: %w", err)
		}
	}
	r.Attempts = append(r.Attempts, *a)
	return st, nil
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

// releaseStep gives back the reply code of a step whose write lost.
func (s *Service) releaseStep(ctx context.Context, tenantID string, st step, relayID string) {
	if st.attempt != nil && st.attempt.Code != 0 {
		_ = s.Store.ReleaseCode(ctx, tenantID, st.attempt.OperatorID, st.attempt.Code, relayID)
	}
}

// leaseCode reserves the smallest reply code not held by another of the
// operator's unexpired leases. A relay that already holds a code for the
// operator keeps it. Racing callers that lose a code move on to the next free
// one instead of listing again, so a burst of relays to one operator settles
// in at most one try per racer. Code 0 (no code) is returned when the store
// keeps refusing: a relay is never lost for want of a reply code.
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

// execute carries out a stored step: it sends the attempt's text (unless it
// waits for its pacing slot), records the outcome and audits it. A send that
// is refused for good moves the relay on at once.
func (s *Service) execute(ctx context.Context, t Tenant, r *Relay, st step) error {
	if st.attempt == nil {
		s.finish(ctx, r, nil)
		return nil
	}
	if st.paced {
		s.log().InfoContext(ctx, "send paced", "relay", r.ID, "attempt", st.attempt.N, "not_before", st.attempt.NotBefore)
		return nil
	}
	return s.send(ctx, t, r, st.attempt.N)
}

// send sends attempt n, whose Delivery the caller has set to sending with a
// conditional write, so that only one sender exists per attempt.
func (s *Service) send(ctx context.Context, t Tenant, r *Relay, n int) error {
	a := *r.Attempt(n)
	body := s.attemptBody(r, a)
	segments, enc := Segments(body)
	msg := Message{From: r.TenantNumber, To: a.Phone, Body: body, ValidityPeriod: r.AckTimeout}
	if a.Fallback {
		msg.ValidityPeriod = 0
	}
	if s.CallbackURL != nil {
		msg.StatusCallback = s.CallbackURL(r.TenantID, r.ID, n)
	}
	sent, sendErr := s.Sender.Send(ctx, msg)
	now := s.now()
	err := s.updateAttempt(ctx, r, n, func(x *Attempt) bool {
		x.Segments, x.Encoding = segments, enc
		if sendErr != nil {
			x.Error, x.ErrorCode = MessageOf(sendErr), CodeOf(sendErr)
			if IsKind(sendErr, Transient) && x.Retries < sendRetries {
				x.Retries++
				x.Delivery = DeliveryRetry
				return true
			}
			x.Delivery = DeliverySkipped
			return true
		}
		x.MessageSid, x.SentAt = sent.Sid, now
		if x.Delivery == DeliveryDispatching || x.Delivery == DeliveryPaced || x.Delivery == DeliveryRetry {
			x.Delivery = firstNonEmpty(sent.Status, DeliveryQueued)
		}
		return true
	})
	if err != nil {
		s.log().ErrorContext(ctx, "record send outcome", "relay", r.ID, "attempt", n, "err", err)
	}
	a = *r.Attempt(n)
	ev := s.event(r, a)
	ev.Timestamp = now // when Twilio answered, not when the outcome was stored
	ev.Segments, ev.Encoding = segments, enc
	ev.LatencyMs = now.Sub(a.CreatedAt).Milliseconds()
	if n == 1 {
		ev.LatencyMs = now.Sub(r.ReceivedAt).Milliseconds()
	}
	if sendErr != nil {
		s.count(ctx, MetricSendError, r.TenantID)
		s.log().WarnContext(ctx, "send failed", "relay", r.ID, "attempt", n, "to", MaskPhone(a.Phone),
			"kind", KindOf(sendErr).String(), "code", CodeOf(sendErr), "err", sendErr)
		ev.Event, ev.Error, ev.ErrorCode = EventSendError, MessageOf(sendErr), CodeOf(sendErr)
		s.record(ctx, ev)
		if a.Delivery == DeliveryRetry {
			backoff := time.Duration(5<<(a.Retries-1)) * time.Second
			return s.Timer.Schedule(ctx, Tick{Kind: TickSend, TenantID: r.TenantID, RelayID: r.ID, Attempt: n, Due: now.Add(backoff)})
		}
		if a.Fallback {
			s.finish(ctx, r, &a)
			return nil
		}
		if r.Status != StatusPending || len(r.Attempts) != n {
			return nil
		}
		_, err := s.advance(ctx, t, r, ReasonSendFailed, "", "system")
		if IsKind(err, Conflict) {
			return nil
		}
		return err
	}
	ev.OutboundSid = sent.Sid
	switch {
	case a.Fallback:
		ev.Event = EventFallback
	case n == 1:
		ev.Event = EventRouted
	default:
		ev.Event = EventForwarded
	}
	s.record(ctx, ev)
	s.log().InfoContext(ctx, "forwarded", "relay", r.ID, "tenant", r.TenantID, "attempt", n,
		"operator", a.OperatorID, "to", MaskPhone(a.Phone), "reason", a.Reason, "segments", segments)
	if a.Fallback {
		s.finish(ctx, r, &a)
	}
	return nil
}

// finish audits a relay that ran out of people and releases its codes.
func (s *Service) finish(ctx context.Context, r *Relay, fallback *Attempt) {
	ev := s.event(r, Attempt{N: len(r.Attempts), Reason: ReasonExhausted})
	ev.Event = EventExhausted
	if fallback != nil {
		ev.RoutedToOperator = fallback.OperatorID
	}
	s.record(ctx, ev)
	s.count(ctx, MetricExhausted, r.TenantID)
	s.log().WarnContext(ctx, "relay exhausted", "relay", r.ID, "tenant", r.TenantID, "attempts", len(r.Attempts))
}

func (s *Service) attemptBody(r *Relay, a Attempt) string {
	if a.Fallback {
		return WithHint(r.Text, "Nobody confirmed this. Customer: "+r.CustomerPhone)
	}
	return WithHint(r.Text, ReplyHint(a.Code))
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
		Timestamp: s.now(), MessageSid: r.ID, CustomerID: r.CustomerID, CustomerName: r.CustomerName,
		OriginalFrom: r.CustomerPhone, RoutedToOperator: a.OperatorID, RoutingReason: a.Reason,
		Acknowledged: r.Status == StatusAcked, AckTimestamp: r.AckedAt,
		TenantID: r.TenantID, Attempt: a.N, Truncated: r.Truncated, OutboundSid: a.MessageSid, Actor: a.By,
	}
}

// updateAttempt applies change to attempt n of the freshest r and stores it,
// re-reading on conflicts. change returns false to write nothing.
func (s *Service) updateAttempt(ctx context.Context, r *Relay, n int, change func(*Attempt) bool) error {
	for i := 0; ; i++ {
		a := r.Attempt(n)
		if a == nil {
			return Errorf(NotFound, "relay %s has no attempt %d", r.ID, n)
		}
		if !change(a) {
			return nil
		}
		r.UpdatedAt = s.now()
		err := s.Store.UpdateRelay(ctx, r)
		if err == nil || !IsKind(err, Conflict) || i >= updateRetries {
			return err
		}
		fresh, gerr := s.Store.Relay(ctx, r.ID)
		if gerr != nil {
			return gerr
		}
		*r = fresh
	}
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

// advance moves a relay to its next step (or to target) with a conditional
// write on r's version and sends. It returns Conflict when r changed under it,
// so that of two racing escalations exactly one happens.
func (s *Service) advance(ctx context.Context, t Tenant, r *Relay, reason, target, actor string) (Attempt, error) {
	return s.step(ctx, t, r, reason, target, actor, false, nil)
}

// step is advance; armed says the first attempt's ack timer is already
// armed, and known is an operator the caller has read already (or nil).
func (s *Service) step(ctx context.Context, t Tenant, r *Relay, reason, target, actor string, armed bool, known *Operator) (Attempt, error) {
	before := *r
	before.Attempts = append([]Attempt(nil), r.Attempts...)
	st, err := s.plan(ctx, t, r, reason, target, actor, armed, known)
	if err != nil {
		*r = before
		return Attempt{}, err
	}
	if err := s.Store.UpdateRelay(ctx, r); err != nil {
		s.releaseStep(ctx, t.ID, st, r.ID)
		*r = before
		return Attempt{}, fmt.Errorf("advance relay %s: %w", r.ID, err)
	}
	if st.attempt != nil && !st.attempt.Fallback {
		s.count(ctx, MetricEscalated, t.ID)
	}
	if st.attempt == nil {
		s.finish(ctx, r, nil)
		return Attempt{}, nil
	}
	a := *st.attempt
	if err := s.execute(ctx, t, r, st); err != nil {
		return a, err
	}
	return *r.Attempt(a.N), nil
}

// Actor names who asked for an operation, for audit and replies.
type Actor struct {
	// OperatorID is set when an operator acted by SMS.
	OperatorID string
	// Name is a display name or an API subject.
	Name string
}

func (a Actor) String() string {
	if a.OperatorID != "" {
		return a.OperatorID
	}
	return a.Name
}

// Forward hands a relay to the next operator of its chain now, or to the
// named operator (a manual escalate or reassign). tenantID scopes the lookup;
// "" means any tenant. It is the operation behind POST /api/sms/forward and
// an operator's PASS.
func (s *Service) Forward(ctx context.Context, tenantID, relayID, operatorID string, by Actor) (Relay, error) {
	reason := ReasonManualForward
	if operatorID != "" {
		reason = ReasonReassign
	}
	if by.OperatorID != "" {
		reason = ReasonPass
	}
	step := -1
	for i := 0; ; i++ {
		r, err := s.load(ctx, tenantID, relayID)
		if err != nil {
			return r, err
		}
		// A retry after a lost write is only safe while the relay is still at
		// the step the caller saw; otherwise someone else already moved it.
		if step >= 0 && (len(r.Attempts) != step || r.Status != StatusPending) {
			return r, Errorf(Conflict, "relay %s moved on while it was being forwarded", relayID)
		}
		step = len(r.Attempts)
		t, err := s.Store.Tenant(ctx, r.TenantID)
		if err != nil {
			return r, fmt.Errorf("load tenant %s: %w", r.TenantID, err)
		}
		if operatorID == "" && r.Status == StatusExhausted {
			return r, Errorf(Conflict, "relay %s is exhausted; name an operator to reassign it", relayID)
		}
		if operatorID == "" && r.Status == StatusAcked {
			return r, Errorf(Conflict, "relay %s is already acknowledged by %s", relayID, r.AckedBy)
		}
		_, err = s.advance(ctx, t, &r, reason, operatorID, by.String())
		if err == nil || !IsKind(err, Conflict) || i >= updateRetries {
			return r, err
		}
	}
}

// Ack acknowledges a relay for by. tenantID scopes the lookup ("" means any
// tenant). An already acknowledged relay is a Conflict naming who has it.
func (s *Service) Ack(ctx context.Context, tenantID, relayID string, by Actor) (Relay, error) {
	for i := 0; ; i++ {
		r, err := s.load(ctx, tenantID, relayID)
		if err != nil {
			return r, err
		}
		if r.Status == StatusAcked {
			return r, Errorf(Conflict, "relay %s is already acknowledged by %s", relayID, r.AckedBy)
		}
		err = s.ack(ctx, &r, by)
		if err == nil || !IsKind(err, Conflict) || i >= updateRetries {
			return r, err
		}
	}
}

// ack marks r acknowledged with a conditional write and audits it.
func (s *Service) ack(ctx context.Context, r *Relay, by Actor) error {
	now := s.now()
	prev := *r
	r.Status, r.AckedAt, r.AckedBy, r.UpdatedAt = StatusAcked, now, by.String(), now
	if err := s.Store.UpdateRelay(ctx, r); err != nil {
		*r = prev
		return fmt.Errorf("ack relay %s: %w", r.ID, err)
	}
	s.count(ctx, MetricAcked, r.TenantID)
	a := Attempt{N: len(r.Attempts), OperatorID: by.String(), Reason: ReasonAcked}
	if c := r.Current(); c != nil {
		a.MessageSid = c.MessageSid
	}
	ev := s.event(r, a)
	ev.Event, ev.Actor = EventAcked, by.String()
	ev.LatencyMs = now.Sub(r.ReceivedAt).Milliseconds()
	s.record(ctx, ev)
	s.log().InfoContext(ctx, "acknowledged", "relay", r.ID, "tenant", r.TenantID, "by", by.String())
	return nil
}

// HandleTick runs a timer tick. Stale, early, late and duplicate ticks are
// harmless: the relay is re-read and only a tick for its current, unanswered
// attempt changes anything.
func (s *Service) HandleTick(ctx context.Context, tk Tick) error {
	r, err := s.load(ctx, tk.TenantID, tk.RelayID)
	if err != nil {
		if IsKind(err, NotFound) {
			s.log().WarnContext(ctx, "tick for unknown relay", "relay", tk.RelayID)
			return nil
		}
		return err
	}
	if len(r.Attempts) == 0 && r.Status == StatusPending && tk.Kind == TickAckTimeout {
		// The process that claimed the message died before its first step.
		t, err := s.Store.Tenant(ctx, r.TenantID)
		if err != nil {
			return fmt.Errorf("load tenant %s: %w", r.TenantID, err)
		}
		s.log().WarnContext(ctx, "starting an unstarted relay", "relay", r.ID)
		_, err = s.advance(ctx, t, &r, r.Reason, "", "timer")
		if IsKind(err, Conflict) {
			return nil
		}
		return err
	}
	a := r.Attempt(tk.Attempt)
	if a == nil || len(r.Attempts) != tk.Attempt || r.Status != StatusPending {
		if tk.Kind != TickSend || a == nil || r.Status != StatusExhausted || !a.Fallback {
			return nil // stale: the relay moved on
		}
	}
	t, err := s.Store.Tenant(ctx, r.TenantID)
	if err != nil {
		return fmt.Errorf("load tenant %s: %w", r.TenantID, err)
	}
	now := s.now()
	switch tk.Kind {
	case TickSend:
		if a.Delivery != DeliveryPaced && a.Delivery != DeliveryRetry {
			return nil
		}
		// Claim the send with a conditional write so duplicate ticks send once.
		a.Delivery = DeliveryDispatching
		r.UpdatedAt = now
		if err := s.Store.UpdateRelay(ctx, &r); err != nil {
			if IsKind(err, Conflict) {
				return nil
			}
			return err
		}
		return s.send(ctx, t, &r, tk.Attempt)
	case TickAckTimeout:
		start := a.CreatedAt
		if a.NotBefore.After(start) {
			start = a.NotBefore
		}
		due := start.Add(r.AckTimeout)
		if early := due.Sub(now); early > 500*time.Millisecond {
			return s.Timer.Schedule(ctx, Tick{Kind: TickAckTimeout, TenantID: r.TenantID, RelayID: r.ID, Attempt: tk.Attempt, Due: due})
		}
		if a.Delivery == DeliveryDispatching && a.MessageSid == "" && a.Retries < sendRetries {
			// The send was cut off (the process stopped mid-send): this
			// operator never got the text, so send it now and give them a
			// full window rather than skipping them.
			a.Retries++
			a.CreatedAt, r.UpdatedAt = now, now
			if err := s.Timer.Schedule(ctx, Tick{Kind: TickAckTimeout, TenantID: r.TenantID, RelayID: r.ID,
				Attempt: tk.Attempt, Due: now.Add(r.AckTimeout)}); err != nil {
				return fmt.Errorf("arm ack timer: %w", err)
			}
			if err := s.Store.UpdateRelay(ctx, &r); err != nil {
				if IsKind(err, Conflict) {
					return nil
				}
				return err
			}
			s.log().WarnContext(ctx, "resuming a cut-off send", "relay", r.ID, "attempt", tk.Attempt)
			return s.send(ctx, t, &r, tk.Attempt)
		}
		_, err := s.advance(ctx, t, &r, ReasonNoAck, "", "timer")
		if IsKind(err, Conflict) {
			return nil
		}
		return err
	}
	return Errorf(Invalid, "unknown tick kind %q", tk.Kind)
}

// DeliveryUpdate is a Twilio status callback for one attempt.
type DeliveryUpdate struct {
	TenantID   string
	RelayID    string
	Attempt    int
	MessageSid string
	Status     string
	ErrorCode  int
}

// deliveryRank orders statuses so that a late "sent" never overwrites
// "delivered"; final statuses share the top rank.
func deliveryRank(s string) int {
	switch s {
	case DeliveryPending, DeliveryPaced, DeliveryRetry, DeliveryDispatching, "":
		return 0
	case DeliveryAccepted, "scheduled":
		return 1
	case DeliveryQueued:
		return 2
	case DeliverySending:
		return 3
	case DeliverySent:
		return 4
	case DeliveryDelivered, DeliveryUndelivered, DeliveryFailed, DeliverySkipped, "canceled":
		return 5
	case DeliveryRead:
		return 6
	}
	return -1
}

// HandleDelivery records a delivery status; failed or undelivered for the
// current attempt of an open relay fails over at once.
func (s *Service) HandleDelivery(ctx context.Context, u DeliveryUpdate) error {
	if deliveryRank(u.Status) < 0 {
		return Errorf(Invalid, "unknown message status %q", u.Status)
	}
	r, err := s.load(ctx, u.TenantID, u.RelayID)
	if err != nil {
		return err
	}
	if u.Attempt == 0 {
		for _, a := range r.Attempts {
			if a.MessageSid != "" && a.MessageSid == u.MessageSid {
				u.Attempt = a.N
			}
		}
	}
	a := r.Attempt(u.Attempt)
	if a == nil || (a.MessageSid != "" && u.MessageSid != "" && a.MessageSid != u.MessageSid) {
		return Errorf(NotFound, "relay %s has no attempt for message %s", u.RelayID, u.MessageSid)
	}
	moved := false
	err = s.updateAttempt(ctx, &r, u.Attempt, func(x *Attempt) bool {
		if x.MessageSid == "" {
			x.MessageSid = u.MessageSid
		}
		if deliveryRank(u.Status) <= deliveryRank(x.Delivery) && x.Delivery != DeliveryRetry {
			moved = false
			return false
		}
		x.Delivery, moved = u.Status, true
		if u.ErrorCode != 0 {
			x.ErrorCode = u.ErrorCode
		}
		return true
	})
	if err != nil || !moved {
		return err
	}
	failed := u.Status == DeliveryFailed || u.Status == DeliveryUndelivered
	if !failed {
		return nil
	}
	a = r.Attempt(u.Attempt)
	ev := s.event(&r, *a)
	ev.Event, ev.RoutingReason, ev.ErrorCode, ev.Error = EventDelivery, ReasonDeliveryFailed, u.ErrorCode, "message "+u.Status
	s.record(ctx, ev)
	if r.Status != StatusPending || len(r.Attempts) != u.Attempt || a.Fallback {
		return nil
	}
	t, err := s.Store.Tenant(ctx, r.TenantID)
	if err != nil {
		return fmt.Errorf("load tenant %s: %w", r.TenantID, err)
	}
	_, err = s.advance(ctx, t, &r, ReasonDeliveryFailed, "", "twilio")
	if IsKind(err, Conflict) {
		return nil
	}
	return err
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
	ev.Event, ev.Note, ev.Actor, ev.ID = EventNote, note, by.String(), s.newID()
	if s.Audit == nil {
		return ev, Errorf(Internal, "no audit log configured")
	}
	if err := s.Audit.Record(ctx, ev); err != nil {
		return ev, fmt.Errorf("record note: %w", err)
	}
	return ev, nil
}

// operatorText handles a text from an operator: an ack, a pass, a help
// request or a two-way reply for a customer.
func (s *Service) operatorText(ctx context.Context, t Tenant, op Operator, in Inbound) (InboundResult, error) {
	res := InboundResult{Outcome: OutcomeReply, TenantID: t.ID}
	if err := s.claimInbound(ctx, in); err != nil {
		if IsKind(err, Conflict) {
			res.Outcome = OutcomeDuplicate
			return res, nil
		}
		return res, fmt.Errorf("claim reply %s: %w", in.MessageSid, err)
	}
	reply, err := s.operatorReply(ctx, t, op, ParseReply(in.Body), &res)
	if err != nil {
		return res, err
	}
	if reply != "" {
		ok, err := s.Store.Take(ctx, "autoreply:"+t.ID+":"+op.Phone, orDefault(s.AutoReplyLimit, DefaultAutoReplyLimit),
			orDefault(s.AutoReplyWindow, DefaultAutoReplyWindow), s.now())
		if err != nil || !ok {
			s.log().WarnContext(ctx, "automatic reply suppressed", "to", MaskPhone(op.Phone), "err", err)
			reply = ""
		}
	}
	res.Reply = reply
	return res, nil
}

// openRelay is a relay an operator holds a reply code for.
type openRelay struct {
	lease CodeLease
	relay Relay
}

// holds reports whether op is the one the relay currently waits on.
func (o openRelay) holds(opID string) bool {
	c := o.relay.Current()
	return o.relay.Status == StatusPending && c != nil && c.OperatorID == opID
}

// relaysOf returns the relays op holds unexpired codes for, newest first.
func (s *Service) relaysOf(ctx context.Context, t Tenant, op Operator) ([]openRelay, error) {
	leases, err := s.Store.Codes(ctx, t.ID, op.ID)
	if err != nil {
		return nil, fmt.Errorf("list reply codes: %w", err)
	}
	now := s.now()
	var out []openRelay
	for _, l := range leases {
		if !l.ExpiresAt.After(now) {
			continue
		}
		r, err := s.Store.Relay(ctx, l.RelayID)
		if err != nil {
			if IsKind(err, NotFound) {
				continue
			}
			return nil, err
		}
		if r.TenantID != t.ID {
			continue
		}
		out = append(out, openRelay{lease: l, relay: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lease.CreatedAt.After(out[j].lease.CreatedAt) })
	return out, nil
}

func (s *Service) operatorReply(ctx context.Context, t Tenant, op Operator, rp Reply, res *InboundResult) (string, error) {
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
	var target *openRelay
	if rp.Code != 0 {
		for i := range open {
			if open[i].lease.Code == rp.Code {
				target = &open[i]
				break
			}
		}
		if target == nil {
			if rp.Action == ReplyText {
				// "10 minutes away" is text, not code 10.
				rp = Reply{Action: ReplyText, Text: strings.TrimSpace(fmt.Sprintf("%d %s", rp.Code, rp.Text))}
			} else {
				return fmt.Sprintf("No open message with code %d. %s", rp.Code, UsageText), nil
			}
		}
	}
	if target == nil {
		for i := range open {
			if open[i].holds(op.ID) || (rp.Action == ReplyText && open[i].relay.Status == StatusAcked && open[i].relay.AckedBy == op.ID) {
				target = &open[i]
				break
			}
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
	switch rp.Action {
	case ReplyAck, ReplyPass:
		if !target.holds(op.ID) {
			return s.whoHasIt(ctx, t, r), nil
		}
		if rp.Action == ReplyAck {
			if err := s.ack(ctx, &r, actor); err != nil {
				if IsKind(err, Conflict) {
					fresh, _ := s.Store.Relay(ctx, r.ID)
					return s.whoHasIt(ctx, t, fresh), nil
				}
				return "", err
			}
			return fmt.Sprintf("Confirmed: %s is yours.", r.CustomerName), nil
		}
		next, err := s.advance(ctx, t, &r, ReasonPass, "", actor.String())
		if err != nil {
			if IsKind(err, Conflict) {
				fresh, _ := s.Store.Relay(ctx, r.ID)
				return s.whoHasIt(ctx, t, fresh), nil
			}
			return "", err
		}
		if next.Fallback {
			return fmt.Sprintf("Passed. Nobody else is on the chain; %s was told.", next.Name), nil
		}
		if next.OperatorID == "" {
			return "Passed. Nobody else is on the chain.", nil
		}
		return fmt.Sprintf("Passed to %s.", next.Name), nil
	}
	// Two-way text: relayed to the customer from the business number.
	mine := target.holds(op.ID) || (r.Status == StatusAcked && r.AckedBy == op.ID)
	if !mine {
		return s.whoHasIt(ctx, t, r), nil
	}
	return s.relayToCustomer(ctx, t, op, &r, rp.Text)
}

func (s *Service) relayToCustomer(ctx context.Context, t Tenant, op Operator, r *Relay, text string) (string, error) {
	out, err := s.Store.OptedOut(ctx, t.ID, r.CustomerPhone)
	if err != nil {
		return "", fmt.Errorf("check opt-out: %w", err)
	}
	ev := s.event(r, Attempt{N: len(r.Attempts), OperatorID: op.ID, Reason: "operator_reply"})
	ev.Event, ev.Actor = EventReply, op.ID
	if out {
		ev.Error = "customer opted out"
		s.record(ctx, ev)
		return fmt.Sprintf("Not sent: %s opted out of texts (STOP).", r.CustomerName), nil
	}
	sent, err := s.Sender.Send(ctx, Message{From: r.TenantNumber, To: r.CustomerPhone, Body: text})
	if err != nil {
		ev.Error, ev.ErrorCode = MessageOf(err), CodeOf(err)
		s.record(ctx, ev)
		if CodeOf(err) == 21610 {
			_ = s.Store.SetOptOut(ctx, t.ID, r.CustomerPhone, true, s.now())
			return fmt.Sprintf("Not sent: %s opted out of texts (STOP).", r.CustomerName), nil
		}
		return fmt.Sprintf("Not sent to %s: %s.", r.CustomerName, MessageOf(err)), nil
	}
	ev.OutboundSid = sent.Sid
	ev.Segments, ev.Encoding = Segments(text)
	if r.Status == StatusPending {
		if err := s.ack(ctx, r, Actor{OperatorID: op.ID, Name: op.Name}); err != nil && !IsKind(err, Conflict) {
			return "", err
		}
	}
	ev.Acknowledged, ev.AckTimestamp = r.Status == StatusAcked, r.AckedAt
	s.record(ctx, ev)
	return "", nil
}

// whoHasIt tells an operator where a relay they answered stands.
func (s *Service) whoHasIt(ctx context.Context, t Tenant, r Relay) string {
	name := func(id string) string {
		if op, err := s.Store.Operator(ctx, t.ID, id); err == nil && op.Name != "" {
			return op.Name
		}
		return id
	}
	switch r.Status {
	case StatusAcked:
		return fmt.Sprintf("%s is already confirmed by %s.", r.CustomerName, name(r.AckedBy))
	case StatusExhausted:
		return fmt.Sprintf("%s went unanswered and was sent to the fallback contact.", r.CustomerName)
	}
	if c := r.Current(); c != nil {
		return fmt.Sprintf("%s was handed to %s.", r.CustomerName, name(c.OperatorID))
	}
	return UsageText
}
