package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
)

// RegistryStore is what the Registry needs from the store: the directory
// reads, its conditional writes and lists, and the reply-code leases and
// relays that tell whether someone holds open relays.
type RegistryStore interface {
	Directory
	DirectoryWriter
	DirectoryLister
	Codes(ctx context.Context, tenantID, operatorID string) ([]CodeLease, error)
	Relay(ctx context.Context, id string) (Relay, error)
}

// Registry keeps tenants' directories for the Directory API and relayctl
// import: it validates entries, keeps references intact (a job's customer
// and operator, a chain's operators), refuses deletes that would strand
// open relays, honours entity tags and audits every change as a
// directory_change. It caches nothing: the next inbound text routes by
// what the store holds once a call returns.
type Registry struct {
	Store RegistryStore
	Audit Auditor
	Log   *slog.Logger
	// Now and NewID are injected so tests control time and ids.
	Now   func() time.Time
	NewID func() string
	// Changed, when set, runs after every stored change; wiring passes the
	// process's DirectoryCache.Flush, so this process routes by the change at once.
	Changed func()
}

// Entry kinds, as directory_change audit records name them.
const (
	KindTenant   = "tenant"
	KindOperator = "operator"
	KindCustomer = "customer"
	KindJob      = "job"
)

// ErrStale is the cause of a write refused because the caller's If-Match
// or If-None-Match no longer holds (HTTP 412).
var ErrStale = errors.New("precondition failed")

// Precondition is a conditional request's entity tags: IfMatch "*" or a
// list of tags, IfNoneMatch "*". Empty fields do not constrain.
type Precondition struct {
	IfMatch     string
	IfNoneMatch string
}

func (p Precondition) check(exists bool, etag string) error {
	if p.IfNoneMatch != "" && exists && (strings.TrimSpace(p.IfNoneMatch) == "*" || tagIn(p.IfNoneMatch, etag)) {
		return &Error{Kind: Conflict, Msg: "the entry exists (If-None-Match)", Err: ErrStale}
	}
	if p.IfMatch == "" {
		return nil
	}
	if !exists {
		return &Error{Kind: Conflict, Msg: "the entry does not exist (If-Match)", Err: ErrStale}
	}
	if strings.TrimSpace(p.IfMatch) != "*" && !tagIn(p.IfMatch, etag) {
		return &Error{Kind: Conflict, Msg: "the entry changed: If-Match " + p.IfMatch + " is stale, the current ETag is " + etag, Err: ErrStale}
	}
	return nil
}

// tagIn reports whether etag is in a comma-separated If-Match list; weak
// tags compare by their opaque part.
func tagIn(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == etag {
			return true
		}
	}
	return false
}

// Saved is the outcome of a write: the stored document, its ETag and
// whether the entry was created.
type Saved[D any] struct {
	Doc     D
	ETag    string
	Created bool
}

const casRetries = 5

func (g *Registry) now() time.Time {
	if g.Now != nil {
		return g.Now().UTC()
	}
	return time.Now().UTC()
}

func (g *Registry) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

// change audits one directory change; a failed audit write is logged and
// never undoes the change.
func (g *Registry) change(ctx context.Context, tenantID, kind, id, customerID string, before, after any, by Actor) {
	if g.Changed != nil {
		g.Changed()
	}
	e := AuditEvent{Timestamp: g.now(), TenantID: tenantID, Event: EventDirectoryChange, Kind: kind,
		EntityID: id, CustomerID: customerID, Actor: by.String(), RoutingReason: kind + "_changed"}
	if g.NewID != nil {
		e.ID = g.NewID()
	} else {
		e.ID = fmt.Sprintf("%016x%08x", rand.Uint64(), rand.Uint32())
	}
	if before != nil {
		e.Before, _ = json.Marshal(before)
	}
	if after != nil {
		e.After, _ = json.Marshal(after)
	}
	if g.Audit == nil {
		return
	}
	if err := g.Audit.Record(ctx, e); err != nil {
		g.log().ErrorContext(ctx, "audit write failed", "event", e.Event, "tenant", tenantID, "kind", kind, "id", id, "err", err)
	}
}

// entry is one kind of directory entry as the generic write paths see it.
type entry[E, D any] struct {
	kind     string
	tenantID string
	id       string
	load     func(ctx context.Context) (E, error)
	doc      func(E) D
	customer func(E) string // the customer an audit record names, if any
	write    func(ctx context.Context, next E, prev *E) error
	remove   func(ctx context.Context, prev E) error
}

