package relay

import (
	"context"
	"sync"
	"time"
)

// DefaultDirectoryTTL is how long a DirectoryCache answer lives: a change
// made through the directory reaches routing within it.
const DefaultDirectoryTTL = time.Second

// maxCacheEntries bounds a DirectoryCache; past it the cache starts over.
const maxCacheEntries = 10000

// DirectoryCache answers the webhook path's repeatable directory reads
// (tenant by number, tenant, operator, operator by phone, not-found answers
// included) from memory for at most its TTL, so a warm process reads them
// once a second instead of once per text. Customers and jobs are always read
// fresh: they are what a dispatch system changes all day.
type DirectoryCache struct {
	Directory
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	v       any
	err     error
	expires time.Time
}

var _ Directory = (*DirectoryCache)(nil)

// NewDirectoryCache wraps d; ttl 0 means DefaultDirectoryTTL and a nil now
// means time.Now.
func NewDirectoryCache(d Directory, ttl time.Duration, now func() time.Time) *DirectoryCache {
	if now == nil {
		now = time.Now
	}
	return &DirectoryCache{Directory: d, ttl: orDefault(ttl, DefaultDirectoryTTL), now: now, entries: map[string]cacheEntry{}}
}

// cached answers key from memory or calls read and keeps its answer; only
// NotFound errors are kept, other errors are retried on the next call.
func cached[T any](c *DirectoryCache, key string, read func() (T, error)) (T, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		v, _ := e.v.(T)
		return v, e.err
	}
	v, err := read()
	if err == nil || IsKind(err, NotFound) {
		c.mu.Lock()
		if len(c.entries) >= maxCacheEntries {
			c.entries = map[string]cacheEntry{}
		}
		c.entries[key] = cacheEntry{v: v, err: err, expires: now.Add(c.ttl)}
		c.mu.Unlock()
	}
	return v, err
}

// Tenant returns the tenant, from memory when read within the TTL.
func (c *DirectoryCache) Tenant(ctx context.Context, id string) (Tenant, error) {
	return cached(c, "t\x00"+id, func() (Tenant, error) { return c.Directory.Tenant(ctx, id) })
}

// TenantByNumber returns the tenant publishing number, from memory when read within the TTL.
func (c *DirectoryCache) TenantByNumber(ctx context.Context, number string) (Tenant, error) {
	return cached(c, "n\x00"+number, func() (Tenant, error) { return c.Directory.TenantByNumber(ctx, number) })
}

// Operator returns the operator, from memory when read within the TTL.
func (c *DirectoryCache) Operator(ctx context.Context, tenantID, id string) (Operator, error) {
	return cached(c, "o\x00"+tenantID+"\x00"+id, func() (Operator, error) { return c.Directory.Operator(ctx, tenantID, id) })
}

// OperatorByPhone returns the tenant's operator with phone, from memory when
// read within the TTL (a customer's phone is cached as "no operator").
func (c *DirectoryCache) OperatorByPhone(ctx context.Context, tenantID, phone string) (Operator, error) {
	return cached(c, "p\x00"+tenantID+"\x00"+phone, func() (Operator, error) {
		return c.Directory.OperatorByPhone(ctx, tenantID, phone)
	})
}

// Flush forgets every answer.
func (c *DirectoryCache) Flush() {
	c.mu.Lock()
	c.entries = map[string]cacheEntry{}
	c.mu.Unlock()
}

// optOutReader is the part of a store the cache answers operators' opt-outs from.
type optOutReader interface {
	OptedOut(ctx context.Context, tenantID, phone string) (bool, error)
}

// OptedOut reports whether phone opted out of the tenant's texts, from
// memory when read within the TTL. The relay asks it of every operator a
// step considers (an operator who texted STOP is skipped); the process that
// records a STOP flushes the cache, others see it within the TTL.
func (c *DirectoryCache) OptedOut(ctx context.Context, tenantID, phone string) (bool, error) {
	r, ok := c.Directory.(optOutReader)
	if !ok {
		return false, Errorf(Internal, "directory has no opt-out state")
	}
	return cached(c, "x\x00"+tenantID+"\x00"+phone, func() (bool, error) { return r.OptedOut(ctx, tenantID, phone) })
}
