package relay_test

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// sender records messages and fails sends to chosen numbers. lost[phone]
// sends to phone reach "Twilio" (they are recorded and found by Lookup) but
// answer a transient error, as when the answer is lost; during runs before
// each send (e.g. to move the clock, as a slow Twilio would).
type sender struct {
	mu      sync.Mutex
	msgs    []relay.Message
	at      []time.Time
	sids    []string
	fail    map[string]error
	lost    map[string]int
	during  func(m relay.Message)
	now     func() time.Time
	n       int
	lookups int
}

func (s *sender) Send(_ context.Context, m relay.Message) (relay.Sent, error) {
	if s.during != nil {
		s.during(m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fail[m.To]; err != nil {
		return relay.Sent{}, err
	}
	s.n++
	sid := fmt.Sprintf("SM%032d", s.n)
	s.msgs = append(s.msgs, m)
	s.sids = append(s.sids, sid)
	var at time.Time
	if s.now != nil {
		at = s.now()
	}
	s.at = append(s.at, at)
	if s.lost[m.To] > 0 {
		s.lost[m.To]--
		return relay.Sent{}, relay.Errorf(relay.Transient, "twilio: outcome of send unknown")
	}
	return relay.Sent{Sid: sid, Status: "queued"}, nil
}

func (s *sender) Lookup(_ context.Context, m relay.Message, since time.Time) (relay.Sent, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	for i, x := range s.msgs {
		if x.To == m.To && x.From == m.From && x.Body == m.Body && !s.at[i].Before(since.Add(-time.Second)) {
			return relay.Sent{Sid: s.sids[i], Status: "queued"}, true, nil
		}
	}
	return relay.Sent{}, false, nil
}

func (s *sender) sent() []relay.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]relay.Message(nil), s.msgs...)
}

func (s *sender) to(phone string) []relay.Message {
	var out []relay.Message
	for _, m := range s.sent() {
		if m.To == phone {
			out = append(out, m)
		}
	}
	return out
}

// timer collects ticks; the harness fires them as its clock passes their due time.
type timer struct {
	mu    sync.Mutex
	ticks []relay.Tick
}

func (t *timer) Schedule(_ context.Context, tk relay.Tick) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ticks = append(t.ticks, tk)
	return nil
}

// audit collects events; like the real logs, an event written twice (same
// id) is stored once. fail makes the next writes fail.
type audit struct {
	mu     sync.Mutex
	events []relay.AuditEvent
	fail   int
	writes int
}

func (a *audit) Record(_ context.Context, e relay.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.writes++
	if a.fail > 0 {
		a.fail--
		return relay.Errorf(relay.Transient, "audit log unavailable")
	}
	for i := range a.events {
		if a.events[i].ID == e.ID {
			a.events[i] = e
			return nil
		}
	}
	a.events = append(a.events, e)
	return nil
}

func (a *audit) of(event string) []relay.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []relay.AuditEvent
	for _, e := range a.events {
		if e.Event == event {
			out = append(out, e)
		}
	}
	return out
}

type metrics struct {
	mu sync.Mutex
	n  map[string]int
}

func (m *metrics) Count(_ context.Context, name, _ string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n[name] += n
}

func (m *metrics) get(name string) int { m.mu.Lock(); defer m.mu.Unlock(); return m.n[name] }

type harness struct {
	t       *testing.T
	store   *memstore.Store
	faults  *faultStore
	sender  *sender
	timer   *timer
	audit   *audit
	metrics *metrics
	clock   *clock
	svc     *relay.Service
	sids    int
	// tolerate makes a failing tick retry a second later instead of failing the test.
	tolerate bool
	tickErrs int
}

const (
	qdnNumber  = "+16195550100"
	custPhone  = "+16195551234"
	mainPhone  = "+16195550111"
	backPhone  = "+16195550112"
	emergPhone = "+16195550113"
	officePh   = "+16195550199"
	otherNum   = "+17145550100"
)

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, store: memstore.New(), sender: &sender{fail: map[string]error{}, lost: map[string]int{}}, timer: &timer{},
		audit: &audit{}, metrics: &metrics{n: map[string]int{}},
		clock: &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}}
	h.sender.now = h.clock.Now
	h.faults = &faultStore{Store: h.store}
	h.svc = &relay.Service{Store: h.faults, Sender: h.sender, Timer: h.timer, Audit: h.audit, Metrics: h.metrics,
		Now: h.clock.Now, Log: slog.New(slog.DiscardHandler),
		Sleep: func(_ context.Context, d time.Duration) error { h.clock.Set(h.clock.Now().Add(d)); return nil },
		CallbackURL: func(tenant, id string, n int) string {
			return fmt.Sprintf("https://relay.example/api/sms/delivery?tenant=%s&relay=%s&attempt=%d", tenant, id, n)
		}}
	ctx := context.Background()
	must(t, h.store.PutTenant(ctx, relay.Tenant{ID: "qdn", Name: "QuickDumpNow", Numbers: []string{qdnNumber},
		AckTimeout: 60 * time.Second, Chain: []string{"sergio_main", "sergio_backup", "emergency"},
		Fallback: &relay.Contact{Name: "Office", Phone: officePh}, TwoWay: true}))
	for _, o := range []relay.Operator{
		{TenantID: "qdn", ID: "sergio_main", Name: "Sergio", Phone: mainPhone, Active: true},
		{TenantID: "qdn", ID: "sergio_backup", Name: "Sergio (backup)", Phone: backPhone, Active: true},
		{TenantID: "qdn", ID: "emergency", Name: "Emergency", Phone: emergPhone, Active: true},
	} {
		must(t, h.store.PutOperator(ctx, o))
	}
	must(t, h.store.PutCustomer(ctx, relay.Customer{TenantID: "qdn", ID: "cust_5678", Name: "Acme Waste Inc.", Phone: custPhone}))
	// A second tenant whose people must never mix with the first's.
	must(t, h.store.PutTenant(ctx, relay.Tenant{ID: "other", Name: "Other Hauling", Numbers: []string{otherNum},
		AckTimeout: 30 * time.Second, Chain: []string{"olga"}}))
	must(t, h.store.PutOperator(ctx, relay.Operator{TenantID: "other", ID: "olga", Name: "Olga", Phone: "+17145550111", Active: true}))
	return h
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (h *harness) sid() string {
	h.sids++
	return fmt.Sprintf("SM%032x", h.sids+1000*len(h.t.Name()))
}

