package s3audit

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var t0 = time.Date(2024, 1, 15, 14, 23, 45, 0, time.UTC)

// event builds a routed event; at is an offset from t0.
func event(tenant, id string, at time.Duration, sid, customer, operator string) relay.AuditEvent {
	return relay.AuditEvent{
		ID: id, TenantID: tenant, Timestamp: t0.Add(at), Event: relay.EventRouted,
		MessageSid: sid, CustomerID: customer, RoutedToOperator: operator,
		RoutingReason: relay.ReasonPrimary,
	}
}

func ids(events []relay.AuditEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// queryAll follows cursors to the end, checking every page's size.
func queryAll(t *testing.T, l *Log, q relay.AuditQuery) []relay.AuditEvent {
	t.Helper()
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	var all []relay.AuditEvent
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("cursor does not end")
		}
		page, err := l.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		if len(page.Records) > limit {
			t.Fatalf("got page of %d records, want at most %d", len(page.Records), limit)
		}
		all = append(all, page.Records...)
		if page.Next == "" {
			return all
		}
		q.Cursor = page.Next
	}
}

func TestObjectKey(t *testing.T) {
	at := time.Date(2024, 1, 5, 3, 4, 5, 6, time.FixedZone("PST", -8*3600))
	n := fmt.Sprintf("%019d", at.UnixNano())
	tests := []struct {
		name   string
		tenant string
		id     string
		want   string
	}{
		{"plain", "qdn", "e1", "audit/qdn/2024/01/05/" + n + "-e1.json"},
		{"no tenant", "", "e1", "audit/_unknown/2024/01/05/" + n + "-e1.json"},
		{"tenant named like the unknown folder", "_unknown", "e1", "audit/%5Funknown/2024/01/05/" + n + "-e1.json"},
		{"slash in tenant", "a/b", "e1", "audit/a%2Fb/2024/01/05/" + n + "-e1.json"},
		{"dot-dot tenant", "..", "e1", "audit/%2E%2E/2024/01/05/" + n + "-e1.json"},
		{"unicode tenant", "été", "e1", "audit/%C3%A9t%C3%A9/2024/01/05/" + n + "-e1.json"},
		{"slash in id", "qdn", "x/../y", "audit/qdn/2024/01/05/" + n + "-x%2F%2E%2E%2Fy.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := objectKey(relay.AuditEvent{TenantID: tt.tenant, ID: tt.id, Timestamp: at})
			if got != tt.want {
				t.Errorf("got key %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRecordAssignsIDAndTime(t *testing.T) {
	forEachBucket(t, func(t *testing.T, b Bucket) {
		ctx := context.Background()
		now := time.Date(2024, 1, 15, 23, 59, 59, 123456789, time.UTC)
		l := New(b, WithClock(func() time.Time { return now }), WithIDs(func() string { return "gen1" }))
		if err := l.Record(ctx, relay.AuditEvent{TenantID: "qdn", Event: relay.EventNote, Note: "hi"}); err != nil {
			t.Fatalf("Record: %v", err)
		}
		keys, _, err := b.List(ctx, "audit/", "", 10)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		want := []string{"audit/qdn/2024/01/15/" + fmt.Sprintf("%019d", now.UnixNano()) + "-gen1.json"}
		if !slices.Equal(keys, want) {
			t.Fatalf("got keys %q, want %q", keys, want)
		}
		page, err := l.Query(ctx, relay.AuditQuery{TenantID: "qdn"})
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		if len(page.Records) != 1 {
			t.Fatalf("got %d records, want 1", len(page.Records))
		}
		got := page.Records[0]
		if got.ID != "gen1" || !got.Timestamp.Equal(now) || got.Note != "hi" {
			t.Errorf("got id %q time %v note %q, want gen1 %v hi", got.ID, got.Timestamp, got.Note, now)
		}
		// Recording the same event again (a retry) stores it once.
		if err := l.Record(ctx, got); err != nil {
			t.Errorf("Record again: %v", err)
		}
		if keys, _, _ := b.List(ctx, "audit/", "", 10); len(keys) != 1 {
			t.Errorf("got %d objects after a repeated Record, want 1", len(keys))
		}
	})
}

func TestQueryFilters(t *testing.T) {
	day := 24 * time.Hour
	data := []relay.AuditEvent{
		event("qdn", "e1", 0, "SM1", "cust_1", "sergio_main"),
		event("qdn", "e2", time.Minute, "SM1", "cust_1", "sergio_backup"),
		event("qdn", "e3", time.Hour, "SM2", "cust_2", "sergio_main"),
		event("qdn", "e4", day, "SM3", "cust_1", "emergency"),
		event("qdn", "e5", day+time.Second, "SM4", "cust_2", "sergio_main"),
		event("qdn", "e6", 3*day, "SM5", "cust_1", "sergio_main"),
		event("other", "x1", time.Minute, "SM1", "cust_1", "sergio_main"),
	}
	tests := []struct {
		name string
		q    relay.AuditQuery
		want []string
	}{
		{"all", relay.AuditQuery{}, []string{"e1", "e2", "e3", "e4", "e5", "e6"}},
		{"customer", relay.AuditQuery{CustomerID: "cust_2"}, []string{"e3", "e5"}},
		{"operator", relay.AuditQuery{Operator: "sergio_main"}, []string{"e1", "e3", "e5", "e6"}},
		{"message sid", relay.AuditQuery{MessageSid: "SM1"}, []string{"e1", "e2"}},
		{"since is inclusive", relay.AuditQuery{Since: t0.Add(time.Hour)}, []string{"e3", "e4", "e5", "e6"}},
		{"until is exclusive", relay.AuditQuery{Until: t0.Add(day)}, []string{"e1", "e2", "e3"}},
		{"one day", relay.AuditQuery{Since: t0.Add(day), Until: t0.Add(2 * day)}, []string{"e4", "e5"}},
		{"since between events", relay.AuditQuery{Since: t0.Add(time.Nanosecond)}, []string{"e2", "e3", "e4", "e5", "e6"}},
		{"since equals until", relay.AuditQuery{Since: t0, Until: t0}, []string{}},
		{"combined", relay.AuditQuery{CustomerID: "cust_1", Operator: "sergio_main", Since: t0.Add(time.Second)}, []string{"e6"}},
		{"nothing matches", relay.AuditQuery{CustomerID: "nobody"}, []string{}},
	}
	forEachBucket(t, func(t *testing.T, b Bucket) {
		l := New(b)
		for _, e := range data {
			if err := l.Record(context.Background(), e); err != nil {
				t.Fatalf("Record: %v", err)
			}
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := tt.q
				q.TenantID = "qdn"
				page, err := l.Query(context.Background(), q)
				if err != nil {
					t.Fatalf("Query: %v", err)
				}
				if got := ids(page.Records); !slices.Equal(got, tt.want) {
					t.Errorf("got %q, want %q", got, tt.want)
				}
				if page.Next != "" {
					t.Errorf("got next %q, want none", page.Next)
				}
			})
		}
	})
}

func TestQueryPaging(t *testing.T) {
	// 120 events over five days, several in the same nanosecond.
	var data []relay.AuditEvent
	for i := range 120 {
		at := time.Duration(i/2) * time.Hour // pairs share an instant
		e := event("qdn", fmt.Sprintf("e%03d", i), at, fmt.Sprintf("SM%d", i%7), fmt.Sprintf("cust_%d", i%3), "op")
		data = append(data, e)
	}
	wantAll := ids(data)
	var wantCust []string
	for _, e := range data {
		if e.CustomerID == "cust_1" {
			wantCust = append(wantCust, e.ID)
		}
	}
	tests := []struct {
		name string
		q    relay.AuditQuery
		want []string
	}{
		{"limit 7", relay.AuditQuery{Limit: 7}, wantAll},
		{"limit 1", relay.AuditQuery{Limit: 1}, wantAll},
		{"limit equals total", relay.AuditQuery{Limit: 120}, wantAll},
		{"default limit", relay.AuditQuery{}, wantAll},
		{"filtered", relay.AuditQuery{Limit: 5, CustomerID: "cust_1"}, wantCust},
		{"bounded", relay.AuditQuery{Limit: 9, Since: t0.Add(24 * time.Hour), Until: t0.Add(48 * time.Hour)}, wantAll[48:96]},
	}
	forEachBucket(t, func(t *testing.T, b Bucket) {
		l := New(b)
		for _, e := range data {
			if err := l.Record(context.Background(), e); err != nil {
				t.Fatalf("Record: %v", err)
			}
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := tt.q
				q.TenantID = "qdn"
				if got := ids(queryAll(t, l, q)); !slices.Equal(got, tt.want) {
					t.Errorf("got %d records %q, want %d %q", len(got), got, len(tt.want), tt.want)
				}
			})
		}
	})
}

