// Package boltstore is the embedded relay.Store of the dev server: one bbolt
// file that survives restarts. Every method runs in one bbolt transaction;
// bbolt serializes writers, so each conditional write is atomic and the
// store is safe for concurrent use by one process.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Bucket names. Keys of the multi-part buckets are built by key, so that no
// id can spell another id's key.
var (
	bTenants        = []byte("tenants")         // tenant id → Tenant
	bNumbers        = []byte("numbers")         // published number → tenant id
	bOperators      = []byte("operators")       // (tenant, id) → Operator
	bOperatorPhones = []byte("operator_phones") // (tenant, phone, id) → id
	bCustomers      = []byte("customers")       // (tenant, id) → Customer
	bCustomerPhones = []byte("customer_phones") // (tenant, phone, id) → id
	bJobs           = []byte("jobs")            // (tenant, id) → Job
	bCustomerJobs   = []byte("customer_jobs")   // (tenant, customer, id) → id
	bRelays         = []byte("relays")          // relay id → Relay
	bClaims         = []byte("claims")          // claim key → claim
	bCodes          = []byte("codes")           // (tenant, operator, code) → CodeLease
	bTakes          = []byte("takes")           // take key → counter
	bSlots          = []byte("slots")           // slot key → last reservation, Unix ns
	bOptOuts        = []byte("opt_outs")        // (tenant, phone) → optOut
	bThreads        = []byte("threads")         // (tenant, phone) → thread

	allBuckets = [][]byte{bTenants, bNumbers, bOperators, bOperatorPhones, bCustomers,
		bCustomerPhones, bJobs, bCustomerJobs, bRelays, bClaims, bCodes, bTakes, bSlots, bOptOuts, bThreads}
)

// Store is a relay.Store in a bbolt file.
type Store struct {
	db *bolt.DB
}

var _ relay.Store = (*Store)(nil)

// openTimeout bounds the wait for the file lock, so a second dev server on
// the same state directory fails instead of hanging.
const openTimeout = 2 * time.Second

// ErrLocked is returned by Open when another process holds the file's lock
// (another dev server on the same state directory).
var ErrLocked = errors.New("the store file is locked by another process")

// Open opens the store in the bbolt file at path, creating the file and its
// directory when they do not exist.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open bolt store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open bolt store %s: %w (%w)", path, ErrLocked, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create buckets: %w", err), db.Close())
	}
	// A batch waits at most 2 ms for company: a lone write is barely slower.
	db.MaxBatchDelay = 2 * time.Millisecond
	return &Store{db: db}, nil
}

// Close releases the file; the store is unusable afterwards.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close bolt store: %w", err)
	}
	return nil
}

func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

// batch is update for the relay's hot writes (relays and reply codes):
// concurrent writers share one transaction and one fsync (bbolt's Batch).
// bbolt has one writer at a time, so under load this is what keeps timers on
// time. fn must only touch the transaction and set, not accumulate, what it
// hands back: a batch that fails is run again without the failing call, so
// fn may run more than once.
func (s *Store) batch(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Batch(fn)
}

// key joins parts with a length prefix each, so that the key of one tuple is
// never the key or a prefix of another tuple's key of the same arity.
func key(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

// get decodes the JSON value at k into v and reports whether it was there.
func get(b *bolt.Bucket, k []byte, v any) (bool, error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("decode stored value: %w", err)
	}
	return true, nil
}

func put(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}

// firstWithPrefix returns the value of the first key that starts with prefix.
func firstWithPrefix(b *bolt.Bucket, prefix []byte) []byte {
	k, v := b.Cursor().Seek(prefix)
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return nil
	}
	return v
}

func notFound(what string) error { return relay.Errorf(relay.NotFound, "%s not found", what) }

func invalid(format string, args ...any) error { return relay.Errorf(relay.Invalid, format, args...) }

// Tenant returns the tenant with the given id.
func (s *Store) Tenant(ctx context.Context, id string) (relay.Tenant, error) {
	var t relay.Tenant
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ok, err := get(tx.Bucket(bTenants), []byte(id), &t)
		if err == nil && !ok {
			err = notFound("tenant")
		}
		return err
	})
	if err != nil {
		return relay.Tenant{}, fmt.Errorf("get tenant %s: %w", id, err)
	}
	return t, nil
}

