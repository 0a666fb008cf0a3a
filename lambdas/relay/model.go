// Package relay is the domain of dispatch-relay: tenants and their people,
// routing a customer's text to the right operator, the life of a relay from
// the first forward to its acknowledgement or exhaustion, reply codes and the
// text operators see. It imports the standard library only; storage, Twilio,
// timers and audit sinks are ports implemented by adapter packages.
package relay

import (
	"time"
)

// DefaultAckTimeout is the acknowledgement window used when a tenant sets none.
const DefaultAckTimeout = 60 * time.Second

// MaxAckTimeout is the longest window a tenant may set: SQS caps a message's
// DelaySeconds at 900 (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html).
const MaxAckTimeout = 900 * time.Second

// Contact is a name and phone number outside the operator roster, such as a
// tenant's fallback contact.
type Contact struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Tenant is one dispatch business and its relay settings.
type Tenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Numbers are the business's published Twilio numbers in E.164 form.
	Numbers []string `json:"numbers"`
	// AckTimeout is the window after a forward before the next operator is texted.
	AckTimeout time.Duration `json:"ack_timeout"`
	// Chain is the ordered default chain of operator ids.
	Chain []string `json:"chain"`
	// Repeat is how many extra passes over the chain are made before giving up.
	Repeat int `json:"repeat"`
	// Fallback is texted once the chain is exhausted; nil means nobody.
	Fallback *Contact `json:"fallback,omitempty"`
	// TwoWay relays operators' free-text replies to the customer.
	TwoWay bool `json:"two_way"`
	// AutoReply, when set, is texted back to the customer on every new relay.
	AutoReply string `json:"auto_reply,omitempty"`
	// TrackLink appends the job's customer tracking link to AutoReply when
	// the relay has a job.
	TrackLink bool `json:"track_link,omitempty"`
	// Schedule is the time zone, quiet hours and chain strategy (schedule.go).
	Schedule
	// ConversationWindow is how long after an acknowledgement a customer's
	// next text joins the same relay (a follow-up); 0 means
	// DefaultConversationWindow. See thread.go.
	ConversationWindow time.Duration `json:"conversation_window,omitempty"`
	// HelpText answers a customer's HELP, at most once a day; "" means
	// DefaultHelpText.
	HelpText string `json:"help_text,omitempty"`
	// Prefix starts every forward; nil means DefaultPrefix, "" none. A
	// prefix in the GSM-7 alphabet keeps forwards in 160-character segments.
	Prefix *string `json:"prefix,omitempty"`
	// DeleteMedia says whether Twilio's copy of a stored photo is deleted;
	// nil means true (delete_twilio_media). See media.go.
	DeleteMedia *bool `json:"delete_twilio_media,omitempty"`
}

// Window returns the tenant's acknowledgement window, defaulted and capped.
func (t Tenant) Window() time.Duration {
	w := t.AckTimeout
	if w <= 0 {
		w = DefaultAckTimeout
	}
	if w > MaxAckTimeout {
		w = MaxAckTimeout
	}
	return w
}

// HasNumber reports whether number is one of the tenant's published numbers.
func (t Tenant) HasNumber(number string) bool {
	for _, n := range t.Numbers {
		if n == number {
			return true
		}
	}
	return false
}

// Operator is a person who receives relayed texts for a tenant.
type Operator struct {
	TenantID string `json:"tenant_id"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Active   bool   `json:"active"`
	// Availability is the operator's shifts, overrides, pause and on-call flag (availability.go).
	Availability
}

// Customer is someone who texts a tenant's published number.
type Customer struct {
	TenantID string `json:"tenant_id"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
}

// Job is a unit of work for a customer; its assigned operator answers first.
type Job struct {
	TenantID   string `json:"tenant_id"`
	ID         string `json:"id"`
	CustomerID string `json:"customer_id"`
	State      string `json:"state"`
	OperatorID string `json:"operator_id"`
}

// Active reports whether the job is still open; finished jobs no longer route.
func (j Job) Active() bool {
	switch j.State {
	case "completed", "complete", "done", "closed", "cancelled", "canceled", "archived":
		return false
	}
	return true
}

// Status is where a relay is in its life.
type Status string

// Relay statuses.
const (
	// StatusPending means a forward is out and nobody has acknowledged it yet.
	StatusPending Status = "pending_ack"
	// StatusAcked means an operator acknowledged the relay.
	StatusAcked Status = "acked"
	// StatusExhausted means every step of the chain passed without an acknowledgement.
	StatusExhausted Status = "exhausted"
)