// memBucket is a Bucket in memory, for tests of the Log's own logic on
// more objects than a real store writes quickly.
type memBucket struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (m *memBucket) Put(_ context.Context, key string, body []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.objs == nil {
		m.objs = map[string][]byte{}
	}
	if _, ok := m.objs[key]; ok {
		return relay.Errorf(relay.Conflict, "exists")
	}
	m.objs[key] = body
	return nil
}

func (m *memBucket) Get(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return nil, relay.Errorf(relay.NotFound, "missing")
	}
	return b, nil
}

func (m *memBucket) List(_ context.Context, prefix, startAfter string, max int) ([]string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) && k > startAfter {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) > max {
		return keys[:max], true, nil
	}
	return keys, false, nil
}

func TestQueryLimitBounds(t *testing.T) {
	l := New(&memBucket{})
	ctx := context.Background()
	for i := range 1005 {
		if err := l.Record(ctx, event("qdn", fmt.Sprintf("e%04d", i), time.Duration(i)*time.Second, "SM", "c", "o")); err != nil {
			t.Fatalf("Record: %v", err)
		}
	}
	tests := []struct {
		limit int
		want  int
	}{{0, DefaultLimit}, {-3, DefaultLimit}, {5000, MaxLimit}, {1000, 1000}, {17, 17}}
	for _, tt := range tests {
		page, err := l.Query(ctx, relay.AuditQuery{TenantID: "qdn", Limit: tt.limit})
		if err != nil {
			t.Fatalf("Query: %v", err)
		}
		if len(page.Records) != tt.want || page.Next == "" {
			t.Errorf("limit %d: got %d records (next %q), want %d and a cursor", tt.limit, len(page.Records), page.Next, tt.want)
		}
	}
}