// Tenants returns every tenant ordered by id.
func (s *Store) Tenants(ctx context.Context) ([]relay.Tenant, error) {
	var ts []relay.Tenant
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bTenants).ForEach(func(_, v []byte) error {
			var t relay.Tenant
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			ts = append(ts, t)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return ts, nil
}

// TenantByNumber returns the tenant that publishes number.
func (s *Store) TenantByNumber(ctx context.Context, number string) (relay.Tenant, error) {
	var t relay.Tenant
	err := s.view(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bNumbers).Get([]byte(number))
		if id == nil {
			return notFound("number")
		}
		ok, err := get(tx.Bucket(bTenants), id, &t)
		if err == nil && (!ok || !t.HasNumber(number)) {
			err = notFound("number")
		}
		return err
	})
	if err != nil {
		return relay.Tenant{}, fmt.Errorf("get tenant by number %s: %w", number, err)
	}
	return t, nil
}

// PutTenant stores t and routes its numbers to it. A number that another
// tenant publishes is a Conflict, and nothing is stored then.
func (s *Store) PutTenant(ctx context.Context, t relay.Tenant) error {
	if t.ID == "" {
		return fmt.Errorf("put tenant: %w", invalid("tenant id is empty"))
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		tenants, numbers := tx.Bucket(bTenants), tx.Bucket(bNumbers)
		for _, n := range t.Numbers {
			if owner := numbers.Get([]byte(n)); owner != nil && string(owner) != t.ID {
				return relay.Errorf(relay.Conflict, "number %s belongs to tenant %s", n, owner)
			}
		}
		var old relay.Tenant
		if _, err := get(tenants, []byte(t.ID), &old); err != nil {
			return err
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
		return fmt.Errorf("put tenant %s: %w", t.ID, err)
	}
	return nil
}

// Operator returns one of a tenant's operators.
func (s *Store) Operator(ctx context.Context, tenantID, id string) (relay.Operator, error) {
	var o relay.Operator
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ok, err := get(tx.Bucket(bOperators), key(tenantID, id), &o)
		if err == nil && !ok {
			err = notFound("operator")
		}
		return err
	})
	if err != nil {
		return relay.Operator{}, fmt.Errorf("get operator %s/%s: %w", tenantID, id, err)
	}
	return o, nil
}

// OperatorByPhone returns the tenant's operator with the given phone; when
// several share it, the one with the lowest id.
func (s *Store) OperatorByPhone(ctx context.Context, tenantID, phone string) (relay.Operator, error) {
	var o relay.Operator
	err := s.view(ctx, func(tx *bolt.Tx) error {
		id := firstWithPrefix(tx.Bucket(bOperatorPhones), key(tenantID, phone))
		if id == nil {
			return notFound("operator")
		}
		ok, err := get(tx.Bucket(bOperators), key(tenantID, string(id)), &o)
		if err == nil && !ok {
			err = notFound("operator")
		}
		return err
	})
	if err != nil {
		return relay.Operator{}, fmt.Errorf("get operator by phone in %s: %w", tenantID, err)
	}
	return o, nil
}

// PutOperator stores o, replacing the operator with the same id.
func (s *Store) PutOperator(ctx context.Context, o relay.Operator) error {
	if o.TenantID == "" || o.ID == "" {
		return fmt.Errorf("put operator: %w", invalid("operator tenant and id are required"))
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		ops, phones := tx.Bucket(bOperators), tx.Bucket(bOperatorPhones)
		var old relay.Operator
		if ok, err := get(ops, key(o.TenantID, o.ID), &old); err != nil {
			return err
		} else if ok {
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
		return fmt.Errorf("put operator %s/%s: %w", o.TenantID, o.ID, err)
	}
	return nil
}

// Customer returns one of a tenant's customers.
func (s *Store) Customer(ctx context.Context, tenantID, id string) (relay.Customer, error) {
	var c relay.Customer
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ok, err := get(tx.Bucket(bCustomers), key(tenantID, id), &c)
		if err == nil && !ok {
			err = notFound("customer")
		}
		return err
	})
	if err != nil {
		return relay.Customer{}, fmt.Errorf("get customer %s/%s: %w", tenantID, id, err)
	}
	return c, nil
}