// Open reports whether the relay still waits for an acknowledgement.
func (s Status) Open() bool { return s == StatusPending }

// Routing reasons recorded in audit events. The first three come from the
// original system and are kept verbatim.
const (
	ReasonPrimary        = "primary_operator_assigned_to_job"
	ReasonDefaultChain   = "default_chain"
	ReasonUnknown        = "unknown_customer"
	ReasonNoAck          = "no_ack_timeout"
	ReasonPass           = "operator_pass"
	ReasonManualForward  = "manual_forward"
	ReasonReassign       = "manual_reassign"
	ReasonDeliveryFailed = "delivery_failed"
	ReasonSendFailed     = "send_failed"
	ReasonRepeat         = "repeat_chain"
	ReasonExhausted      = "chain_exhausted"
	ReasonDuplicate      = "duplicate_message_sid"
	ReasonUnknownNumber  = "unknown_tenant_number"
	ReasonAcked          = "acknowledged"
)

// Delivery statuses of an outbound message, as Twilio reports them, plus
// the relay's own states before Twilio knows the message.
const (
	DeliveryDispatching = "dispatching" // an intent: written, being handed to Twilio under a lease
	DeliveryAccepted    = "accepted"
	DeliveryQueued      = "queued"
	DeliverySending     = "sending"
	DeliverySent        = "sent"
	DeliveryDelivered   = "delivered"
	DeliveryRead        = "read"
	DeliveryUndelivered = "undelivered"
	DeliveryFailed      = "failed"
	DeliverySkipped     = "skipped" // never sent: the send was refused for good
	DeliveryRetry       = "retry"   // a transient send failure waits for RetryAt
)

// Outbound is one outbound text the relay owes somebody: an intent written
// before the text is handed to Twilio, then Twilio's answer. Every send goes
// through one door (Service.deliver): whoever finds an Outbound without a
// MessageSid after a try started looks it up at Twilio before sending again.
type Outbound struct {
	// MessageSid is Twilio's sid of the outbound message, once accepted.
	MessageSid string `json:"message_sid,omitempty"`
	// Delivery is the outbound message's latest delivery status.
	Delivery  string `json:"delivery"`
	Error     string `json:"error,omitempty"`
	ErrorCode int    `json:"error_code,omitempty"`
	// Tries counts sends started; more than zero without a MessageSid means
	// the outcome of an earlier try may be unknown.
	Tries int `json:"tries,omitempty"`
	// FirstTryAt is when the first try started: the lookup's lower bound.
	FirstTryAt time.Time `json:"first_try_at,omitzero"`
	// LeaseUntil is when the sender that holds this intent gives up; nobody
	// else touches the intent before then.
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	// Holder is the process instance that holds the lease.
	Holder string `json:"holder,omitempty"`
	// RetryAt is when a transiently failed send is tried again.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// SentAt is when Twilio accepted the text: the acknowledgement window starts here.
	SentAt   time.Time `json:"sent_at,omitzero"`
	Segments int       `json:"segments,omitempty"`
	Encoding string    `json:"encoding,omitempty"`
}

// Accepted reports whether Twilio took the text.
func (o *Outbound) Accepted() bool { return o.MessageSid != "" }

// Owed reports whether the text still has to reach Twilio: neither accepted
// nor refused for good.
func (o *Outbound) Owed() bool { return o.MessageSid == "" && o.Delivery != DeliverySkipped }

// Attempt is one forward of a relay to one person.
type Attempt struct {
	// N is the 1-based attempt number.
	N          int    `json:"n"`
	OperatorID string `json:"operator_id"`
	Name       string `json:"name"`
	Phone      string `json:"phone"`
	// Reason says why this person was texted.
	Reason string `json:"reason"`
	// By is who caused the attempt: "" for routing, "timer", an operator id or an API subject.
	By string `json:"by,omitempty"`
	// Cause is the inbound MessageSid that caused the attempt (an operator's
	// PASS), so a retried webhook finds its effect instead of passing twice.
	Cause string `json:"cause,omitempty"`
	// Code is the reply code the operator can use for this relay; 0 for the fallback contact.
	Code int `json:"code,omitempty"`
	// Fallback marks the attempt that texted the tenant's fallback contact.
	Fallback bool `json:"fallback,omitempty"`
	// Wave is, in a broadcast relay, the N of the first attempt of the
	// group texted at once; 0 for an attempt texted alone.
	Wave      int       `json:"wave,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Outbound
}

// Due is when the attempt's acknowledgement window ends; zero until Twilio accepted the text.
func (a *Attempt) Due(window time.Duration) time.Time {
	if a.SentAt.IsZero() {
		return time.Time{}
	}
	return a.SentAt.Add(window)
}

// CustomerReply is an operator's two-way text to the customer, keyed by the
// operator's inbound MessageSid so a retried webhook sends it once.
type CustomerReply struct {
	InboundSid string `json:"inbound_sid"`
	OperatorID string `json:"operator_id"`
	// To, when set, is an operator of a broadcast wave told who took the
	// relay (broadcast.go); empty means the customer.
	To        string    `json:"to,omitempty"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	// Media are the operator's photos and files (media.go).
	Media []MediaItem `json:"media,omitempty"`
	Outbound
}

