// Package s3audit keeps the relay's audit log as one object per event in an
// S3 bucket (or a directory, in the dev server), keyed by tenant and time so
// that a prefix lists a day and lexical order is time order. Nothing is ever
// read, modified and written back, so concurrent writers cannot lose events
// the way the original system's single maintenance.json object did; that
// file is produced on demand by Export.
package s3audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Query limits.
const (
	// DefaultLimit is the page size when AuditQuery.Limit is 0.
	DefaultLimit = 100
	// MaxLimit caps AuditQuery.Limit.
	MaxLimit = 1000
	// DefaultScanLimit bounds the objects one Query reads; a selective
	// filter over a long history then returns a short page and a cursor
	// instead of running past the caller's deadline.
	DefaultScanLimit = 2000
	// DefaultParallelism is how many objects a Query reads at once.
	DefaultParallelism = 16
)

// Log is the audit log: a relay.Auditor and relay.AuditReader on a Bucket.
type Log struct {
	bucket      Bucket
	now         func() time.Time
	newID       func() string
	logger      *slog.Logger
	scanLimit   int
	parallelism int
}

var (
	_ relay.Auditor     = (*Log)(nil)
	_ relay.AuditReader = (*Log)(nil)
)

// Option configures a Log.
type Option func(*Log)

// WithClock sets the clock that stamps events recorded without a timestamp.
func WithClock(now func() time.Time) Option { return func(l *Log) { l.now = now } }

// WithIDs sets the generator of ids for events recorded without one.
func WithIDs(newID func() string) Option { return func(l *Log) { l.newID = newID } }

// WithLogger sets where unreadable audit objects are reported.
func WithLogger(logger *slog.Logger) Option { return func(l *Log) { l.logger = logger } }

// WithScanLimit bounds how many objects one Query reads before it returns
// a page with a cursor; n <= 0 keeps DefaultScanLimit.
func WithScanLimit(n int) Option {
	return func(l *Log) {
		if n > 0 {
			l.scanLimit = n
		}
	}
}

// WithParallelism sets how many objects a Query reads at once; n <= 0 keeps
// DefaultParallelism.
func WithParallelism(n int) Option {
	return func(l *Log) {
		if n > 0 {
			l.parallelism = n
		}
	}
}

// New returns a Log that stores events in b.
func New(b Bucket, opts ...Option) *Log {
	l := &Log{
		bucket: b, now: time.Now, newID: randomID, logger: slog.Default(),
		scanLimit: DefaultScanLimit, parallelism: DefaultParallelism,
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// randomID returns 128 random bits in hex.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Record stores e as its own object. An empty ID is assigned and a zero
// Timestamp is set to now. Recording the same event (same id and time)
// twice stores it once.
func (l *Log) Record(ctx context.Context, e relay.AuditEvent) error {
	if e.ID == "" {
		e.ID = l.newID()
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = l.now()
	}
	e.Timestamp = e.Timestamp.UTC()
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode audit event %s: %w", e.ID, relay.Wrap(relay.Internal, err, "bad audit event"))
	}
	err = l.bucket.Put(ctx, objectKey(e), body)
	if relay.IsKind(err, relay.Conflict) {
		// The key holds the event's id and time: a retry already stored it.
		return nil
	}
	if err != nil {
		return fmt.Errorf("record audit event %s: %w", e.ID, err)
	}
	return nil
}

// Query returns one page of a tenant's events in time order. It lists
// keys from the later of Since and the cursor and stops at Until, so it
// reads only the part of the history the query covers; other filters are
// applied to the events read. Next is empty when nothing follows. A page
// may hold fewer than Limit events, even none, with a non-empty Next when
// the scan limit was reached.
func (l *Log) Query(ctx context.Context, q relay.AuditQuery) (relay.AuditPage, error) {
	if q.TenantID == "" {
		return relay.AuditPage{}, relay.Errorf(relay.Invalid, "tenant is required")
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return relay.AuditPage{}, relay.Errorf(relay.Invalid, "until is before since")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)

	prefix := tenantPrefix(q.TenantID)
	start := ""
	if !q.Since.IsZero() {
		start = prefix + timeKey(q.Since)
	}
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, q.TenantID)
		if err != nil {
			return relay.AuditPage{}, err
		}
		start = max(start, c)
	}
	end := "" // keys at or after end are past Until
	if !q.Until.IsZero() {
		end = prefix + timeKey(q.Until)
	}

	page := relay.AuditPage{Records: []relay.AuditEvent{}}
	// Without content filters every key in range is a record, so listing
	// one more than the page tells whether another page follows; with them,
	// list generously to save round trips.
	filtered := q.CustomerID != "" || q.Operator != "" || q.MessageSid != "" || q.Event != ""
	batch := limit + 1
	if filtered {
		batch = 4 * limit
	}
	batch = min(max(batch, 2), 1000)
	scanned := 0
	for {
		keys, more, err := l.bucket.List(ctx, prefix, start, batch)
		if err != nil {
			return relay.AuditPage{}, fmt.Errorf("query audit of tenant %s: %w", q.TenantID, err)
		}
		for i, k := range keys {
			if end != "" && k >= end {
				keys, more = keys[:i], false
				break
			}
		}
		// Read the listed objects a chunk at a time: as many as records are
		// still wanted, or with filters at least a parallel round's worth.
		for off := 0; off < len(keys); {
			n := limit - len(page.Records)
			if filtered {
				n = max(n, l.parallelism)
			}
			n = min(n, len(keys)-off, l.scanLimit-scanned)
			if n <= 0 { // the scan budget is spent: continue after what was read
				last := start
				if off > 0 {
					last = keys[off-1]
				}
				if last != "" {
					page.Next = encodeCursor(last)
				}
				return page, nil
			}
			chunk := keys[off : off+n]
			events, err := l.read(ctx, chunk)
			if err != nil {
				return relay.AuditPage{}, fmt.Errorf("query audit of tenant %s: %w", q.TenantID, err)
			}
			for i, e := range events {
				if e == nil || e.TenantID != q.TenantID || !q.Matches(*e) {
					continue
				}
				page.Records = append(page.Records, *e)
				if len(page.Records) == limit {
					if off+i+1 < len(keys) || more {
						page.Next = encodeCursor(chunk[i])
					}
					return page, nil
				}
			}
			off += n
			scanned += n
			if scanned >= l.scanLimit && (off < len(keys) || more) {
				page.Next = encodeCursor(chunk[len(chunk)-1])
				return page, nil
			}
		}
		if !more || len(keys) == 0 {
			return page, nil
		}
		start = keys[len(keys)-1]
	}
}

// read fetches and decodes the objects under keys in parallel. An object
// that vanished or does not decode is logged and left nil rather than
// failing every query that covers it.
func (l *Log) read(ctx context.Context, keys []string) ([]*relay.AuditEvent, error) {
	out := make([]*relay.AuditEvent, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, l.parallelism)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body, err := l.bucket.Get(ctx, k)
			if relay.IsKind(err, relay.NotFound) {
				l.logger.WarnContext(ctx, "audit object vanished", "key", k)
				return
			}
			if err != nil {
				errs[i] = err
				return
			}
			var e relay.AuditEvent
			if err := json.Unmarshal(body, &e); err != nil {
				l.logger.ErrorContext(ctx, "unreadable audit object", "key", k, "err", err)
				return
			}
			out[i] = &e
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