// CustomerByPhone returns the tenant's customer with the given phone; when
// several share it, the one with the lowest id.
func (s *Store) CustomerByPhone(ctx context.Context, tenantID, phone string) (relay.Customer, error) {
	var c relay.Customer
	err := s.view(ctx, func(tx *bolt.Tx) error {
		id := firstWithPrefix(tx.Bucket(bCustomerPhones), key(tenantID, phone))
		if id == nil {
			return notFound("customer")
		}
		ok, err := get(tx.Bucket(bCustomers), key(tenantID, string(id)), &c)
		if err == nil && !ok {
			err = notFound("customer")
		}
		return err
	})
	if err != nil {
		return relay.Customer{}, fmt.Errorf("get customer by phone in %s: %w", tenantID, err)
	}
	return c, nil
}

// PutCustomer stores c, replacing the customer with the same id.
func (s *Store) PutCustomer(ctx context.Context, c relay.Customer) error {
	if c.TenantID == "" || c.ID == "" {
		return fmt.Errorf("put customer: %w", invalid("customer tenant and id are required"))
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		cs, phones := tx.Bucket(bCustomers), tx.Bucket(bCustomerPhones)
		var old relay.Customer
		if ok, err := get(cs, key(c.TenantID, c.ID), &old); err != nil {
			return err
		} else if ok {
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
		return fmt.Errorf("put customer %s/%s: %w", c.TenantID, c.ID, err)
	}
	return nil
}

// JobsForCustomer returns the customer's jobs ordered by id.
func (s *Store) JobsForCustomer(ctx context.Context, tenantID, customerID string) ([]relay.Job, error) {
	var js []relay.Job
	err := s.view(ctx, func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bJobs)
		prefix := key(tenantID, customerID)
		c := tx.Bucket(bCustomerJobs).Cursor()
		for k, id := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, id = c.Next() {
			var j relay.Job
			ok, err := get(jobs, key(tenantID, string(id)), &j)
			if err != nil {
				return err
			}
			if ok {
				js = append(js, j)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs of customer %s/%s: %w", tenantID, customerID, err)
	}
	sort.Slice(js, func(i, k int) bool { return js[i].ID < js[k].ID })
	return js, nil
}

// PutJob stores j, replacing the job with the same id.
func (s *Store) PutJob(ctx context.Context, j relay.Job) error {
	if j.TenantID == "" || j.ID == "" {
		return fmt.Errorf("put job: %w", invalid("job tenant and id are required"))
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		jobs, byCustomer := tx.Bucket(bJobs), tx.Bucket(bCustomerJobs)
		var old relay.Job
		if ok, err := get(jobs, key(j.TenantID, j.ID), &old); err != nil {
			return err
		} else if ok {
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
		return fmt.Errorf("put job %s/%s: %w", j.TenantID, j.ID, err)
	}
	return nil
}

// CreateRelay stores r with Version 1; Conflict if its id exists.
func (s *Store) CreateRelay(ctx context.Context, r *relay.Relay) error {
	if r.ID == "" {
		return fmt.Errorf("create relay: %w", invalid("relay id is empty"))
	}
	stored := *r
	stored.Version = 1
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bRelays)
		if b.Get([]byte(r.ID)) != nil {
			return relay.Errorf(relay.Conflict, "relay already exists")
		}
		return put(b, []byte(r.ID), stored)
	})
	if err != nil {
		return fmt.Errorf("create relay %s: %w", r.ID, err)
	}
	r.Version = 1
	return nil
}

// Relay returns the relay with the given id.
func (s *Store) Relay(ctx context.Context, id string) (relay.Relay, error) {
	var r relay.Relay
	err := s.view(ctx, func(tx *bolt.Tx) error {
		ok, err := get(tx.Bucket(bRelays), []byte(id), &r)
		if err == nil && !ok {
			err = notFound("relay")
		}
		return err
	})
	if err != nil {
		return relay.Relay{}, fmt.Errorf("get relay %s: %w", id, err)
	}
	return r, nil
}

// UpdateRelay stores r if the stored version equals r.Version and then
// increments r.Version; Conflict if the version differs, NotFound if the
// relay does not exist.
func (s *Store) UpdateRelay(ctx context.Context, r *relay.Relay) error {
	stored := *r
	stored.Version = r.Version + 1
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bRelays)
		var cur struct {
			Version int64 `json:"version"`
		}
		if ok, err := get(b, []byte(r.ID), &cur); err != nil {
			return err
		} else if !ok {
			return notFound("relay")
		}
		if cur.Version != r.Version {
			return relay.Errorf(relay.Conflict, "relay changed")
		}
		return put(b, []byte(r.ID), stored)
	})
	if err != nil {
		return fmt.Errorf("update relay %s: %w", r.ID, err)
	}
	r.Version = stored.Version
	return nil
}