// Relay is one inbound customer text and its life. Its ID is the inbound
// MessageSid, which Twilio makes globally unique.
type Relay struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	// TenantNumber is the published number the customer texted; forwards go out from it.
	TenantNumber  string `json:"tenant_number"`
	CustomerID    string `json:"customer_id,omitempty"`
	CustomerName  string `json:"customer_name"`
	CustomerPhone string `json:"customer_phone"`
	JobID         string `json:"job_id,omitempty"`
	Body          string `json:"body"`
	// Media are the customer's photos and files, stored (media.go).
	Media []MediaItem `json:"media,omitempty"`
	// Text is the forward text operators receive, without the reply hint.
	Text string `json:"text"`
	// Prefix is the tenant's forward prefix when the relay started.
	Prefix    string `json:"prefix,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	// Reason is the routing reason of the first step.
	Reason string `json:"reason"`
	// Broadcast is how many operators each step texts at once (0 or 1: one).
	Broadcast int `json:"broadcast,omitempty"`
	// Urgent marks a text whose urgent keyword bypasses quiet hours.
	Urgent bool `json:"urgent,omitempty"`
	// HeldUntil is when a relay held for quiet hours starts (status held).
	HeldUntil time.Time `json:"held_until,omitzero"`
	// Chain is this relay's ordered operator ids, fixed when it was routed.
	Chain  []string `json:"chain"`
	Repeat int      `json:"repeat"`
	// Position is the index into the chain repeated Repeat+1 times of the
	// operator texted last; len(Chain)*(Repeat+1) means the fallback.
	Position   int           `json:"position"`
	AckTimeout time.Duration `json:"ack_timeout"`
	Status     Status        `json:"status"`
	Attempts   []Attempt     `json:"attempts"`
	// Replies are operators' two-way texts to the customer.
	Replies []CustomerReply `json:"replies,omitempty"`
	// Notes are texts to the operator holding the relay outside the chain's
	// steps: the customer's follow-ups and notices (the customer opted out).
	Notes []Note `json:"notes,omitempty"`
	// JoinedTo is set on a follow-up's record (StatusJoined): the relay it joined.
	JoinedTo string `json:"joined_to,omitempty"`
	// Conversation is the tenant's conversation window when the relay
	// started: follow-ups join it until this long after its acknowledgement.
	Conversation time.Duration `json:"conversation_window,omitempty"`
	ReceivedAt   time.Time     `json:"received_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	AckedAt      time.Time     `json:"acked_at,omitzero"`
	AckedBy      string        `json:"acked_by,omitempty"`
	// AckSid is the inbound MessageSid of the operator's acknowledgement, so
	// a retried webhook is answered as the first one was.
	AckSid string `json:"ack_sid,omitempty"`
	// Outbox holds audit events written with the state change they record
	// and not yet known to be stored by the audit log; see Service.flush.
	Outbox []AuditEvent `json:"outbox,omitempty"`
	// Token is a fresh random value per write, so a writer whose answer was
	// lost can tell its own write from somebody else's.
	Token string `json:"token,omitempty"`
	// Version increases by one with every stored change; updates are
	// conditional on it.
	Version int64 `json:"version"`
	// ExpiresAt is when the store may forget the relay (DynamoDB TTL).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Current returns the latest attempt, or nil before the first.
func (r *Relay) Current() *Attempt {
	if len(r.Attempts) == 0 {
		return nil
	}
	return &r.Attempts[len(r.Attempts)-1]
}

// Attempt returns attempt n (1-based), or nil.
func (r *Relay) Attempt(n int) *Attempt {
	if n < 1 || n > len(r.Attempts) {
		return nil
	}
	return &r.Attempts[n-1]
}

// CodeLease reserves a reply code for one operator's open relay. Codes are
// unique among an operator's unexpired leases.
type CodeLease struct {
	TenantID   string    `json:"tenant_id"`
	OperatorID string    `json:"operator_id"`
	Code       int       `json:"code"`
	RelayID    string    `json:"relay_id"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}
