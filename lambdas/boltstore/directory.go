package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var (
	_ relay.DirectoryWriter = (*Store)(nil)
	_ relay.DirectoryLister = (*Store)(nil)
	_ relay.RegistryStore   = (*Store)(nil)
)

// expect loads the entry at k and checks a conditional write against it:
// prev nil means the entry must be absent, otherwise equal to *prev.
func expect[T any](b *bolt.Bucket, k []byte, prev *T, what string) (T, bool, error) {
	var cur T
	ok, err := get(b, k, &cur)
	if err != nil {
		return cur, ok, err
	}
	switch {
	case prev == nil && ok:
		return cur, ok, relay.Errorf(relay.Conflict, "%s exists", what)
	case prev != nil && !ok:
		return cur, ok, notFound(what)
	case prev != nil:
		want, err := json.Marshal(*prev)
		if err != nil {
			return cur, ok, err
		}
		got, err := json.Marshal(cur)
		if err != nil {
			return cur, ok, err
		}
		if !bytes.Equal(got, want) {
			return cur, ok, relay.Errorf(relay.Conflict, "%s changed", what)
		}
	}
	return cur, ok, nil
}

// ReplaceTenant stores t if the stored tenant still equals prev, and routes
// its numbers to it; a number another tenant publishes is a Conflict.
func (s *Store) ReplaceTenant(ctx context.Context, t relay.Tenant, prev *relay.Tenant) error {
	if t.ID == "" {
		return fmt.Errorf("replace tenant: %w", invalid("tenant id is empty"))
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		tenants, numbers := tx.Bucket(bTenants), tx.Bucket(bNumbers)
		old, _, err := expect(tenants, []byte(t.ID), prev, "tenant")
		if err != nil {
			return err
		}
		for _, n := range t.Numbers {
			if owner := numbers.Get([]byte(n)); owner != nil && string(owner) != t.ID {
				return relay.Errorf(relay.Conflict, "number %s belongs to tenant %s", n, owner)
			}
		}
		for _, n := range old.Numbers {
			if !t.HasNumber(n) {
				if err := numbers.Delete([]byte(n)); err != nil {
					return err
				}
			}
		}
		for _, n := range t.Numbers {
			if err := numbers.Put([]byte(n), []byte(t.ID)); err != nil {
				return err
			}
		}
		return put(tenants, []byte(t.ID), t)
	})
	if err != nil {
		return fmt.Errorf("replace tenant %s: %w", t.ID, err)
	}
	return nil
}

// ReplaceOperator stores o if the stored operator still equals prev.
func (s *Store) ReplaceOperator(ctx context.Context, o relay.Operator, prev *relay.Operator) error {
	if o.TenantID == "" || o.ID == "" {
		return fmt.Errorf("replace operator: %w", invalid("operator tenant and id are required"))
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		ops, phones := tx.Bucket(bOperators), tx.Bucket(bOperatorPhones)
		old, ok, err := expect(ops, key(o.TenantID, o.ID), prev, "operator")
		if err != nil {
			return err
		}
		if ok {
			if err := phones.Delete(key(o.TenantID, old.Phone, o.ID)); err != nil {
				return err
			}
		}
		if err := phones.Put(key(o.TenantID, o.Phone, o.ID), []byte(o.ID)); err != nil {
			return err
		}
		return put(ops, key(o.TenantID, o.ID), o)
	})
	if err != nil {
		return fmt.Errorf("replace operator %s/%s: %w", o.TenantID, o.ID, err)
	}
	return nil
}

// ReplaceCustomer stores c if the stored customer still equals prev.
func (s *Store) ReplaceCustomer(ctx context.Context, c relay.Customer, prev *relay.Customer) error {
	if c.TenantID == "" || c.ID == "" {
		return fmt.Errorf("replace customer: %w", invalid("customer tenant and id are required"))
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		cs, phones := tx.Bucket(bCustomers), tx.Bucket(bCustomerPhones)
		old, ok, err := expect(cs, key(c.TenantID, c.ID), prev, "customer")
		if err != nil {
			return err
		}
		if ok {
			if err := phones.Delete(key(c.TenantID, old.Phone, c.ID)); err != nil {
				return err
			}
		}
		if err := phones.Put(key(c.TenantID, c.Phone, c.ID), []byte(c.ID)); err != nil {
			return err
		}
		return put(cs, key(c.TenantID, c.ID), c)
	})
	if err != nil {
		return fmt.Errorf("replace customer %s/%s: %w", c.TenantID, c.ID, err)
	}
	return nil
}

// ReplaceJob stores j if the stored job still equals prev.
func (s *Store) ReplaceJob(ctx context.Context, j relay.Job, prev *relay.Job) error {
	if j.TenantID == "" || j.ID == "" {
		return fmt.Errorf("replace job: %w", invalid("job tenant and id are required"))
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		jobs, byCustomer := tx.Bucket(bJobs), tx.Bucket(bCustomerJobs)
		old, ok, err := expect(jobs, key(j.TenantID, j.ID), prev, "job")
		if err != nil {
			return err
		}
		if ok {
			if err := byCustomer.Delete(key(j.TenantID, old.CustomerID, j.ID)); err != nil {
				return err
			}
		}
		if err := byCustomer.Put(key(j.TenantID, j.CustomerID, j.ID), []byte(j.ID)); err != nil {
			return err
		}
		return put(jobs, key(j.TenantID, j.ID), j)
	})
	if err != nil {
		return fmt.Errorf("replace job %s/%s: %w", j.TenantID, j.ID, err)
	}
	return nil
}

