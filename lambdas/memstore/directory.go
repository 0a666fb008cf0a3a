package memstore

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var (
	_ relay.DirectoryWriter = (*Store)(nil)
	_ relay.DirectoryLister = (*Store)(nil)
	_ relay.RegistryStore   = (*Store)(nil)
)

// same reports whether two entries are equal as stored.
func same(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// precondition checks a conditional write against the stored entry.
func precondition[T any](cur T, exists bool, prev *T, what, id string) error {
	switch {
	case prev == nil && exists:
		return relay.Errorf(relay.Conflict, "%s %s exists", what, id)
	case prev != nil && !exists:
		return notFound(what, id)
	case prev != nil && !same(cur, *prev):
		return relay.Errorf(relay.Conflict, "%s %s changed", what, id)
	}
	return nil
}

// ReplaceTenant stores t if the stored tenant still equals prev.
func (s *Store) ReplaceTenant(_ context.Context, t relay.Tenant, prev *relay.Tenant) error {
	if t.ID == "" {
		return invalid("tenant id is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.tenants[t.ID]
	if err := precondition(cur, ok, prev, "tenant", t.ID); err != nil {
		return err
	}
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

// ReplaceOperator stores o if the stored operator still equals prev.
func (s *Store) ReplaceOperator(_ context.Context, o relay.Operator, prev *relay.Operator) error {
	if o.TenantID == "" || o.ID == "" {
		return invalid("operator tenant and id are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(o.TenantID, o.ID)
	cur, ok := s.operators[k]
	if err := precondition(cur, ok, prev, "operator", o.ID); err != nil {
		return err
	}
	s.operators[k] = o
	return nil
}

// ReplaceCustomer stores c if the stored customer still equals prev.
func (s *Store) ReplaceCustomer(_ context.Context, c relay.Customer, prev *relay.Customer) error {
	if c.TenantID == "" || c.ID == "" {
		return invalid("customer tenant and id are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(c.TenantID, c.ID)
	cur, ok := s.customers[k]
	if err := precondition(cur, ok, prev, "customer", c.ID); err != nil {
		return err
	}
	s.customers[k] = c
	return nil
}

// ReplaceJob stores j if the stored job still equals prev.
func (s *Store) ReplaceJob(_ context.Context, j relay.Job, prev *relay.Job) error {
	if j.TenantID == "" || j.ID == "" {
		return invalid("job tenant and id are required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(j.TenantID, j.ID)
	cur, ok := s.jobs[k]
	if err := precondition(cur, ok, prev, "job", j.ID); err != nil {
		return err
	}
	s.jobs[k] = j
	return nil
}

// DeleteOperator removes the operator if it still equals prev.
func (s *Store) DeleteOperator(_ context.Context, prev relay.Operator) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(prev.TenantID, prev.ID)
	cur, ok := s.operators[k]
	if err := precondition(cur, ok, &prev, "operator", prev.ID); err != nil {
		return err
	}
	delete(s.operators, k)
	return nil
}

// DeleteCustomer removes the customer if it still equals prev.
func (s *Store) DeleteCustomer(_ context.Context, prev relay.Customer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(prev.TenantID, prev.ID)
	cur, ok := s.customers[k]
	if err := precondition(cur, ok, &prev, "customer", prev.ID); err != nil {
		return err
	}
	delete(s.customers, k)
	return nil
}

// DeleteJob removes the job if it still equals prev.
func (s *Store) DeleteJob(_ context.Context, prev relay.Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(prev.TenantID, prev.ID)
	cur, ok := s.jobs[k]
	if err := precondition(cur, ok, &prev, "job", prev.ID); err != nil {
		return err
	}
	delete(s.jobs, k)
	return nil
}

// Job returns one of a tenant's jobs.
func (s *Store) Job(_ context.Context, tenantID, id string) (relay.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[key(tenantID, id)]
	if !ok {
		return j, notFound("job", id)
	}
	return j, nil
}

// tenantEntries returns the values of m that belong to the tenant, by id.
func tenantEntries[T any](m map[string]T, tenantID string, tenant, id func(T) string) []T {
	var out []T
	for _, v := range m {
		if tenant(v) == tenantID {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return id(out[i]) < id(out[j]) })
	return out
}

// ListOperators pages through a tenant's operators by id.
func (s *Store) ListOperators(_ context.Context, tenantID string, q relay.ListQuery) ([]relay.Operator, string, error) {
	s.mu.Lock()
	all := tenantEntries(s.operators, tenantID, func(o relay.Operator) string { return o.TenantID },
		func(o relay.Operator) string { return o.ID })
	s.mu.Unlock()
	return relay.Paginate(all, func(o relay.Operator) string { return o.ID }, q.MatchOperator, q)
}

// ListCustomers pages through a tenant's customers by id.
func (s *Store) ListCustomers(_ context.Context, tenantID string, q relay.ListQuery) ([]relay.Customer, string, error) {
	s.mu.Lock()
	all := tenantEntries(s.customers, tenantID, func(c relay.Customer) string { return c.TenantID },
		func(c relay.Customer) string { return c.ID })
	s.mu.Unlock()
	return relay.Paginate(all, func(c relay.Customer) string { return c.ID }, q.MatchCustomer, q)
}

// ListJobs pages through a tenant's jobs by id.
func (s *Store) ListJobs(_ context.Context, tenantID string, q relay.ListQuery) ([]relay.Job, string, error) {
	s.mu.Lock()
	all := tenantEntries(s.jobs, tenantID, func(j relay.Job) string { return j.TenantID },
		func(j relay.Job) string { return j.ID })
	s.mu.Unlock()
	return relay.Paginate(all, func(j relay.Job) string { return j.ID }, q.MatchJob, q)
}
