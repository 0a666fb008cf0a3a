// Package memstore is an in-memory relay.Store for the domain's tests and
// benchmarks. It honours every condition of the port, so the Store contract
// suite runs against it too; it keeps nothing across restarts.
package memstore

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var _ relay.Store = (*Store)(nil)

// Store is an in-memory relay.Store safe for concurrent use.
type Store struct {
	mu        sync.Mutex
	tenants   map[string]relay.Tenant
	operators map[string]relay.Operator // tenant/id
	customers map[string]relay.Customer // tenant/id
	jobs      map[string]relay.Job      // tenant/id
	relays    map[string][]byte         // id → JSON, so callers never share slices
	claims    map[string]time.Time      // key → expiry
	leases    map[string]relay.CodeLease
	counters  map[string]int
	slots     map[string]time.Time
	optOuts   map[string]optOut
	seqs      map[string]*sequence // Counter sequences (counter.go)
	threads   map[string]thread    // tenant/phone → latest relay
}

type optOut struct {
	out bool
	at  time.Time
}

func invalid(format string, args ...any) error { return relay.Errorf(relay.Invalid, format, args...) }

// New returns an empty Store.
func New() *Store {
	return &Store{
		tenants: map[string]relay.Tenant{}, operators: map[string]relay.Operator{},
		customers: map[string]relay.Customer{}, jobs: map[string]relay.Job{},
		relays: map[string][]byte{}, claims: map[string]time.Time{}, leases: map[string]relay.CodeLease{},
		counters: map[string]int{}, slots: map[string]time.Time{}, optOuts: map[string]optOut{},
	}
}

func key(parts ...string) string {
	b, _ := json.Marshal(parts)
	return string(b)
}

func notFound(what, id string) error {
	return relay.Errorf(relay.NotFound, "%s %s not found", what, id)
}

// Tenant returns a tenant by id.
func (s *Store) Tenant(_ context.Context, id string) (relay.Tenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[id]
	if !ok {
		return t, notFound("tenant", id)
	}
	return t, nil
}

