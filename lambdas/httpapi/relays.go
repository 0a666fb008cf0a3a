package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// This file holds the dashboard's relay reads: GET /api/sms/relays (the
// live list) and GET /api/sms/relays/{id} (one relay and its timeline).

// relaySummary is a relay as the live list shows it: the stored relay plus
// what the screen derives from it (who holds it, its delivery state and when
// the next failover is due).
type relaySummary struct {
	relayView
	Holder         string    `json:"holder"`
	HolderName     string    `json:"holder_name"`
	Delivery       string    `json:"delivery"`
	NextFailoverAt time.Time `json:"next_failover_at,omitzero"`
	// FailoverInMs is the time left before the next failover when the
	// answer was written (0 when nothing waits), so a client with a skewed
	// clock can still count down.
	FailoverInMs int64 `json:"failover_in_ms"`
}

func summarize(r relay.Relay, now time.Time) relaySummary {
	s := relaySummary{relayView: view(r)}
	if c := r.Current(); c != nil {
		s.Holder, s.HolderName, s.Delivery = c.OperatorID, c.Name, c.Delivery
	}
	if r.Status == relay.StatusAcked && r.AckedBy != "" {
		s.Holder = r.AckedBy
	}
	if due := r.NextFailover(); !due.IsZero() {
		s.NextFailoverAt = due
		s.FailoverInMs = max(due.Sub(now).Milliseconds(), 0)
	}
	return s
}

// relayQuery reads and validates GET /api/sms/relays's parameters; every
// bad one is named at once.
func (h *handler) relayQuery(r *http.Request) (relay.RelayQuery, error) {
	v := r.URL.Query()
	q := relay.RelayQuery{Operator: v.Get("operator"), CustomerID: v.Get("customer_id"), Cursor: v.Get("cursor")}
	var bad []string
	if s := v.Get("status"); s != "" && s != "all" {
		st, err := relay.ParseStatus(s)
		if err != nil {
			bad = append(bad, relay.MessageOf(err))
		}
		q.Status = st
	}
	if q.Operator != "" && !operatorIDRe.MatchString(q.Operator) {
		bad = append(bad, "operator must be an operator id")
	}
	if q.CustomerID != "" && !operatorIDRe.MatchString(q.CustomerID) {
		bad = append(bad, "customer_id must be a customer id")
	}
	if s := v.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			bad = append(bad, "since must be an RFC 3339 time such as 2024-01-15T14:23:45Z")
		}
		q.Since = t
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > relay.MaxRelayPage {
			bad = append(bad, "limit must be an integer from 1 to "+strconv.Itoa(relay.MaxRelayPage))
		}
		q.Limit = n
	}
	if q.Cursor != "" {
		if _, err := relay.DecodeRelayCursor(q.Cursor); err != nil {
			bad = append(bad, "cursor is not one this listing returned")
		}
	}
	// A platform-wide caller without a tenant lists every tenant's relays.
	if param := firstNonEmpty(v.Get("tenant_id"), v.Get("tenant")); param != "" || principal(r).TenantID != "" {
		tenant, err := h.tenantOf(r, param, "")
		if err != nil {
			bad = append(bad, relay.MessageOf(err))
		}
		q.TenantID = tenant
	}
	if len(bad) > 0 {
		return q, relay.Errorf(relay.Invalid, "%s", strings.Join(bad, "; "))
	}
	return q, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func (h *handler) listRelays(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Relays == nil {
		writeError(w, http.StatusNotImplemented, "relay listing is not configured")
		return
	}
	q, err := h.relayQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.listAny(r.Context(), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := time.Now()
	out := struct {
		Relays []relaySummary `json:"relays"`
		Next   string         `json:"next"`
	}{Relays: make([]relaySummary, 0, len(page.Relays)), Next: page.Next}
	for _, rel := range page.Relays {
		out.Relays = append(out.Relays, summarize(rel, now))
	}
	writeJSON(w, http.StatusOK, out)
}

// listAny answers a listing for one tenant, or with no tenant (a
// platform-wide caller) for every tenant, merged newest first.
func (h *handler) listAny(ctx context.Context, q relay.RelayQuery) (relay.RelayPage, error) {
	if q.TenantID != "" {
		return h.cfg.Relays.ListRelays(ctx, q)
	}
	tenants, err := h.cfg.Store.Tenants(ctx)
	if err != nil {
		return relay.RelayPage{}, fmt.Errorf("list tenants: %w", err)
	}
	if q.Limit == 0 {
		q.Limit = relay.DefaultRelayPage
	}
	pages := make([]relay.RelayPage, 0, len(tenants))
	for _, t := range tenants {
		tq := q
		tq.TenantID = t.ID
		p, err := h.cfg.Relays.ListRelays(ctx, tq)
		if err != nil {
			return relay.RelayPage{}, err
		}
		pages = append(pages, p)
	}
	return relay.MergePages(pages, q.Limit)
}

// timelineEntry is one event in a relay's life as the dashboard shows it.
type timelineEntry struct {
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	Text     string    `json:"text"`
	Operator string    `json:"operator,omitempty"`
	Attempt  int       `json:"attempt,omitempty"`
	Actor    string    `json:"actor,omitempty"`
	Reason   string    `json:"reason,omitempty"`
}

// relayDetail is GET /api/sms/relays/{id}: the relay, its audit events, the
// replies and notes among them, the timeline built from both, and the
// customer's other recent relays (the thread).
type relayDetail struct {
	relaySummary
	Events   []relay.AuditEvent `json:"events"`
	Replies  []relay.AuditEvent `json:"replies"`
	Notes    []relay.AuditEvent `json:"notes"`
	Timeline []timelineEntry    `json:"timeline"`
	Thread   []relaySummary     `json:"thread"`
	// Operators are the relay's chain with names, for the Reassign choice.
	Operators []operatorRef `json:"operators"`
}

// operatorRef names an operator without the phone.
type operatorRef struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Active bool   `json:"active"`
}

