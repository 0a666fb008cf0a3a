package relay

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultRelayPage is the page size of a relay listing that names none;
// MaxRelayPage is the largest a caller may ask for.
const (
	DefaultRelayPage = 50
	MaxRelayPage     = 500
)

// RelayQuery selects one tenant's relays, newest first (by ReceivedAt, then
// id). Zero fields do not filter.
type RelayQuery struct {
	TenantID string
	// Status keeps relays in this status only.
	Status Status
	// Operator keeps relays that texted this operator in any attempt.
	Operator string
	// CustomerID keeps the customer's relays.
	CustomerID string
	// Since keeps relays received at or after this instant.
	Since time.Time
	// Limit caps the page size; 0 means DefaultRelayPage.
	Limit int
	// Cursor continues a previous page (RelayPage.Next).
	Cursor string
}

// RelayPage is one page of relays, newest first, and the cursor of the next
// page ("" after the last).
type RelayPage struct {
	Relays []Relay
	Next   string
}

// RelayLister lists a tenant's relays for the dashboard. It is a read port of
// its own, so that the HTTP layer depends on it and not on the whole Store.
// Relays whose ExpiresAt has passed are not listed.
type RelayLister interface {
	ListRelays(ctx context.Context, q RelayQuery) (RelayPage, error)
}

// ParseStatus reads a status as the relay listing accepts it: pending (or
// open), acked or exhausted, or the stored names (pending_ack).
func ParseStatus(s string) (Status, error) {
	switch s {
	case "pending", "open", string(StatusPending):
		return StatusPending, nil
	case string(StatusAcked):
		return StatusAcked, nil
	case string(StatusExhausted):
		return StatusExhausted, nil
	}
	return "", Errorf(Invalid, "status must be pending, acked or exhausted")
}

// RelayStatuses are the statuses a relay can have, for stores that index by status.
var RelayStatuses = []Status{StatusPending, StatusAcked, StatusExhausted}

// Validate checks the query and applies the default page size.
func (q *RelayQuery) Validate() error {
	var bad []string
	if q.TenantID == "" {
		bad = append(bad, "tenant is required")
	}
	if q.Status != "" && !slices.Contains(RelayStatuses, q.Status) {
		bad = append(bad, "status must be pending, acked or exhausted")
	}
	if q.Limit < 0 || q.Limit > MaxRelayPage {
		bad = append(bad, fmt.Sprintf("limit must be from 1 to %d", MaxRelayPage))
	}
	if q.Cursor != "" {
		if _, err := DecodeRelayCursor(q.Cursor); err != nil {
			bad = append(bad, "cursor is not one this listing returned")
		}
	}
	if len(bad) > 0 {
		return Errorf(Invalid, "%s", strings.Join(bad, "; "))
	}
	if q.Limit == 0 {
		q.Limit = DefaultRelayPage
	}
	return nil
}

// Matches reports whether r passes the query's filters other than the
// cursor and the page size, at instant now (expired relays never match).
func (q RelayQuery) Matches(r Relay, now time.Time) bool {
	if r.TenantID != q.TenantID {
		return false
	}
	if !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt) {
		return false
	}
	if q.Status != "" && r.Status != q.Status {
		return false
	}
	if q.CustomerID != "" && r.CustomerID != q.CustomerID {
		return false
	}
	if !q.Since.IsZero() && r.ReceivedAt.Before(q.Since) {
		return false
	}
	if q.Operator != "" && !slices.ContainsFunc(r.Attempts, func(a Attempt) bool { return a.OperatorID == q.Operator }) {
		return false
	}
	return true
}

// RelayPosition is a relay's place in the newest-first order of a listing.
type RelayPosition struct {
	ReceivedAt int64 // Unix nanoseconds
	ID         string
}

// PositionOf returns r's place in the listing order.
func PositionOf(r Relay) RelayPosition {
	return RelayPosition{ReceivedAt: r.ReceivedAt.UnixNano(), ID: r.ID}
}

// Before reports whether p comes before o in the listing (p is newer).
func (p RelayPosition) Before(o RelayPosition) bool {
	if p.ReceivedAt != o.ReceivedAt {
		return p.ReceivedAt > o.ReceivedAt
	}
	return p.ID > o.ID
}

// SortKey is p as a string whose byte order is time order (then id order):
// stores that index relays use it, so that descending key order is the
// listing order.
func (p RelayPosition) SortKey() string {
	return fmt.Sprintf("%020d#%s", max(p.ReceivedAt, 0), p.ID)
}