// Tenants returns every tenant ordered by id.
func (s *Store) Tenants(_ context.Context) ([]relay.Tenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]relay.Tenant, 0, len(s.tenants))
	for _, t := range s.tenants {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// TenantByNumber returns the tenant publishing number.
func (s *Store) TenantByNumber(_ context.Context, number string) (relay.Tenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tenants {
		if t.HasNumber(number) {
			return t, nil
		}
	}
	return relay.Tenant{}, notFound("number", number)
}

// Operator returns a tenant's operator by id.
func (s *Store) Operator(_ context.Context, tenantID, id string) (relay.Operator, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.operators[key(tenantID, id)]
	if !ok {
		return o, notFound("operator", id)
	}
	return o, nil
}

// OperatorByPhone returns a tenant's operator by phone.
func (s *Store) OperatorByPhone(_ context.Context, tenantID, phone string) (relay.Operator, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.operators {
		if o.TenantID == tenantID && o.Phone == phone {
			return o, nil
		}
	}
	return relay.Operator{}, notFound("operator phone", relay.MaskPhone(phone))
}

// Customer returns a tenant's customer by id.
func (s *Store) Customer(_ context.Context, tenantID, id string) (relay.Customer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[key(tenantID, id)]
	if !ok {
		return c, notFound("customer", id)
	}
	return c, nil
}

// CustomerByPhone returns a tenant's customer by phone.
func (s *Store) CustomerByPhone(_ context.Context, tenantID, phone string) (relay.Customer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.customers {
		if c.TenantID == tenantID && c.Phone == phone {
			return c, nil
		}
	}
	return relay.Customer{}, notFound("customer phone", relay.MaskPhone(phone))
}

// JobsForCustomer returns a customer's jobs ordered by id.
func (s *Store) JobsForCustomer(_ context.Context, tenantID, customerID string) ([]relay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []relay.Job
	for _, j := range s.jobs {
		if j.TenantID == tenantID && j.CustomerID == customerID {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// PutTenant stores a tenant.
func (s *Store) PutTenant(_ context.Context, t relay.Tenant) error {
	if t.ID == "" {
		return invalid("tenant id is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.tenants {
		for _, n := range t.Numbers {
			if o.ID != t.ID && o.HasNumber(n) {
				return relay.Errorf(relay.Conflict, "number %s is published by tenant %s", n, o.ID)
			}
		}
	}
	s.tenants[t.ID] = t
	return nil
}

// PutOperator stores an operator.
func (s *Store) PutOperator(_ context.Context, o relay.Operator) error {
	if o.TenantID == "" || o.ID == "" {
		return invalid("operator tenant and id are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.operators[key(o.TenantID, o.ID)] = o
	return nil
}

// PutCustomer stores a customer.
func (s *Store) PutCustomer(_ context.Context, c relay.Customer) error {
	if c.TenantID == "" || c.ID == "" {
		return invalid("customer tenant and id are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customers[key(c.TenantID, c.ID)] = c
	return nil
}

// PutJob stores a job.
func (s *Store) PutJob(_ context.Context, j relay.Job) error {
	if j.TenantID == "" || j.ID == "" {
		return invalid("job tenant and id are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs[key(j.TenantID, j.ID)] = j
	return nil
}

// CreateRelay stores a new relay; Conflict if its id exists.
func (s *Store) CreateRelay(_ context.Context, r *relay.Relay) error {
	if r.ID == "" {
		return invalid("relay id is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.relays[r.ID]; ok {
		return relay.Errorf(relay.Conflict, "relay %s exists", r.ID)
	}
	r.Version = 1
	b, err := json.Marshal(r)
	if err != nil {
		return relay.Wrap(relay.Internal, err, "encode relay")
	}
	s.relays[r.ID] = b
	return nil
}

// Relay returns a relay by id.
func (s *Store) Relay(_ context.Context, id string) (relay.Relay, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r relay.Relay
	b, ok := s.relays[id]
	if !ok {
		return r, notFound("relay", id)
	}
	err := json.Unmarshal(b, &r)
	return r, err
}

// UpdateRelay stores r if its version is current.
func (s *Store) UpdateRelay(_ context.Context, r *relay.Relay) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.relays[r.ID]
	if !ok {
		return notFound("relay", r.ID)
	}
	var cur relay.Relay
	if err := json.Unmarshal(b, &cur); err != nil {
		return err
	}
	if cur.Version != r.Version {
		return relay.Errorf(relay.Conflict, "relay %s changed (version %d, have %d)", r.ID, cur.Version, r.Version)
	}
	r.Version++
	nb, err := json.Marshal(r)
	if err != nil {
		r.Version--
		return relay.Wrap(relay.Internal, err, "encode relay")
	}
	s.relays[r.ID] = nb
	return nil
}

// ClaimCode stores a reply-code lease unless an unexpired one holds the code.
func (s *Store) ClaimCode(_ context.Context, l relay.CodeLease) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(l.TenantID, l.OperatorID, strconv.Itoa(l.Code))
	if cur, ok := s.leases[k]; ok && cur.ExpiresAt.After(l.CreatedAt) {
		return relay.Errorf(relay.Conflict, "code %d taken", l.Code)
	}
	s.leases[k] = l
	return nil
}

// Codes returns an operator's leases.
func (s *Store) Codes(_ context.Context, tenantID, operatorID string) ([]relay.CodeLease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []relay.CodeLease
	for _, l := range s.leases {
		if l.TenantID == tenantID && l.OperatorID == operatorID {
			out = append(out, l)
		}
	}
	return out, nil
}

// Take counts a use of key in a fixed window.
func (s *Store) Take(_ context.Context, k string, limit int, window time.Duration, now time.Time) (bool, error) {
	if k == "" || window <= 0 {
		return false, invalid("take needs a key and a positive window")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wk := key(k, strconv.FormatInt(relay.WindowStart(now, window), 10))
	if s.counters[wk] >= limit {
		return false, nil
	}
	s.counters[wk]++
	return true, nil
}

// SetOptOut records a phone's opt-out state for a tenant.
func (s *Store) SetOptOut(_ context.Context, tenantID, phone string, optedOut bool, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(tenantID, phone)
	if cur, ok := s.optOuts[k]; ok && at.Before(cur.at) {
		return nil // an older STOP/START never overrides a newer one
	}
	s.optOuts[k] = optOut{out: optedOut, at: at}
	return nil
}

// OptedOut reports a phone's opt-out state for a tenant.
func (s *Store) OptedOut(_ context.Context, tenantID, phone string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.optOuts[key(tenantID, phone)].out, nil
}

// Ping always succeeds.
func (s *Store) Ping(context.Context) error { return nil }