// DeleteOperator removes the operator and its phone index if it still
// equals prev.
func (s *Store) DeleteOperator(ctx context.Context, prev relay.Operator) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		ops := tx.Bucket(bOperators)
		if _, _, err := expect(ops, key(prev.TenantID, prev.ID), &prev, "operator"); err != nil {
			return err
		}
		if err := tx.Bucket(bOperatorPhones).Delete(key(prev.TenantID, prev.Phone, prev.ID)); err != nil {
			return err
		}
		return ops.Delete(key(prev.TenantID, prev.ID))
	})
	if err != nil {
		return fmt.Errorf("delete operator %s/%s: %w", prev.TenantID, prev.ID, err)
	}
	return nil
}

// DeleteCustomer removes the customer and its phone index if it still
// equals prev.
func (s *Store) DeleteCustomer(ctx context.Context, prev relay.Customer) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		cs := tx.Bucket(bCustomers)
		if _, _, err := expect(cs, key(prev.TenantID, prev.ID), &prev, "customer"); err != nil {
			return err
		}
		if err := tx.Bucket(bCustomerPhones).Delete(key(prev.TenantID, prev.Phone, prev.ID)); err != nil {
			return err
		}
		return cs.Delete(key(prev.TenantID, prev.ID))
	})
	if err != nil {
		return fmt.Errorf("delete customer %s/%s: %w", prev.TenantID, prev.ID, err)
	}
	return nil
}

// DeleteJob removes the job and its customer index if it still equals prev.
func (s *Store) DeleteJob(ctx context.Context, prev relay.Job) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bJobs)
		if _, _, err := expect(jobs, key(prev.TenantID, prev.ID), &prev, "job"); err != nil {
			return err
		}
		if err := tx.Bucket(bCustomerJobs).Delete(key(prev.TenantID, prev.CustomerID, prev.ID)); err != nil {
			return err
		}
		return jobs.Delete(key(prev.TenantID, prev.ID))
	})
	if err != nil {
		return fmt.Errorf("delete job %s/%s: %w", prev.TenantID, prev.ID, err)
	}
	return nil
}

// Job returns one of a tenant's jobs.
func (s *Store) Job(ctx context.Context, tenantID, id string) (relay.Job, error) {
	var j relay.Job
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ok, err := get(tx.Bucket(bJobs), key(tenantID, id), &j)
		if err == nil && !ok {
			err = notFound("job")
		}
		return err
	})
	if err != nil {
		return relay.Job{}, fmt.Errorf("get job %s/%s: %w", tenantID, id, err)
	}
	return j, nil
}

// tenantEntries decodes every value of bucket under the tenant's key
// prefix, sorted by id. Keys are length-prefixed, so the prefix of one
// tenant is never the prefix of another's.
func tenantEntries[T any](s *Store, ctx context.Context, bucket []byte, tenantID string, id func(T) string) ([]T, error) {
	var out []T
	err := s.view(ctx, func(tx *bolt.Tx) error {
		prefix := key(tenantID)
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var e T
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode stored value: %w", err)
			}
			out = append(out, e)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return id(out[i]) < id(out[j]) })
	return out, err
}

// ListOperators pages through a tenant's operators by id.
func (s *Store) ListOperators(ctx context.Context, tenantID string, q relay.ListQuery) ([]relay.Operator, string, error) {
	id := func(o relay.Operator) string { return o.ID }
	all, err := tenantEntries(s, ctx, bOperators, tenantID, id)
	if err != nil {
		return nil, "", fmt.Errorf("list operators of %s: %w", tenantID, err)
	}
	return relay.Paginate(all, id, q.MatchOperator, q)
}

// ListCustomers pages through a tenant's customers by id.
func (s *Store) ListCustomers(ctx context.Context, tenantID string, q relay.ListQuery) ([]relay.Customer, string, error) {
	id := func(c relay.Customer) string { return c.ID }
	all, err := tenantEntries(s, ctx, bCustomers, tenantID, id)
	if err != nil {
		return nil, "", fmt.Errorf("list customers of %s: %w", tenantID, err)
	}
	return relay.Paginate(all, id, q.MatchCustomer, q)
}

// ListJobs pages through a tenant's jobs by id.
func (s *Store) ListJobs(ctx context.Context, tenantID string, q relay.ListQuery) ([]relay.Job, string, error) {
	id := func(j relay.Job) string { return j.ID }
	all, err := tenantEntries(s, ctx, bJobs, tenantID, id)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: %w", tenantID, err)
	}
	return relay.Paginate(all, id, q.MatchJob, q)
}
