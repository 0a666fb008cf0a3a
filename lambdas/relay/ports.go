package relay

import (
	"context"
	"time"
)

// Directory answers who is who: tenants by their published numbers and the
// people of a tenant. Every lookup but Tenants and TenantByNumber is scoped to
// one tenant, so one tenant's data never answers for another's.
// A missing entity is an error of Kind NotFound.
type Directory interface {
	Tenant(ctx context.Context, id string) (Tenant, error)
	Tenants(ctx context.Context) ([]Tenant, error)
	TenantByNumber(ctx context.Context, number string) (Tenant, error)
	Operator(ctx context.Context, tenantID, id string) (Operator, error)
	OperatorByPhone(ctx context.Context, tenantID, phone string) (Operator, error)
	Customer(ctx context.Context, tenantID, id string) (Customer, error)
	CustomerByPhone(ctx context.Context, tenantID, phone string) (Customer, error)
	// JobsForCustomer returns the customer's jobs, any state, ordered by id.
	JobsForCustomer(ctx context.Context, tenantID, customerID string) ([]Job, error)
}

// Loader writes directory entries; the dev server's data file and the admin
// CLI use it. Put replaces an entry with the same key; an entry without its
// tenant or id is Invalid, and a tenant number another tenant publishes is a
// Conflict (routing by number must never depend on write order).
type Loader interface {
	PutTenant(ctx context.Context, t Tenant) error
	PutOperator(ctx context.Context, o Operator) error
	PutCustomer(ctx context.Context, c Customer) error
	PutJob(ctx context.Context, j Job) error
}

// Store is the relay's state: the directory plus relays, claims, reply-code
// leases, counters and opt-outs. Every state change is a single-item
// conditional write; a lost condition is an error of Kind Conflict.
type Store interface {
	Directory
	Loader

	// CreateRelay stores a new relay with Version 1; Conflict if r.ID exists.
	// It is the atomic claim of an inbound customer MessageSid.
	CreateRelay(ctx context.Context, r *Relay) error
	// Relay returns the relay with the given id (inbound MessageSid).
	Relay(ctx context.Context, id string) (Relay, error)
	// UpdateRelay stores r if the stored version equals r.Version, then
	// increments r.Version; Conflict otherwise, NotFound for an unknown relay.
	UpdateRelay(ctx context.Context, r *Relay) error

	// ClaimCode stores l unless an unexpired lease (ExpiresAt after l.CreatedAt)
	// already holds the same tenant, operator and code; Conflict then.
	ClaimCode(ctx context.Context, l CodeLease) error
	// Codes returns the operator's leases, expired ones included, any order.
	Codes(ctx context.Context, tenantID, operatorID string) ([]CodeLease, error)

	// Take counts one use of key in the fixed window containing now and
	// reports whether the count stayed within limit.
	Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, error)

	// SetOptOut records whether a phone opted out of a tenant's texts
	// (STOP/START); a change older than the stored one is ignored.
	SetOptOut(ctx context.Context, tenantID, phone string, optedOut bool, at time.Time) error
	// OptedOut reports whether the phone opted out of the tenant's texts.
	OptedOut(ctx context.Context, tenantID, phone string) (bool, error)

	// LatestRelay returns the id of the newest relay a phone started in a
	// tenant (the customer's thread); NotFound when there is none.
	LatestRelay(ctx context.Context, tenantID, phone string) (string, error)
	// SetLatestRelay points the phone's thread at relayID, started at at,
	// unless the stored pointer names a relay started later; repeating a
	// call is harmless.
	SetLatestRelay(ctx context.Context, tenantID, phone, relayID string, at time.Time) error

	// Ping checks that the store is reachable.
	Ping(ctx context.Context) error
}

// Message is one outbound SMS.
type Message struct {
	From string
	To   string
	Body string
	// StatusCallback is the URL Twilio posts delivery status changes to; may be empty.
	StatusCallback string
	// ValidityPeriod bounds how long Twilio may queue the message; 0 means Twilio's default.
	ValidityPeriod time.Duration
	// MediaURLs make the message an MMS: public URLs Twilio fetches.
	MediaURLs []string
}

// Sent is what the provider answered for an accepted message.
type Sent struct {
	Sid    string
	Status string
}

// Sender sends SMS. Errors carry a Kind: Transient (worth a later retry),
// Permanent (this destination refuses, skip it), Invalid or Internal, and the
// provider's error code through CodeOf.
type Sender interface {
	Send(ctx context.Context, m Message) (Sent, error)
	// Lookup finds a message with m's From, To and Body that the provider
	// accepted at or after since: the answer to "did an earlier try of this
	// send, whose outcome is unknown, reach the provider?".
	Lookup(ctx context.Context, m Message, since time.Time) (Sent, bool, error)
}

// TickKind says what a timer tick is for.
type TickKind string

// Tick kinds.
const (
	// TickAckTimeout fires when an attempt's acknowledgement window ends.
	TickAckTimeout TickKind = "ack_timeout"
	// TickSend is the kind earlier versions armed for paced and retried
	// sends; such ticks are handled like any other: the relay decides.
	TickSend TickKind = "send"
	// TickAudit retries an audit write that failed; Event holds the event.
	TickAudit TickKind = "audit"
)

// Tick is a timer event for one attempt of one relay. Consumers re-read the
// relay, so early, late, duplicate and stale ticks are harmless.
type Tick struct {
	Kind     TickKind  `json:"kind"`
	TenantID string    `json:"tenant_id"`
	RelayID  string    `json:"relay_id"`
	Attempt  int       `json:"attempt"`
	Due      time.Time `json:"due"`
	// Event is the audit event a TickAudit writes.
	Event *AuditEvent `json:"event,omitempty"`
}

// Timer delivers a Tick to the service at or shortly after tick.Due.
type Timer interface {
	Schedule(ctx context.Context, t Tick) error
}

// Auditor records audit events, one durable object per event.
type Auditor interface {
	Record(ctx context.Context, e AuditEvent) error
}

// AuditQuery selects audit events of one tenant. Zero fields do not filter.
type AuditQuery struct {
	TenantID   string
	CustomerID string
	Operator   string
	MessageSid string
	// Event selects one event type, e.g. directory_change.
	Event string
	Since time.Time
	Until time.Time
	// Limit caps the page size; 0 means 100.
	Limit int
	// Cursor continues a previous page.
	Cursor string
}

// AuditPage is one page of audit events in time order and the cursor of the
// next. A page may be empty and still carry a Next when the reader stopped at
// its scan budget; callers page until Next is empty.
type AuditPage struct {
	Records []AuditEvent `json:"records"`
	Next    string       `json:"next"`
}

// AuditReader pages through audit events.
type AuditReader interface {
	Query(ctx context.Context, q AuditQuery) (AuditPage, error)
}

// Metrics counts events an alarm can watch.
type Metrics interface {
	Count(ctx context.Context, name, tenantID string, n int)
}

// Metric names.
const (
	MetricRelayed   = "RelaysRouted"
	MetricEscalated = "RelaysEscalated"
	MetricAcked     = "RelaysAcked"
	MetricExhausted = "RelaysExhausted"
	MetricSendError = "SendErrors"
)

// WindowStart returns the start, in Unix nanoseconds, of the fixed window of
// the given length that contains now: the bucket Store.Take counts in.
func WindowStart(now time.Time, window time.Duration) int64 {
	n, w := now.UnixNano(), int64(window)
	m := n % w
	if m < 0 {
		m += w
	}
	return n - m
}
