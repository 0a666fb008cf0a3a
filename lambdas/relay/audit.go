package relay

import (
	"encoding/json"
	"time"
)

// Audit event types.
const (
	EventRouted    = "routed"    // the first forward of a relay
	EventForwarded = "forwarded" // a later forward: escalation, pass, manual
	EventFallback  = "fallback"  // the fallback contact was texted
	EventExhausted = "exhausted" // the chain ended without an acknowledgement
	EventAcked     = "acked"
	EventDuplicate = "duplicate" // a repeated inbound MessageSid, not forwarded again
	EventRejected  = "rejected"  // an inbound text that could not be relayed
	EventSendError = "send_error"
	EventDelivery  = "delivery_failed"
	EventReply     = "reply"   // an operator's reply relayed to the customer
	EventOptOut    = "opt_out" // a customer's STOP or START
	EventNote      = "note"    // posted through POST /api/sms/audit
	// EventDirectoryChange is a change to a tenant's directory through the
	// Directory API or relayctl import: who, which entry, before and after.
	EventDirectoryChange = "directory_change"
)

// AuditEvent is one audited decision. The first nine fields are the original
// system's record, kept verbatim because maintenance.json readers depend on
// them; the rest are additions.
type AuditEvent struct {
	Timestamp        time.Time
	MessageSid       string
	CustomerID       string
	CustomerName     string
	OriginalFrom     string
	RoutedToOperator string
	RoutingReason    string
	Acknowledged     bool
	AckTimestamp     time.Time

	// ID is unique per event; adapters use it in object keys.
	ID          string
	TenantID    string
	Event       string
	Attempt     int
	Segments    int
	Encoding    string
	LatencyMs   int64
	OutboundSid string
	Truncated   bool
	Note        string
	Error       string
	ErrorCode   int
	Actor       string
	// RelayID names the relay an event belongs to when MessageSid is
	// another text's (a follow-up, a notice).
	RelayID string
	// Media lists a text's photos and files: types, sizes, keys, and why an
	// item went as a link or not at all.
	Media []MediaItem

	// Kind, EntityID, Before and After describe a directory_change: the
	// entry's kind (tenant, operator, customer, job), its id and its
	// document before and after the change (JSON null when created or
	// deleted).
	Kind     string
	EntityID string
	Before   json.RawMessage
	After    json.RawMessage
}

// auditJSON is the wire form. Timestamps are UTC to the second, as in the
// original records ("2024-01-15T14:23:45Z"); ack_timestamp is null until acked.
type auditJSON struct {
	Timestamp        string  `json:"timestamp"`
	MessageSid       string  `json:"message_sid"`
	CustomerID       string  `json:"customer_id"`
	CustomerName     string  `json:"customer_name"`
	OriginalFrom     string  `json:"original_from"`
	RoutedToOperator string  `json:"routed_to_operator"`
	RoutingReason    string  `json:"routing_reason"`
	Acknowledged     bool    `json:"acknowledged"`
	AckTimestamp     *string `json:"ack_timestamp"`

	ID          string      `json:"event_id"`
	TenantID    string      `json:"tenant_id"`
	Event       string      `json:"event"`
	Attempt     int         `json:"attempt"`
	Segments    int         `json:"segments"`
	Encoding    string      `json:"encoding,omitempty"`
	LatencyMs   int64       `json:"latency_ms"`
	OutboundSid string      `json:"outbound_sid,omitempty"`
	Truncated   bool        `json:"truncated,omitempty"`
	Note        string      `json:"note,omitempty"`
	Error       string      `json:"error,omitempty"`
	ErrorCode   int         `json:"error_code,omitempty"`
	Actor       string      `json:"actor,omitempty"`
	RelayID     string      `json:"relay_id,omitempty"`
	Media       []MediaItem `json:"media,omitempty"`

	Kind     string          `json:"kind,omitempty"`
	EntityID string          `json:"id,omitempty"`
	Before   json.RawMessage `json:"before,omitempty"`
	After    json.RawMessage `json:"after,omitempty"`
	// TimestampNano keeps the sub-second order the seed format drops.
	TimestampNano int64 `json:"timestamp_ns"`
}