// text sends an inbound text and fails the test on error.
func (h *harness) text(from, to, body string) relay.InboundResult {
	h.t.Helper()
	res, err := h.svc.HandleInbound(context.Background(), relay.Inbound{MessageSid: h.sid(), From: from, To: to, Body: body})
	if err != nil {
		h.t.Fatalf("HandleInbound(%q from %s): %v", body, from, err)
	}
	return res
}

// advance moves the clock by d and fires every tick that comes due, in due order.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	end := h.clock.Now().Add(d)
	for {
		h.timer.mu.Lock()
		sort.SliceStable(h.timer.ticks, func(i, j int) bool { return h.timer.ticks[i].Due.Before(h.timer.ticks[j].Due) })
		var next *relay.Tick
		if len(h.timer.ticks) > 0 && !h.timer.ticks[0].Due.After(end) {
			tk := h.timer.ticks[0]
			next = &tk
			h.timer.ticks = h.timer.ticks[1:]
		}
		h.timer.mu.Unlock()
		if next == nil {
			break
		}
		h.clock.Set(next.Due)
		if err := h.svc.HandleTick(context.Background(), *next); err != nil {
			if !h.tolerate {
				h.t.Fatalf("HandleTick(%+v): %v", *next, err)
			}
			// As the real timers do: a failed tick is kept and tried again.
			h.tickErrs++
			retry := *next
			retry.Due = next.Due.Add(time.Second)
			_ = h.timer.Schedule(context.Background(), retry)
		}
	}
	h.clock.Set(end)
}

func (h *harness) relay(id string) relay.Relay {
	h.t.Helper()
	r, err := h.store.Relay(context.Background(), id)
	if err != nil {
		h.t.Fatalf("load relay %s: %v", id, err)
	}
	return r
}

// faultStore is the harness's store with injectable write faults: before
// runs ahead of each relay write (it may write itself, as a racing process
// would), and after decides what the caller is told once the write is done
// (an error after an applied write is an answer lost on the way back).
type faultStore struct {
	*memstore.Store
	mu     sync.Mutex
	before func(r *relay.Relay) error
	after  func(r *relay.Relay) error
	// optOutErrs makes the next SetOptOut calls fail.
	optOutErrs int
}

func (f *faultStore) SetOptOut(ctx context.Context, tenantID, phone string, optedOut bool, at time.Time) error {
	f.mu.Lock()
	if f.optOutErrs > 0 {
		f.optOutErrs--
		f.mu.Unlock()
		return relay.Errorf(relay.Transient, "store unavailable")
	}
	f.mu.Unlock()
	return f.Store.SetOptOut(ctx, tenantID, phone, optedOut, at)
}

func (f *faultStore) set(before, after func(r *relay.Relay) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.before, f.after = before, after
}

func (f *faultStore) hooks() (func(*relay.Relay) error, func(*relay.Relay) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.before, f.after
}

func (f *faultStore) UpdateRelay(ctx context.Context, r *relay.Relay) error {
	before, after := f.hooks()
	if before != nil {
		if err := before(r); err != nil {
			return err
		}
	}
	if err := f.Store.UpdateRelay(ctx, r); err != nil {
		return err
	}
	if after != nil {
		return after(r)
	}
	return nil
}

func (f *faultStore) CreateRelay(ctx context.Context, r *relay.Relay) error {
	before, after := f.hooks()
	if before != nil {
		if err := before(r); err != nil {
			return err
		}
	}
	if err := f.Store.CreateRelay(ctx, r); err != nil {
		return err
	}
	if after != nil {
		return after(r)
	}
	return nil
}

// once returns a hook that runs f the first time cond holds, then never again.
func once(cond func(r *relay.Relay) bool, f func(r *relay.Relay) error) func(r *relay.Relay) error {
	var mu sync.Mutex
	done := false
	return func(r *relay.Relay) error {
		mu.Lock()
		if done || !cond(r) {
			mu.Unlock()
			return nil
		}
		done = true
		mu.Unlock() // f may write through the same store
		return f(r)
	}
}