func TestQueryTenantIsolation(t *testing.T) {
	tenants := []string{"qdn", "qdn2", "qd", "qdn/x", "..", "_unknown", "a b"}
	forEachBucket(t, func(t *testing.T, b Bucket) {
		l := New(b)
		ctx := context.Background()
		for i, tenant := range append(slices.Clone(tenants), "") {
			for j := range 3 {
				e := event(tenant, fmt.Sprintf("%d-%d", i, j), time.Duration(j)*time.Minute, "SM1", "cust_1", "op")
				if err := l.Record(ctx, e); err != nil {
					t.Fatalf("Record: %v", err)
				}
			}
		}
		for _, tenant := range tenants {
			got := queryAll(t, l, relay.AuditQuery{TenantID: tenant, Limit: 2})
			if len(got) != 3 {
				t.Errorf("tenant %q: got %d records, want 3", tenant, len(got))
			}
			for _, e := range got {
				if e.TenantID != tenant {
					t.Errorf("tenant %q: got a record of tenant %q", tenant, e.TenantID)
				}
			}
		}
	})
}

func TestQueryInvalid(t *testing.T) {
	l := New(newDirBucket(t))
	ctx := context.Background()
	for i := range 3 {
		for _, tenant := range []string{"qdn", "other"} {
			if err := l.Record(ctx, event(tenant, fmt.Sprintf("e%d", i), time.Duration(i)*time.Second, "SM", "c", "o")); err != nil {
				t.Fatalf("Record: %v", err)
			}
		}
	}
	otherPage, err := l.Query(ctx, relay.AuditQuery{TenantID: "other", Limit: 1})
	if err != nil || otherPage.Next == "" {
		t.Fatalf("Query other: %v, next %q", err, otherPage.Next)
	}
	tests := []struct {
		name string
		q    relay.AuditQuery
	}{
		{"no tenant", relay.AuditQuery{}},
		{"until before since", relay.AuditQuery{TenantID: "qdn", Since: t0, Until: t0.Add(-time.Second)}},
		{"cursor not base64", relay.AuditQuery{TenantID: "qdn", Cursor: "%%%"}},
		{"cursor of another tenant", relay.AuditQuery{TenantID: "qdn", Cursor: otherPage.Next}},
		{"cursor outside the audit keys", relay.AuditQuery{TenantID: "qdn", Cursor: encodeCursor("audit/qdn/../other/x")}},
		{"cursor with a bad tail", relay.AuditQuery{TenantID: "qdn", Cursor: encodeCursor("audit/qdn/2024/01/15/123-x.json")}},
		{"cursor of the tenant prefix only", relay.AuditQuery{TenantID: "qdn", Cursor: encodeCursor("audit/qdn/")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Query(ctx, tt.q)
			if got, want := relay.KindOf(err), relay.Invalid; err == nil || got != want {
				t.Errorf("got kind %v (err %v), want %v", got, err, want)
			}
		})
	}
}

// countingBucket records what a Log lists and reads.
type countingBucket struct {
	Bucket
	mu     sync.Mutex
	gets   []string
	starts []string
}

func (c *countingBucket) Get(ctx context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	c.gets = append(c.gets, key)
	c.mu.Unlock()
	return c.Bucket.Get(ctx, key)
}

