package relay

import (
	"context"
	"encoding/base64"
	"strings"
)

// DirectoryWriter changes a tenant's directory one entry at a time, each
// write conditional so that an API client's If-Match and two racing admins
// never overwrite a change they did not see. With prev nil the entry must
// not exist yet (Conflict otherwise); with prev set the stored entry must
// still equal *prev (Conflict when it changed, NotFound when it is gone).
// Tenant numbers follow PutTenant's rule: a number another tenant publishes
// is a Conflict.
type DirectoryWriter interface {
	ReplaceTenant(ctx context.Context, t Tenant, prev *Tenant) error
	ReplaceOperator(ctx context.Context, o Operator, prev *Operator) error
	ReplaceCustomer(ctx context.Context, c Customer, prev *Customer) error
	ReplaceJob(ctx context.Context, j Job, prev *Job) error
	// DeleteOperator, DeleteCustomer and DeleteJob remove the entry if it
	// still equals prev; Conflict when it changed, NotFound when it is gone.
	DeleteOperator(ctx context.Context, prev Operator) error
	DeleteCustomer(ctx context.Context, prev Customer) error
	DeleteJob(ctx context.Context, prev Job) error
}

// DirectoryLister pages through one tenant's operators, customers and jobs
// in id order, and reads one job by id (Directory reads the others). It returns at most q.Limit entries that match q and the
// cursor of the next page, "" after the last. A page may hold fewer than
// Limit entries and still carry a cursor; callers page until it is empty.
type DirectoryLister interface {
	ListOperators(ctx context.Context, tenantID string, q ListQuery) ([]Operator, string, error)
	ListCustomers(ctx context.Context, tenantID string, q ListQuery) ([]Customer, string, error)
	ListJobs(ctx context.Context, tenantID string, q ListQuery) ([]Job, string, error)
	// Job returns one of the tenant's jobs; NotFound when there is none.
	Job(ctx context.Context, tenantID, id string) (Job, error)
}

// DefaultListLimit and MaxListLimit bound a directory page.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// ListQuery filters and pages a directory list. Zero fields do not filter.
type ListQuery struct {
	// Phone selects customers (or operators) with this E.164 phone.
	Phone string
	// State, Operator and Customer select jobs.
	State    string
	Operator string
	Customer string
	// Limit caps the page; 0 means DefaultListLimit.
	Limit int
	// Cursor continues after a previous page.
	Cursor string
}

// PageSize returns the query's limit, defaulted and capped.
func (q ListQuery) PageSize() int {
	switch {
	case q.Limit <= 0:
		return DefaultListLimit
	case q.Limit > MaxListLimit:
		return MaxListLimit
	}
	return q.Limit
}

// After returns the id the page starts after, "" for the first page.
func (q ListQuery) After() (string, error) {
	if q.Cursor == "" {
		return "", nil
	}
	return DecodeCursor(q.Cursor)
}

// MatchOperator reports whether o passes the query's filters.
func (q ListQuery) MatchOperator(o Operator) bool { return q.Phone == "" || o.Phone == q.Phone }

// MatchCustomer reports whether c passes the query's filters.
func (q ListQuery) MatchCustomer(c Customer) bool { return q.Phone == "" || c.Phone == q.Phone }

// MatchJob reports whether j passes the query's filters.
func (q ListQuery) MatchJob(j Job) bool {
	return (q.State == "" || j.State == q.State) && (q.Operator == "" || j.OperatorID == q.Operator) &&
		(q.Customer == "" || j.CustomerID == q.Customer)
}

const cursorPrefix = "d1:"

// EncodeCursor returns the opaque cursor of a directory page that ends at id.
func EncodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + id))
}

// DecodeCursor returns the id a cursor from EncodeCursor continues after.
func DecodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) || len(b) == len(cursorPrefix) {
		return "", Errorf(Invalid, "cursor is not one this API returned")
	}
	return strings.TrimPrefix(string(b), cursorPrefix), nil
}

// Paginate applies a ListQuery to entries already sorted by id: it skips
// up to the cursor, keeps the matching ones up to the page size and returns
// the next cursor. Stores that hold a tenant's directory in memory use it,
// so every Store pages the same way.
func Paginate[T any](sorted []T, id func(T) string, match func(T) bool, q ListQuery) ([]T, string, error) {
	after, err := q.After()
	if err != nil {
		return nil, "", err
	}
	limit := q.PageSize()
	out := make([]T, 0, min(limit, len(sorted)))
	for i, e := range sorted {
		if after != "" && id(e) <= after {
			continue
		}
		if !match(e) {
			continue
		}
		out = append(out, e)
		if len(out) == limit {
			if i+1 < len(sorted) {
				return out, EncodeCursor(id(e)), nil
			}
			break
		}
	}
	return out, "", nil
}
