package relay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Threads: a customer's text while their latest relay is pending, or was
// acknowledged less than the tenant's conversation window ago, joins that
// relay as a follow-up instead of starting a new chain. A follow-up goes at
// once to the operator who holds or acknowledged the relay, with the same
// reply code, and is stored as a Note keyed by its inbound MessageSid before
// it is sent (the send path's invariants hold for notes as for every text):
// a retried webhook finds the note and sends nothing twice. When the relay
// fails over, the next operator's text carries the conversation so far.

// Defaults and bounds of the tenant's conversation options.
const (
	// DefaultConversationWindow is how long after an acknowledgement a
	// customer's text still joins the acknowledged relay.
	DefaultConversationWindow = 30 * time.Minute
	// MaxConversationWindow bounds a tenant's conversation window.
	MaxConversationWindow = 7 * 24 * time.Hour
	// DefaultPrefix starts every forward unless the tenant sets its own.
	// It is outside the GSM-7 alphabet: forwards are sent as UCS-2.
	DefaultPrefix = "📦"
	// maxPrefixChars bounds a tenant's prefix.
	maxPrefixChars = 10
	// helpWindow is how often a customer's HELP is answered at most.
	helpWindow = 24 * time.Hour
	// maxNotes bounds the notes one relay keeps (a DynamoDB item holds
	// 400 KB): a thread that long starts a new relay.
	maxNotes = 20
)

// Note kinds.
const (
	// NoteFollowUp is a customer's text that joined an open conversation.
	NoteFollowUp = "follow_up"
	// NoteOptedOut tells the operator that the customer texted STOP.
	NoteOptedOut = "customer_opted_out"
	// NoteOptedIn tells the operator that the customer texted START.
	NoteOptedIn = "customer_opted_in"
)

// Routing reasons and events of threads and keywords.
const (
	// ReasonFollowUp is the routing reason of a follow-up text.
	ReasonFollowUp = "follow_up"
	// ReasonOperatorOptedOut is why an operator who texted STOP is skipped.
	ReasonOperatorOptedOut = "operator_opted_out"
	// EventFollowUp is the audit event of a follow-up sent to the operator.
	EventFollowUp = "follow_up"
	// EventNotice is the audit event of a notice sent to the operator.
	EventNotice = "notice"
	// MetricOperatorOptedOut counts operators' STOPs: the office's alarm.
	MetricOperatorOptedOut = "OperatorsOptedOut"
	// MetricFollowUps counts follow-ups joined to an open relay.
	MetricFollowUps = "FollowUps"
)

// OutcomeFollowUp says an inbound text joined an open relay.
const OutcomeFollowUp Outcome = "follow_up"

// StatusJoined marks the small record a follow-up's MessageSid leaves
// under its own id once its note is stored (Relay.JoinedTo names the relay
// it joined), so that a redelivery after the customer's thread moved on
// (an SQS redrive hours later) is still recognised: never a relay of its own.
const StatusJoined Status = "joined"

// Note is a text to the operator holding a relay outside the chain's steps:
// a customer's follow-up or a notice. It is keyed by the inbound MessageSid
// that caused it, so a retried webhook sends it once.
type Note struct {
	InboundSid string `json:"inbound_sid"`
	Kind       string `json:"kind"`
	// Body is the customer's text (follow-ups).
	Body       string `json:"body,omitempty"`
	OperatorID string `json:"operator_id"`
	Name       string `json:"name,omitempty"`
	Phone      string `json:"phone"`
	Code       int    `json:"code,omitempty"`
	// Text is exactly what is sent, fixed with the intent so a resend is
	// looked up by the same body.
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	// Media are a follow-up's photos and files (media.go).
	Media []MediaItem `json:"media,omitempty"`
	Outbound
}

// ConversationFor returns the tenant's conversation window, defaulted.
func (t Tenant) ConversationFor() time.Duration {
	if t.ConversationWindow <= 0 {
		return DefaultConversationWindow
	}
	return min(t.ConversationWindow, MaxConversationWindow)
}

