package relay

import (
	"context"
	"time"
)

// auditRetry is when a failed direct audit write is tried again by the timer.
const auditRetry = 5 * time.Second

// flush writes r's outbox, the audit events stored with the state changes
// they record, to the audit log and reports how many it wrote. Events keep
// their ids, so writing one twice (after a crash, or by two processes)
// stores it once; events this process already wrote are skipped. Written
// events leave r's in-memory outbox, so the next write of r drops them;
// events left (a failed or cut-off write) are written again by the relay's
// next tick.
func (s *Service) flush(ctx context.Context, r *Relay) int {
	if len(r.Outbox) == 0 || s.Audit == nil {
		return 0
	}
	var todo []AuditEvent
	for _, e := range r.Outbox {
		if !s.wasWritten(e.ID) {
			todo = append(todo, e)
		}
	}
	fs := make([]func() error, len(todo))
	for i, e := range todo {
		fs[i] = func() error { return s.Audit.Record(ctx, e) }
	}
	var left []AuditEvent
	wrote := 0
	for i, err := range parallel(fs...) {
		e := todo[i]
		if err != nil {
			s.log().WarnContext(ctx, "audit write failed; kept in the relay's outbox", "event", e.Event,
				"message_sid", e.MessageSid, "tenant", e.TenantID, "err", err)
			left = append(left, e)
			continue
		}
		wrote++
		s.markWritten(e.ID)
	}
	r.Outbox = left
	return wrote
}

func (s *Service) wasWritten(id string) bool {
	s.writtenMu.Lock()
	defer s.writtenMu.Unlock()
	return s.written[id]
}

func (s *Service) markWritten(id string) {
	s.writtenMu.Lock()
	defer s.writtenMu.Unlock()
	if s.written == nil || len(s.written) >= maxWritten {
		s.written = map[string]bool{}
	}
	s.written[id] = true
}

// record writes an audit event that belongs to no relay state change (a
// rejected or duplicate text, an opt-out, a note). A failed write is kept
// durably in the timer and retried until stored.
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
	err := s.Audit.Record(ctx, e)
	if err == nil {
		return
	}
	s.log().WarnContext(ctx, "audit write failed; retrying from the timer", "event", e.Event,
		"message_sid", e.MessageSid, "tenant", e.TenantID, "err", err)
	tk := Tick{Kind: TickAudit, TenantID: e.TenantID, RelayID: e.MessageSid, Due: s.now().Add(auditRetry), Event: &e}
	if err := s.Timer.Schedule(ctx, tk); err != nil {
		s.log().ErrorContext(ctx, "audit event lost", "event", e.Event, "message_sid", e.MessageSid,
			"tenant", e.TenantID, "err", err)
	}
}

// retryAudit is the timer's retry of a failed direct audit write; an error
// keeps the tick for another try.
func (s *Service) retryAudit(ctx context.Context, tk Tick) error {
	if tk.Event == nil || s.Audit == nil {
		return nil
	}
	return s.Audit.Record(ctx, *tk.Event)
}