func (c *countingBucket) List(ctx context.Context, prefix, startAfter string, max int) ([]string, bool, error) {
	c.mu.Lock()
	c.starts = append(c.starts, startAfter)
	c.mu.Unlock()
	return c.Bucket.List(ctx, prefix, startAfter, max)
}

func newDirBucket(t *testing.T) *DirBucket {
	t.Helper()
	b, err := NewDirBucket(filepath.Join(t.TempDir(), "audit"))
	if err != nil {
		t.Fatalf("NewDirBucket: %v", err)
	}
	return b
}

func TestQueryReadsOnlyItsRange(t *testing.T) {
	cb := &countingBucket{Bucket: newDirBucket(t)}
	l := New(cb)
	ctx := context.Background()
	// Ten days, six events a day.
	for d := range 10 {
		for i := range 6 {
			at := time.Duration(d)*24*time.Hour + time.Duration(i)*time.Minute
			if err := l.Record(ctx, event("qdn", fmt.Sprintf("d%d-%02d", d, i), at, "SM", "c", "o")); err != nil {
				t.Fatalf("Record: %v", err)
			}
		}
	}
	since, until := t0.Add(5*24*time.Hour), t0.Add(6*24*time.Hour)
	tests := []struct {
		name     string
		q        relay.AuditQuery
		want     int
		maxReads int
	}{
		{"one day", relay.AuditQuery{Since: since, Until: until, Limit: 1000}, 6, 6},
		{"short page", relay.AuditQuery{Since: since, Limit: 3}, 3, 3},
		{"short filtered page", relay.AuditQuery{Since: since, Until: until, Limit: 2, CustomerID: "c"}, 2, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb.gets, cb.starts = nil, nil
			tt.q.TenantID = "qdn"
			page, err := l.Query(ctx, tt.q)
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			if len(page.Records) != tt.want {
				t.Errorf("got %d records, want %d", len(page.Records), tt.want)
			}
			if len(cb.gets) > tt.maxReads {
				t.Errorf("got %d objects read, want at most %d", len(cb.gets), tt.maxReads)
			}
			lo := tenantPrefix("qdn") + timeKey(since)
			hi := tenantPrefix("qdn") + timeKey(until)
			for _, k := range cb.gets {
				if k < lo || k >= hi {
					t.Errorf("read %s outside [%s, %s)", k, lo, hi)
				}
			}
			for _, s := range cb.starts {
				if s < lo {
					t.Errorf("listed from %q, want from %q or later", s, lo)
				}
			}
		})
	}
}

func TestQueryScanLimit(t *testing.T) {
	l := New(newDirBucket(t), WithScanLimit(10))
	ctx := context.Background()
	var want []string
	for i := range 50 {
		e := event("qdn", fmt.Sprintf("e%02d", i), time.Duration(i)*time.Second, "SM", "c", "o")
		if i%17 == 0 {
			e.CustomerID = "rare"
			want = append(want, e.ID)
		}
		if err := l.Record(ctx, e); err != nil {
			t.Fatalf("Record: %v", err)
		}
	}
	page, err := l.Query(ctx, relay.AuditQuery{TenantID: "qdn", CustomerID: "rare"})
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if got := ids(page.Records); !slices.Equal(got, want[:1]) || page.Next == "" {
		t.Errorf("first page: got %q next %q, want %q and a cursor", got, page.Next, want[:1])
	}
	if got := ids(queryAll(t, l, relay.AuditQuery{TenantID: "qdn", CustomerID: "rare"})); !slices.Equal(got, want) {
		t.Errorf("all pages: got %q, want %q", got, want)
	}
}

func TestRecordConcurrent(t *testing.T) {
	forEachBucket(t, func(t *testing.T, b Bucket) {
		l := New(b)
		ctx := context.Background()
		const writers, each = 16, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					// The same instant for everyone: ids keep the keys apart.
					e := relay.AuditEvent{TenantID: "qdn", Timestamp: t0, Event: relay.EventNote, Note: fmt.Sprintf("%d-%d", w, i)}
					if err := l.Record(ctx, e); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Record: %v", err)
		}
		got := queryAll(t, l, relay.AuditQuery{TenantID: "qdn", Limit: 1000})
		notes, eventIDs := map[string]bool{}, map[string]bool{}
		for _, e := range got {
			notes[e.Note] = true
			eventIDs[e.ID] = e.ID != ""
		}
		if len(got) != writers*each || len(notes) != writers*each || len(eventIDs) != writers*each {
			t.Errorf("got %d records with %d distinct notes and %d ids, want %d", len(got), len(notes), len(eventIDs), writers*each)
		}
		if eventIDs[""] {
			t.Errorf("got an event without an id")
		}
	})
}