// ForwardPrefix returns the text that starts the tenant's forwards.
func (t Tenant) ForwardPrefix() string {
	if t.Prefix == nil {
		return DefaultPrefix
	}
	return strings.TrimSpace(*t.Prefix)
}

// Help returns the tenant's answer to a customer's HELP.
func (t Tenant) Help() string {
	if strings.TrimSpace(t.HelpText) != "" {
		return t.HelpText
	}
	return fmt.Sprintf("%s: your texts to this number reach our dispatch team. Reply STOP to opt out, START to opt back in.", t.Name)
}

// conversation returns the relay's conversation window, defaulted.
func (r *Relay) conversation() time.Duration {
	if r.Conversation <= 0 {
		return DefaultConversationWindow
	}
	return r.Conversation
}

// joinable reports whether a customer's text at now joins r: r waits for an
// acknowledgement, or was acknowledged less than its conversation window ago.
func (r *Relay) joinable(now time.Time) bool {
	if len(r.Notes) >= maxNotes {
		return false
	}
	switch r.Status {
	case StatusPending:
		return r.Current() != nil
	case StatusAcked:
		return now.Sub(r.AckedAt) < r.conversation()
	}
	return false
}

// holder returns the attempt whose operator holds r's conversation: the
// operator who acknowledged it, or the one it waits on; nil for nobody.
func (r *Relay) holder() *Attempt {
	if r.Status == StatusAcked {
		for i := len(r.Attempts) - 1; i >= 0; i-- {
			if a := &r.Attempts[i]; a.OperatorID == r.AckedBy && !a.Fallback {
				return a
			}
		}
	}
	if a := r.Current(); a != nil && !a.Fallback && a.OperatorID != "" {
		return a
	}
	return nil
}

func noteIndex(r Relay, sid string) int {
	for i := range r.Notes {
		if r.Notes[i].InboundSid == sid {
			return i
		}
	}
	return -1
}

// thread returns the customer's latest relay when the inbound text belongs
// to it: a follow-up (joinable now), or a retry of a follow-up it already
// took. ok is false when the text starts a relay of its own.
func (s *Service) thread(ctx context.Context, t Tenant, in Inbound) (Relay, bool, error) {
	id, err := s.Store.LatestRelay(ctx, t.ID, in.From)
	if err != nil {
		if IsKind(err, NotFound) {
			return Relay{}, false, nil
		}
		return Relay{}, false, fmt.Errorf("find thread: %w", err)
	}
	if id == in.MessageSid {
		return Relay{}, false, nil // a retry of the relay's own first text
	}
	r, err := s.load(ctx, t.ID, id)
	if err != nil {
		if IsKind(err, NotFound) {
			return Relay{}, false, nil // expired, or its claim never landed
		}
		return Relay{}, false, fmt.Errorf("read thread %s: %w", id, err)
	}
	if noteIndex(r, in.MessageSid) >= 0 {
		return r, true, nil
	}
	h := r.holder()
	if !r.joinable(in.ReceivedAt) || h == nil {
		return r, false, nil
	}
	// The holder must still be able to answer: an operator deleted,
	// deactivated or opted out since does not get the follow-up; the text
	// starts a relay of its own, routed as today.
	op, err := s.dir().Operator(ctx, t.ID, h.OperatorID)
	if err != nil {
		if IsKind(err, NotFound) {
			return r, false, nil
		}
		return r, false, fmt.Errorf("read holder of thread %s: %w", id, err)
	}
	if !op.Active || op.Phone != h.Phone {
		return r, false, nil
	}
	out, err := s.operatorOut(ctx, t.ID, op.Phone)
	if err != nil {
		return r, false, fmt.Errorf("read holder's opt-out: %w", err)
	}
	return r, !out, nil
}

// setThread points the customer's thread at r; a failure only means the
// customer's next text starts a relay of its own.
func (s *Service) setThread(ctx context.Context, r *Relay) {
	if err := s.Store.SetLatestRelay(ctx, r.TenantID, r.CustomerPhone, r.ID, r.ReceivedAt); err != nil {
		s.log().WarnContext(ctx, "thread pointer not stored", "relay", r.ID, "err", err)
	}
}