// maxRelayEvents bounds the audit events read for one relay's detail.
const maxRelayEvents = 500

func (h *handler) getRelay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !relay.ValidSid(id) {
		h.fail(w, r, relay.Errorf(relay.Invalid, "relay id %q is not a Twilio message sid", id))
		return
	}
	p := principal(r)
	rel, err := h.cfg.Store.Relay(r.Context(), id)
	// Another tenant's relay is answered exactly like a missing one.
	if err == nil && p.TenantID != "" && rel.TenantID != p.TenantID {
		err = relay.Errorf(relay.NotFound, "relay not found")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := time.Now()
	d := relayDetail{relaySummary: summarize(rel, now), Events: []relay.AuditEvent{}, Replies: []relay.AuditEvent{},
		Notes: []relay.AuditEvent{}, Thread: []relaySummary{}, Operators: []operatorRef{}}
	for _, id := range rel.Chain {
		if op, err := h.cfg.Store.Operator(r.Context(), rel.TenantID, id); err == nil {
			d.Operators = append(d.Operators, operatorRef{ID: op.ID, Name: op.Name, Active: op.Active})
		}
	}
	if h.cfg.Audit != nil {
		q := relay.AuditQuery{TenantID: rel.TenantID, MessageSid: rel.ID, Limit: 200}
		if !rel.ReceivedAt.IsZero() {
			q.Since = rel.ReceivedAt.Add(-time.Minute)
		}
		for len(d.Events) < maxRelayEvents {
			page, err := h.cfg.Audit.Query(r.Context(), q)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			d.Events = append(d.Events, page.Records...)
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
	}
	for _, e := range d.Events {
		switch e.Event {
		case relay.EventReply:
			d.Replies = append(d.Replies, e)
		case relay.EventNote:
			d.Notes = append(d.Notes, e)
		}
	}
	d.Timeline = timeline(rel, d.Events)
	if h.cfg.Relays != nil && rel.CustomerID != "" {
		page, err := h.cfg.Relays.ListRelays(r.Context(), relay.RelayQuery{TenantID: rel.TenantID, CustomerID: rel.CustomerID, Limit: 20})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, o := range page.Relays {
			if o.ID != rel.ID {
				d.Thread = append(d.Thread, summarize(o, now))
			}
		}
	}
	writeJSON(w, http.StatusOK, d)
}

// timeline merges the relay's own record (received, each attempt's delivery
// state) with its audit events into one list in time order.
func timeline(r relay.Relay, events []relay.AuditEvent) []timelineEntry {
	out := []timelineEntry{{At: r.ReceivedAt, Kind: "received", Text: "Received from " + r.CustomerName + ": " + r.Body}}
	for _, e := range events {
		en := timelineEntry{At: e.Timestamp, Kind: e.Event, Operator: e.RoutedToOperator, Attempt: e.Attempt,
			Actor: e.Actor, Reason: e.RoutingReason}
		switch e.Event {
		case relay.EventRouted:
			en.Text = "Routed to " + e.RoutedToOperator + " (" + e.RoutingReason + ")"
		case relay.EventForwarded:
			en.Text = "Passed to " + e.RoutedToOperator + " (" + e.RoutingReason + ")"
		case relay.EventFallback:
			en.Text = "Fallback contact texted"
		case relay.EventExhausted:
			en.Text = "Chain exhausted without an acknowledgement"
		case relay.EventAcked:
			en.Text = "Acknowledged by " + firstNonEmpty(e.Actor, e.RoutedToOperator)
		case relay.EventReply:
			en.Text = "Reply from " + firstNonEmpty(e.RoutedToOperator, e.Actor) + " texted to the customer"
			if e.Note != "" {
				en.Text += ": " + e.Note
			}
			if e.Error != "" {
				en.Text = "Reply from " + firstNonEmpty(e.RoutedToOperator, e.Actor) + " not sent to the customer: " + e.Error
			}
		case relay.EventNote:
			en.Text = "Note: " + e.Note
		case relay.EventSendError:
			en.Text = "Send to " + e.RoutedToOperator + " failed: " + e.Error
		case relay.EventDelivery:
			en.Text = "Delivery to " + e.RoutedToOperator + " failed: " + e.Error
		case relay.EventDuplicate:
			en.Text = "Duplicate webhook ignored"
		default:
			en.Text = e.Event + " " + e.RoutingReason
		}
		out = append(out, en)
	}
	// Each text's own record: when Twilio took it, and its latest delivery
	// state (Twilio's reports carry no time the relay keeps, so the state is
	// shown at the send).
	for _, a := range r.Attempts {
		who := firstNonEmpty(a.Name, a.OperatorID)
		if !a.SentAt.IsZero() {
			out = append(out, timelineEntry{At: a.SentAt, Kind: "sent", Operator: a.OperatorID, Attempt: a.N,
				Text: "Text " + strconv.Itoa(a.N) + " sent to " + who})
		}
		switch a.Delivery {
		case relay.DeliveryDelivered, relay.DeliveryRead, relay.DeliveryFailed, relay.DeliveryUndelivered, relay.DeliverySkipped:
		default:
			continue
		}
		at := a.SentAt
		if at.IsZero() {
			at = a.CreatedAt
		}
		text := "Text " + strconv.Itoa(a.N) + " to " + who + ": " + a.Delivery
		if a.Error != "" {
			text += " (" + a.Error + ")"
		}
		out = append(out, timelineEntry{At: at, Kind: a.Delivery, Operator: a.OperatorID, Attempt: a.N, Text: text})
	}
	slices.SortStableFunc(out, func(a, b timelineEntry) int { return a.At.Compare(b.At) })
	return out
}

// signInConfig answers GET /api/auth/config: how the dashboard signs in
// (public: it holds only the hosted UI's address and the app client id).
func (h *handler) signInConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if len(h.cfg.SignIn) == 0 {
		_, _ = w.Write([]byte(`{"auth":"token"}` + "\n"))
		return
	}
	_, _ = w.Write(append(append([]byte{}, h.cfg.SignIn...), '\n'))
}