func codeKey(tenantID, operatorID string, code int) []byte {
	return key(tenantID, operatorID, strconv.Itoa(code))
}

// ClaimCode stores l unless an unexpired lease holds the same code.
func (s *Store) ClaimCode(ctx context.Context, l relay.CodeLease) error {
	if l.TenantID == "" || l.OperatorID == "" {
		return fmt.Errorf("claim code: %w", invalid("lease tenant and operator are required"))
	}
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bCodes)
		k := codeKey(l.TenantID, l.OperatorID, l.Code)
		var cur relay.CodeLease
		if ok, err := get(b, k, &cur); err != nil {
			return err
		} else if ok && cur.ExpiresAt.After(l.CreatedAt) {
			return relay.Errorf(relay.Conflict, "code already leased")
		}
		return put(b, k, l)
	})
	if err != nil {
		return fmt.Errorf("claim code %d of %s/%s: %w", l.Code, l.TenantID, l.OperatorID, err)
	}
	return nil
}

// Codes returns the operator's leases, expired ones included.
func (s *Store) Codes(ctx context.Context, tenantID, operatorID string) ([]relay.CodeLease, error) {
	var ls []relay.CodeLease
	err := s.view(ctx, func(tx *bolt.Tx) error {
		prefix := key(tenantID, operatorID)
		c := tx.Bucket(bCodes).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var l relay.CodeLease
			if err := json.Unmarshal(v, &l); err != nil {
				return err
			}
			ls = append(ls, l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list codes of %s/%s: %w", tenantID, operatorID, err)
	}
	return ls, nil
}

type counter struct {
	// Window is the start of the counted window in Unix nanoseconds.
	Window int64 `json:"window"`
	Count  int   `json:"count"`
}

// Take counts one use of key in the fixed window containing now and reports
// whether the count stayed within limit.
func (s *Store) Take(ctx context.Context, k string, limit int, window time.Duration, now time.Time) (bool, error) {
	if k == "" || window <= 0 {
		return false, fmt.Errorf("take %s: %w", k, invalid("take needs a key and a positive window"))
	}
	start := relay.WindowStart(now, window)
	var c counter
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bTakes)
		if _, err := get(b, []byte(k), &c); err != nil {
			return err
		}
		switch {
		case start > c.Window:
			c = counter{Window: start, Count: 1}
		default:
			// The same window, or a caller whose clock lags: count it
			// against the newest window rather than reopening an old one.
			c.Count++
		}
		return put(b, []byte(k), c)
	})
	if err != nil {
		return false, fmt.Errorf("take %s: %w", k, err)
	}
	return c.Count <= limit, nil
}

type optOut struct {
	OptedOut bool      `json:"opted_out"`
	At       time.Time `json:"at"`
}

// SetOptOut records whether phone opted out of the tenant's texts. A change
// older than the recorded one is ignored, so STOP and START delivered out of
// order keep the later decision.
func (s *Store) SetOptOut(ctx context.Context, tenantID, phone string, optedOut bool, at time.Time) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bOptOuts)
		var cur optOut
		if ok, err := get(b, key(tenantID, phone), &cur); err != nil || (ok && cur.At.After(at)) {
			return err
		}
		return put(b, key(tenantID, phone), optOut{OptedOut: optedOut, At: at})
	})
	if err != nil {
		return fmt.Errorf("set opt-out in %s: %w", tenantID, err)
	}
	return nil
}

// OptedOut reports whether phone opted out of the tenant's texts.
func (s *Store) OptedOut(ctx context.Context, tenantID, phone string) (bool, error) {
	var cur optOut
	err := s.view(ctx, func(tx *bolt.Tx) error {
		_, err := get(tx.Bucket(bOptOuts), key(tenantID, phone), &cur)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("get opt-out in %s: %w", tenantID, err)
	}
	return cur.OptedOut, nil
}

// Ping reports whether the file is still open.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.view(ctx, func(*bolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("ping bolt store: %w", err)
	}
	return nil
}