// errNotJoinable tells followUp's caller to start a relay instead.
var errNotJoinable = errors.New("relay no longer joinable")

// followUp joins in to the open relay r: a note to the holder, stored as an
// intent, then sent through the door. A retried webhook finds its note.
func (s *Service) followUp(ctx context.Context, t Tenant, in Inbound, r Relay, rt routing) (InboundResult, error) {
	res := InboundResult{TenantID: t.ID, RelayID: r.ID, Outcome: OutcomeFollowUp}
	if i := noteIndex(r, in.MessageSid); i >= 0 {
		return s.noteAgain(ctx, t, in, r, i, rt)
	}
	// A late redelivery of a text that started a relay, or joined an older
	// one, is not a follow-up of this one.
	switch prior, err := s.load(ctx, t.ID, in.MessageSid); {
	case err == nil && prior.Status == StatusJoined:
		if jr, err := s.load(ctx, t.ID, prior.JoinedTo); err == nil {
			if i := noteIndex(jr, in.MessageSid); i >= 0 {
				return s.noteAgain(ctx, t, in, jr, i, rt)
			}
		}
	case err == nil:
		return s.duplicate(ctx, t, in, rt)
	case !IsKind(err, NotFound):
		return res, fmt.Errorf("check message %s: %w", in.MessageSid, err)
	}
	media := s.saveMedia(ctx, t.ID, r.ID, in)
	_, err := s.addNote(ctx, t, r, in.MessageSid, func(x *Relay, h *Attempt) (Note, bool) {
		if !x.joinable(in.ReceivedAt) {
			return Note{}, false
		}
		return Note{Kind: NoteFollowUp, Body: in.Body, Text: followUpText(t, x, h, in.Body), Media: media}, true
	})
	if err == nil {
		parallel(
			func() error { s.dropSources(ctx, t, media); return nil },
			func() error { s.markJoined(ctx, t, in, r); return nil },
		)
	}
	if errors.Is(err, errNotJoinable) {
		return s.startRelay(ctx, t, in, rt)
	}
	if err != nil {
		return res, err
	}
	s.count(ctx, MetricFollowUps, t.ID)
	return res, nil
}

// markJoined leaves the follow-up's StatusJoined record; a failure only
// narrows what a much later redelivery is recognised by.
func (s *Service) markJoined(ctx context.Context, t Tenant, in Inbound, r Relay) {
	now := s.now()
	claim := Relay{ID: in.MessageSid, TenantID: t.ID, TenantNumber: in.To, CustomerID: r.CustomerID, CustomerName: r.CustomerName,
		CustomerPhone: in.From, Body: in.Body, Reason: ReasonFollowUp, Status: StatusJoined, JoinedTo: r.ID,
		ReceivedAt: in.ReceivedAt, UpdatedAt: now, ExpiresAt: now.Add(s.settings().relayTTL)}
	if err := s.create(ctx, &claim); err != nil && !IsKind(err, Conflict) {
		s.log().WarnContext(ctx, "follow-up record not stored", "message_sid", in.MessageSid, "err", err)
	}
}

// noteAgain answers a retried webhook whose note exists: a duplicate, and
// the note's send completed when its first try stopped half-way.
func (s *Service) noteAgain(ctx context.Context, t Tenant, in Inbound, r Relay, i int, rt routing) (InboundResult, error) {
	res := InboundResult{TenantID: t.ID, RelayID: r.ID, Outcome: OutcomeDuplicate}
	ev := AuditEvent{Event: EventDuplicate, TenantID: t.ID, MessageSid: in.MessageSid, RelayID: r.ID,
		CustomerID: rt.customer.ID, CustomerName: r.CustomerName, OriginalFrom: in.From, RoutingReason: ReasonDuplicate}
	s.record(ctx, ev)
	if s.resumable(&r.Notes[i].Outbound, s.now()) || len(r.Outbox) > 0 {
		if err := s.wake(ctx, r); err != nil {
			return res, err
		}
	}
	return res, nil
}