// EncodeRelayCursor returns the opaque cursor that continues after p.
func EncodeRelayCursor(p RelayPosition) string {
	return base64.RawURLEncoding.EncodeToString([]byte("r1:" + strconv.FormatInt(p.ReceivedAt, 10) + ":" + p.ID))
}

// DecodeRelayCursor reads a cursor EncodeRelayCursor wrote; anything else is Invalid.
func DecodeRelayCursor(c string) (RelayPosition, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return RelayPosition{}, Errorf(Invalid, "cursor is not one this listing returned")
	}
	rest, ok := strings.CutPrefix(string(b), "r1:")
	ns, id, ok2 := strings.Cut(rest, ":")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || !ok2 || err != nil || id == "" {
		return RelayPosition{}, Errorf(Invalid, "cursor is not one this listing returned")
	}
	return RelayPosition{ReceivedAt: n, ID: id}, nil
}

// SelectRelays answers q from a candidate set of relays: it filters (at
// instant now), orders newest first, continues after the cursor and cuts the
// page. Stores without an index (memory, bbolt) pass every relay of the
// tenant; q must have been validated.
func SelectRelays(all []Relay, q RelayQuery, now time.Time) (RelayPage, error) {
	var after *RelayPosition
	if q.Cursor != "" {
		p, err := DecodeRelayCursor(q.Cursor)
		if err != nil {
			return RelayPage{}, err
		}
		after = &p
	}
	var out []Relay
	for _, r := range all {
		if !q.Matches(r, now) {
			continue
		}
		if after != nil && !after.Before(PositionOf(r)) {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Relay) int {
		pa, pb := PositionOf(a), PositionOf(b)
		switch {
		case pa.Before(pb):
			return -1
		case pb.Before(pa):
			return 1
		}
		return 0
	})
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultRelayPage
	}
	page := RelayPage{Relays: out}
	if len(out) > limit {
		page.Relays = out[:limit]
		page.Next = EncodeRelayCursor(PositionOf(out[limit-1]))
	}
	if page.Relays == nil {
		page.Relays = []Relay{}
	}
	return page, nil
}

// NextFailover returns when the relay's current attempt times out and the
// next operator is texted, or the zero time when nothing is waiting (the
// relay is closed or has no attempt yet).
func (r Relay) NextFailover() time.Time {
	if !r.Status.Open() {
		return time.Time{}
	}
	c := r.Current()
	if c == nil {
		return time.Time{}
	}
	// The window starts when Twilio accepted the text; until then, the
	// earliest it can end is a window after the step was planned.
	start := c.SentAt
	if start.IsZero() {
		start = c.CreatedAt
	}
	if start.IsZero() {
		return time.Time{}
	}
	w := r.AckTimeout
	if w <= 0 {
		w = DefaultAckTimeout
	}
	return start.Add(w)
}

// MergePages merges listing pages of disjoint relay sets (one per tenant,
// say) asked with the same cursor and limit into one page in listing order.
// A page that ended early with a Next (a store's scan budget) is complete
// only down to that cursor, so the merged page stops there too.
func MergePages(pages []RelayPage, limit int) (RelayPage, error) {
	if limit <= 0 {
		limit = DefaultRelayPage
	}
	var all []Relay
	var floor *RelayPosition
	more := false
	for _, p := range pages {
		all = append(all, p.Relays...)
		if p.Next == "" {
			continue
		}
		more = true
		if len(p.Relays) < limit {
			f, err := DecodeRelayCursor(p.Next)
			if err != nil {
				return RelayPage{}, err
			}
			if floor == nil || f.Before(*floor) {
				floor = &f
			}
		}
	}
	slices.SortFunc(all, func(a, b Relay) int {
		pa, pb := PositionOf(a), PositionOf(b)
		switch {
		case pa.Before(pb):
			return -1
		case pb.Before(pa):
			return 1
		}
		return 0
	})
	if floor != nil {
		all = slices.DeleteFunc(all, func(r Relay) bool { return floor.Before(PositionOf(r)) })
	}
	out := RelayPage{Relays: all}
	switch {
	case len(all) > limit:
		out.Relays = all[:limit]
		out.Next = EncodeRelayCursor(PositionOf(all[limit-1]))
	case floor != nil:
		out.Next = EncodeRelayCursor(*floor)
	case more && len(all) > 0:
		out.Next = EncodeRelayCursor(PositionOf(all[len(all)-1]))
	}
	if out.Relays == nil {
		out.Relays = []Relay{}
	}
	return out, nil
}