const seedTime = "2006-01-02T15:04:05Z"

// MarshalJSON writes the seed record's fields and the additions.
func (e AuditEvent) MarshalJSON() ([]byte, error) {
	w := auditJSON{
		Timestamp: e.Timestamp.UTC().Format(seedTime), MessageSid: e.MessageSid,
		CustomerID: e.CustomerID, CustomerName: e.CustomerName, OriginalFrom: e.OriginalFrom,
		RoutedToOperator: e.RoutedToOperator, RoutingReason: e.RoutingReason,
		Acknowledged: e.Acknowledged,
		ID:           e.ID, TenantID: e.TenantID, Event: e.Event, Attempt: e.Attempt,
		Segments: e.Segments, Encoding: e.Encoding, LatencyMs: e.LatencyMs,
		OutboundSid: e.OutboundSid, Truncated: e.Truncated, Note: e.Note,
		Error: e.Error, ErrorCode: e.ErrorCode, Actor: e.Actor, RelayID: e.RelayID, Media: mediaAudit(e.Media),
		Kind: e.Kind, EntityID: e.EntityID, Before: e.Before, After: e.After,
		TimestampNano: e.Timestamp.UnixNano(),
	}
	if e.Event == EventDirectoryChange {
		w.Before, w.After = orNull(e.Before), orNull(e.After)
	}
	if !e.AckTimestamp.IsZero() {
		s := e.AckTimestamp.UTC().Format(seedTime)
		w.AckTimestamp = &s
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes and the original records.
func (e *AuditEvent) UnmarshalJSON(b []byte) error {
	var w auditJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	ts, err := parseAuditTime(w.Timestamp)
	if err != nil {
		return err
	}
	if w.TimestampNano != 0 {
		ts = time.Unix(0, w.TimestampNano).UTC()
	}
	*e = AuditEvent{
		Timestamp: ts, MessageSid: w.MessageSid, CustomerID: w.CustomerID,
		CustomerName: w.CustomerName, OriginalFrom: w.OriginalFrom,
		RoutedToOperator: w.RoutedToOperator, RoutingReason: w.RoutingReason,
		Acknowledged: w.Acknowledged,
		ID:           w.ID, TenantID: w.TenantID, Event: w.Event, Attempt: w.Attempt,
		Segments: w.Segments, Encoding: w.Encoding, LatencyMs: w.LatencyMs,
		OutboundSid: w.OutboundSid, Truncated: w.Truncated, Note: w.Note,
		Error: w.Error, ErrorCode: w.ErrorCode, Actor: w.Actor, RelayID: w.RelayID, Media: w.Media,
		Kind: w.Kind, EntityID: w.EntityID, Before: w.Before, After: w.After,
	}
	if w.AckTimestamp != nil && *w.AckTimestamp != "" {
		at, err := parseAuditTime(*w.AckTimestamp)
		if err != nil {
			return err
		}
		e.AckTimestamp = at
	}
	return nil
}

// orNull returns JSON null for an empty document.
func orNull(doc json.RawMessage) json.RawMessage {
	if len(doc) == 0 {
		return json.RawMessage("null")
	}
	return doc
}

func parseAuditTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, Wrap(Invalid, err, "bad audit timestamp")
	}
	return t.UTC(), nil
}

// Matches reports whether e passes q's filters (the tenant is not checked).
func (q AuditQuery) Matches(e AuditEvent) bool {
	if q.CustomerID != "" && e.CustomerID != q.CustomerID {
		return false
	}
	if q.Operator != "" && e.RoutedToOperator != q.Operator {
		return false
	}
	if q.MessageSid != "" && e.MessageSid != q.MessageSid && e.RelayID != q.MessageSid {
		return false
	}
	if q.Event != "" && e.Event != q.Event {
		return false
	}
	if !q.Since.IsZero() && e.Timestamp.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && !e.Timestamp.Before(q.Until) {
		return false
	}
	return true
}