// addNote stores a note made by mk for r's holder, keyed by sid, and sends
// it. mk returns false when the note no longer applies (errNotJoinable).
func (s *Service) addNote(ctx context.Context, t Tenant, r Relay, sid string, mk func(x *Relay, h *Attempt) (Note, bool)) (Relay, error) {
	now := s.now()
	// The note's tick is armed before the write that stores it: if this
	// process dies, the tick resumes the send.
	if err := s.arm(ctx, &r, len(r.Attempts), now.Add(s.lease())); err != nil {
		return r, err
	}
	wrote := false // only the call whose write stored the note sends it
	stored, err := s.update(ctx, t.ID, r.ID, &r, func(x *Relay) (bool, error) {
		wrote = false
		if noteIndex(*x, sid) >= 0 {
			return false, nil
		}
		h := x.holder()
		if h == nil {
			return false, errNotJoinable
		}
		n, ok := mk(x, h)
		if !ok {
			return false, errNotJoinable
		}
		n.InboundSid, n.OperatorID, n.Name, n.Phone, n.Code = sid, h.OperatorID, h.Name, h.Phone, h.Code
		n.CreatedAt, n.Outbound = now, s.intent(now)
		x.Notes = append(x.Notes, n)
		wrote = true
		return true, nil
	})
	if err != nil {
		return stored, err
	}
	i := noteIndex(stored, sid)
	if !wrote || i < 0 || !stored.Notes[i].Owed() {
		return stored, nil // a concurrent duplicate stored it and sends it
	}
	return s.deliverNote(ctx, stored, i)
}

// deliverNote sends note i of r through the door and stores the outcome
// with its audit event.
func (s *Service) deliverNote(ctx context.Context, r Relay, i int) (Relay, error) {
	n := r.Notes[i]
	msg, media := s.withMedia(ctx, Message{From: r.TenantNumber, To: n.Phone, Body: n.Text}, n.Media, n.CreatedAt)
	sent, sendErr := s.door(ctx, msg, n.Outbound)
	now := s.now()
	if sendErr != nil {
		s.count(ctx, MetricSendError, r.TenantID)
		s.log().WarnContext(ctx, "note not sent", "relay", r.ID, "to", MaskPhone(n.Phone), "err", sendErr)
	}
	stored, err := s.update(ctx, r.TenantID, r.ID, &r, func(x *Relay) (bool, error) {
		xn := &x.Notes[i]
		if xn.Tries != n.Tries || !xn.Owed() {
			return false, nil
		}
		outcome(&xn.Outbound, sent, sendErr, now)
		xn.Segments, xn.Encoding = Segments(msg.Body)
		ev := s.event(x, Attempt{N: len(x.Attempts), OperatorID: xn.OperatorID, Reason: ReasonFollowUp})
		ev.Event, ev.MessageSid, ev.RelayID, ev.Timestamp = EventFollowUp, xn.InboundSid, x.ID, now
		if xn.Kind != NoteFollowUp {
			ev.Event, ev.RoutingReason = EventNotice, xn.Kind
		}
		ev.OutboundSid, ev.Segments, ev.Encoding, ev.Media = xn.MessageSid, xn.Segments, xn.Encoding, media
		if sendErr != nil {
			ev.Error, ev.ErrorCode = MessageOf(sendErr), CodeOf(sendErr)
		}
		x.Outbox = append(x.Outbox, ev)
		return true, nil
	})
	if err != nil {
		return r, fmt.Errorf("record note outcome of relay %s: %w", r.ID, notConflict(err))
	}
	if xn := stored.Notes[i]; xn.Delivery == DeliveryRetry {
		if err := s.arm(ctx, &stored, len(stored.Attempts), xn.RetryAt); err != nil {
			return stored, err
		}
	}
	s.flush(ctx, &stored)
	return stored, nil
}