func sameDoc(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// put runs the conditional replace: read, check the precondition, build
// the next value, write it conditional on what was read, and retry when
// someone else wrote in between (unless the caller's tag pinned a version).
func put[E, D any](ctx context.Context, g *Registry, e entry[E, D], pre Precondition, by Actor, next func(cur *E) (E, error)) (Saved[D], error) {
	for try := 0; ; try++ {
		cur, err := e.load(ctx)
		exists := err == nil
		if err != nil && !IsKind(err, NotFound) {
			return Saved[D]{}, fmt.Errorf("read %s %s: %w", e.kind, e.id, err)
		}
		var prev *E
		if exists {
			prev = &cur
		}
		if exists {
			err = pre.check(true, ETag(e.doc(cur)))
		} else {
			err = pre.check(false, "")
		}
		if err != nil {
			return Saved[D]{}, err
		}
		nv, err := next(prev)
		if err != nil {
			return Saved[D]{}, err
		}
		doc := e.doc(nv)
		if exists && sameDoc(e.doc(cur), doc) {
			return Saved[D]{Doc: doc, ETag: ETag(doc)}, nil // nothing changed: no write, no audit
		}
		err = e.write(ctx, nv, prev)
		if err == nil {
			var before any
			if exists {
				before = e.doc(cur)
			}
			g.change(ctx, e.tenantID, e.kind, e.id, e.customer(nv), before, doc, by)
			return Saved[D]{Doc: doc, ETag: ETag(doc), Created: !exists}, nil
		}
		if !IsKind(err, Conflict) && !IsKind(err, NotFound) {
			return Saved[D]{}, fmt.Errorf("write %s %s: %w", e.kind, e.id, err)
		}
		// Someone changed the entry meanwhile, or the conflict is another one
		// (a number another tenant publishes): re-read to tell them apart.
		now, lerr := e.load(ctx)
		changed := (lerr == nil) != exists || (lerr == nil && !sameDoc(e.doc(now), e.doc(cur)))
		if !changed {
			return Saved[D]{}, fmt.Errorf("write %s %s: %w", e.kind, e.id, err)
		}
		if pre.IfMatch != "" || pre.IfNoneMatch != "" {
			return Saved[D]{}, &Error{Kind: Conflict, Msg: e.kind + " " + e.id + " changed meanwhile; read it again", Err: errors.Join(ErrStale, err)}
		}
		if try >= casRetries {
			return Saved[D]{}, &Error{Kind: Conflict, Msg: e.kind + " " + e.id + " keeps changing; try again", Err: err}
		}
	}
}

// del runs the conditional delete; guard names what still depends on the
// entry (a Conflict), cascade runs after the delete.
func del[E, D any](ctx context.Context, g *Registry, e entry[E, D], pre Precondition, by Actor, guard func(E) error) (E, error) {
	for try := 0; ; try++ {
		cur, err := e.load(ctx)
		if err != nil {
			if IsKind(err, NotFound) {
				return cur, Errorf(NotFound, "%s %s not found", e.kind, e.id)
			}
			return cur, fmt.Errorf("read %s %s: %w", e.kind, e.id, err)
		}
		if err := pre.check(true, ETag(e.doc(cur))); err != nil {
			return cur, err
		}
		if guard != nil {
			if err := guard(cur); err != nil {
				return cur, err
			}
		}
		err = e.remove(ctx, cur)
		if err == nil {
			g.change(ctx, e.tenantID, e.kind, e.id, e.customer(cur), e.doc(cur), nil, by)
			return cur, nil
		}
		if !IsKind(err, Conflict) || pre.IfMatch != "" || try >= casRetries {
			if IsKind(err, Conflict) && pre.IfMatch != "" {
				return cur, &Error{Kind: Conflict, Msg: e.kind + " " + e.id + " changed meanwhile; read it again", Err: errors.Join(ErrStale, err)}
			}
			if IsKind(err, Conflict) {
				return cur, &Error{Kind: Conflict, Msg: e.kind + " " + e.id + " keeps changing; try again", Err: err}
			}
			if IsKind(err, NotFound) {
				return cur, Errorf(NotFound, "%s %s not found", e.kind, e.id)
			}
			return cur, fmt.Errorf("delete %s %s: %w", e.kind, e.id, err)
		}
	}
}

// requireTenant fails with NotFound when the tenant does not exist.
func (g *Registry) requireTenant(ctx context.Context, tenantID string) (Tenant, error) {
	t, err := g.Store.Tenant(ctx, tenantID)
	if err != nil {
		if IsKind(err, NotFound) {
			return t, Errorf(NotFound, "tenant %s not found", tenantID)
		}
		return t, fmt.Errorf("read tenant %s: %w", tenantID, err)
	}
	return t, nil
}

// idFromPath fills a document's empty id from the route and refuses a
// different one.
func idFromPath(fe *FieldErrors, docID *string, pathID string) {
	switch {
	case *docID == "":
		*docID = pathID
	case *docID != pathID:
		fe.add("id", "%q does not match the id in the path, %q", *docID, pathID)
	}
}

// dropField removes one rule's error of a field from a validation error.
func dropField(err error, field, msg string) error {
	var fe FieldErrors
	if !errors.As(err, &fe) {
		return err
	}
	var keep FieldErrors
	for _, f := range fe {
		if f.Field != field || f.Message != msg {
			keep = append(keep, f)
		}
	}
	if len(keep) == 0 {
		return nil
	}
	return keep.err(KindTenant)
}

// joinInvalid merges a model's validation error with further field errors.
func joinInvalid(kind string, err error, more FieldErrors) error {
	var fe FieldErrors
	if err != nil && !errors.As(err, &fe) {
		return err
	}
	all := append(append(FieldErrors{}, more...), fe...)
	return all.err(kind)
}

// --- tenant -------------------------------------------------------------------

func (g *Registry) tenantEntry(tenantID string) entry[Tenant, TenantDoc] {
	return entry[Tenant, TenantDoc]{kind: KindTenant, tenantID: tenantID, id: tenantID,
		load:     func(ctx context.Context) (Tenant, error) { return g.Store.Tenant(ctx, tenantID) },
		doc:      Tenant.Doc,
		customer: func(Tenant) string { return "" },
		write: func(ctx context.Context, next Tenant, prev *Tenant) error {
			return g.Store.ReplaceTenant(ctx, next, prev)
		},
	}
}

// GetTenant returns the tenant's settings and their ETag.
func (g *Registry) GetTenant(ctx context.Context, tenantID string) (Saved[TenantDoc], error) {
	t, err := g.requireTenant(ctx, tenantID)
	if err != nil {
		return Saved[TenantDoc]{}, err
	}
	return Saved[TenantDoc]{Doc: t.Doc(), ETag: ETag(t.Doc())}, nil
}

// PutTenant creates or replaces the tenant's settings. Every chain entry
// must name an existing operator of the tenant.
func (g *Registry) PutTenant(ctx context.Context, tenantID string, d TenantDoc, pre Precondition, by Actor) (Saved[TenantDoc], error) {
	var fe FieldErrors
	idFromPath(&fe, &d.ID, tenantID)
	t := d.Tenant()
	verr := t.Validate()
	if _, err := g.Store.Tenant(ctx, tenantID); IsKind(err, NotFound) {
		// A new tenant may start without a chain or fallback: its operators
		// can only be added once it exists, and the chain names them.
		verr = dropField(verr, "chain", chainOrFallback)
	}
	for i, id := range t.Chain {
		if !ValidID(id) {
			continue
		}
		if _, err := g.Store.Operator(ctx, tenantID, id); err != nil {
			if !IsKind(err, NotFound) {
				return Saved[TenantDoc]{}, fmt.Errorf("check chain: %w", err)
			}
			fe.add(fmt.Sprintf("chain[%d]", i), "no operator %q in this tenant", id)
		}
	}
	if err := joinInvalid(KindTenant, verr, fe); err != nil {
		return Saved[TenantDoc]{}, err
	}
	return put(ctx, g, g.tenantEntry(tenantID), pre, by, func(*Tenant) (Tenant, error) { return t, nil })
}

// --- helpers ----------------------------------------------------------------------

func notFoundAs(err error, kind, id string) error {
	if IsKind(err, NotFound) {
		return Errorf(NotFound, "%s %s not found", kind, id)
	}
	return fmt.Errorf("read %s %s: %w", kind, id, err)
}

// eachOperator calls fn for every operator of the tenant.
func (g *Registry) eachOperator(ctx context.Context, tenantID string, fn func(Operator) error) error {
	q := ListQuery{Limit: MaxListLimit}
	for {
		ops, next, err := g.Store.ListOperators(ctx, tenantID, q)
		if err != nil {
			return fmt.Errorf("list operators of %s: %w", tenantID, err)
		}
		for _, o := range ops {
			if err := fn(o); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

// eachJob calls fn for every job of the tenant matching q, after listing
// them all, so fn may change or delete the jobs.
func (g *Registry) eachJob(ctx context.Context, tenantID string, q ListQuery, fn func(Job) error) error {
	q.Limit = MaxListLimit
	var all []Job
	for {
		js, next, err := g.Store.ListJobs(ctx, tenantID, q)
		if err != nil {
			return fmt.Errorf("list jobs of %s: %w", tenantID, err)
		}
		all = append(all, js...)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	for _, j := range all {
		if err := fn(j); err != nil {
			return err
		}
	}
	return nil
}