// resumeNotes takes over notes whose sender is gone, as resumeReplies does
// for customer replies; wake calls it.
func (s *Service) resumeNotes(ctx context.Context, r *Relay) error {
	now := s.now()
	for i := range r.Notes {
		if !s.resumable(&r.Notes[i].Outbound, now) {
			if n := r.Notes[i]; n.Owed() {
				if err := s.arm(ctx, r, len(r.Attempts), maxTime(n.LeaseUntil, n.RetryAt)); err != nil {
					return err
				}
			}
			continue
		}
		stored, err := s.update(ctx, r.TenantID, r.ID, r, func(x *Relay) (bool, error) {
			if !s.resumable(&x.Notes[i].Outbound, now) {
				return false, errNothing
			}
			s.takeOver(&x.Notes[i].Outbound, now)
			return true, nil
		})
		if errors.Is(err, errNothing) {
			continue
		}
		if err != nil {
			return err
		}
		if stored, err = s.deliverNote(ctx, stored, i); err != nil {
			return err
		}
		*r = stored
	}
	return nil
}

// notesOwed reports whether a note still has to reach Twilio.
func (r *Relay) notesOwed() bool {
	for i := range r.Notes {
		if r.Notes[i].Owed() {
			return true
		}
	}
	return false
}

// followUpText is the text the holder h receives for a follow-up: marked as
// one, with the relay's reply code.
func followUpText(t Tenant, r *Relay, h *Attempt, body string) string {
	head := headOf(r.Prefix, r.CustomerName+" (follow-up)")
	hint := ""
	switch {
	case r.Status == StatusPending:
		hint = ReplyHint(h.Code)
	case t.TwoWay && h.Code != 0:
		hint = fmt.Sprintf("Reply %d <message> to answer", h.Code)
	}
	text, _ := forwardWith(head, body, hint)
	return WithHint(text, hintFor(text, hint))
}

// noticeText tells the holder about a customer's STOP or START.
func noticeText(r *Relay, kind string) string {
	if kind == NoteOptedIn {
		return fmt.Sprintf("%s texted START: replies reach them again.", r.CustomerName)
	}
	return fmt.Sprintf("%s opted out of texts (STOP): replies will not reach them until they text START.", r.CustomerName)
}

// conversationBody is the text of attempt a of r when customer follow-ups
// came before it: the conversation so far, newest texts first, as many as
// fit in one message. Only follow-ups stored before the attempt count, so
// the body of an attempt never changes between its tries.
func (r *Relay) conversationBody(a Attempt, hint string) (string, bool) {
	texts := []string{r.Body}
	for _, n := range r.Notes {
		if n.Kind == NoteFollowUp && n.CreatedAt.Before(a.CreatedAt) {
			texts = append(texts, n.Body)
		}
	}
	if len(texts) == 1 {
		return "", false
	}
	head := headOf(r.Prefix, fmt.Sprintf("%s (%d texts, newest first)", r.CustomerName, len(texts)))
	room := MaxBodyChars - utf16Len(head) - 1
	if hint != "" {
		room -= 1 + utf16Len(hint)
	}
	var lines []string
	for i := len(texts) - 1; i >= 0; i-- {
		line := strings.TrimSpace(texts[i])
		more := fmt.Sprintf("(+%d earlier)", i)
		need := utf16Len(line) + 1
		if i > 0 {
			need += utf16Len(more) + 1 // keep room to say what was left out
		}
		if need > room {
			if len(lines) == 0 {
				line = truncateUTF16(line, max(room-utf16Len(more)-2, 1)) + "…"
				lines = append(lines, line)
				i--
			}
			if i >= 0 {
				lines = append(lines, fmt.Sprintf("(+%d earlier)", i+1))
			}
			break
		}
		lines = append(lines, line)
		room -= utf16Len(line) + 1
	}
	return head + "\n" + strings.Join(lines, "\n"), true
}

// headOf is the start of a forward: the prefix, if any, and a name.
func headOf(prefix, name string) string {
	if prefix == "" {
		return name + ":"
	}
	return prefix + " " + name + ":"
}
