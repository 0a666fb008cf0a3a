// Package relaytest holds the contract suite that every relay.Store
// implementation passes, so the embedded store of the dev server and the
// DynamoDB store behave alike. An adapter's test calls TestStore with a
// constructor that returns a fresh, empty store.
package relaytest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// TestStore runs the contract suite against the stores newStore returns.
// Every subtest calls newStore once and expects an empty store that lives
// until the subtest ends (register cleanup with t.Cleanup).
//
// Beyond the comments of relay.Store, the suite requires three things that
// keep tenants apart and state sane: a published number routes to one tenant
// only (PutTenant with a number another tenant lists is a Conflict and
// stores nothing); entries and relays without their key (and Take without a
// window) are Invalid; and SetOptOut ignores a change older than the
// recorded one, so STOP and START delivered out of order keep the later.
// UpdateRelay of a relay that does not exist is NotFound, not Conflict.
func TestStore(t *testing.T, newStore func(t *testing.T) relay.Store) {
	t.Helper()
	groups := []struct {
		name string
		run  func(t *testing.T, newStore func(t *testing.T) relay.Store)
	}{
		{"Directory", testDirectory},
		{"Isolation", testIsolation},
		{"IsolationOfOddIDs", testOddIDs},
		{"DirectoryReplace", testDirectoryReplace},
		{"TenantNumbers", testTenantNumbers},
		{"Invalid", testInvalid},
		{"Relay", testRelay},
		{"ClaimCode", testClaimCode},
		{"Take", testTake},
		{"OptOut", testOptOut},
		{"Threads", testThreads},
		{"Ping", testPing},
		{"Races", testRaces},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, newStore) })
	}
}

// t0 is the suite's clock. It lies in the future so that a real DynamoDB
// table does not expire the suite's items (TTL) while it runs.
var t0 = time.Date(2031, time.March, 4, 5, 6, 7, 890123456, time.UTC)

// Two tenants that share an operator id and a customer phone, so that a
// lookup through the wrong tenant's scope would find something.
var (
	tenantA = relay.Tenant{
		ID: "ta", Name: "Tenant A", Numbers: []string{"+15550000001", "+15550000002"},
		AckTimeout: 90 * time.Second, Chain: []string{"op1", "op2"}, Repeat: 1,
		Fallback: &relay.Contact{Name: "Office A", Phone: "+15550000099"},
		TwoWay:   true, AutoReply: "Thanks, we got your message.",
		Schedule: relay.Schedule{Timezone: "America/Los_Angeles", ChainStrategy: relay.StrategyRoundRobin,
			QuietHours:     &relay.QuietHours{From: "21:00", To: "07:00", Mode: relay.QuietHold},
			UrgentKeywords: []string{"flood"}, AfterHoursReply: "We open at 7.", UnavailableReply: "Nobody is free."},
	}
	tenantB = relay.Tenant{
		ID: "tb", Name: "Tenant B", Numbers: []string{"+15550000003"},
		Chain: []string{"op1"},
	}
	opA1  = relay.Operator{TenantID: "ta", ID: "op1", Name: "Ann", Phone: "+15551110001", Active: true}
	opA2  = relay.Operator{TenantID: "ta", ID: "op2", Name: "Abe", Phone: "+15551110002"}
	opB1  = relay.Operator{TenantID: "tb", ID: "op1", Name: "Bea", Phone: "+15551110003", Active: true}
	cusA1 = relay.Customer{TenantID: "ta", ID: "c1", Name: "Acme Waste Inc.", Phone: "+15552220001"}
	cusB9 = relay.Customer{TenantID: "tb", ID: "c9", Name: "Bolt Hauling", Phone: "+15552220001"}
	jobA1 = relay.Job{TenantID: "ta", ID: "job_1", CustomerID: "c1", State: "completed", OperatorID: "op1"}
	jobA2 = relay.Job{TenantID: "ta", ID: "job_2", CustomerID: "c1", State: "en_route", OperatorID: "op2"}
	jobAX = relay.Job{TenantID: "ta", ID: "job_10", CustomerID: "c1", State: "scheduled"}
	jobB1 = relay.Job{TenantID: "tb", ID: "job_1", CustomerID: "c9", State: "en_route", OperatorID: "op1"}
)

// seed loads both tenants and their people into s.
func seed(t *testing.T, s relay.Store) {
	t.Helper()
	ctx := t.Context()
	for _, tn := range []relay.Tenant{tenantA, tenantB} {
		if err := s.PutTenant(ctx, tn); err != nil {
			t.Fatalf("put tenant %s: %v", tn.ID, err)
		}
	}
	for _, o := range []relay.Operator{opA1, opA2, opB1} {
		if err := s.PutOperator(ctx, o); err != nil {
			t.Fatalf("put operator %s/%s: %v", o.TenantID, o.ID, err)
		}
	}
	for _, c := range []relay.Customer{cusA1, cusB9} {
		if err := s.PutCustomer(ctx, c); err != nil {
			t.Fatalf("put customer %s/%s: %v", c.TenantID, c.ID, err)
		}
	}
	for _, j := range []relay.Job{jobA2, jobAX, jobA1, jobB1} {
		if err := s.PutJob(ctx, j); err != nil {
			t.Fatalf("put job %s/%s: %v", j.TenantID, j.ID, err)
		}
	}
}

// lookup is one read of a store and the value or error kind it must give.
type lookup struct {
	name string
	get  func(ctx context.Context, s relay.Store) (any, error)
	want any
	// notFound expects an error of Kind NotFound instead of want.
	notFound bool
}

func runLookups(t *testing.T, s relay.Store, cases []lookup) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.get(t.Context(), s)
			if c.notFound {
				wantKind(t, err, relay.NotFound)
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %+v", err, c.want)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func testDirectory(t *testing.T, newStore func(t *testing.T) relay.Store) {
	s := newStore(t)
	ctx := t.Context()
	if got, err := s.Tenants(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty store: got tenants %+v, %v; want none", got, err)
	}
	seed(t, s)
	runLookups(t, s, []lookup{
		{name: "tenant", want: tenantA, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Tenant(ctx, "ta") }},
		{name: "tenant with zero options", want: tenantB, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Tenant(ctx, "tb") }},
		{name: "tenants", want: []relay.Tenant{tenantA, tenantB}, get: func(ctx context.Context, s relay.Store) (any, error) {
			ts, err := s.Tenants(ctx)
			sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
			return ts, err
		}},
		{name: "tenant by first number", want: tenantA, get: func(ctx context.Context, s relay.Store) (any, error) { return s.TenantByNumber(ctx, "+15550000001") }},
		{name: "tenant by second number", want: tenantA, get: func(ctx context.Context, s relay.Store) (any, error) { return s.TenantByNumber(ctx, "+15550000002") }},
		{name: "tenant by other tenant's number", want: tenantB, get: func(ctx context.Context, s relay.Store) (any, error) { return s.TenantByNumber(ctx, "+15550000003") }},
		{name: "operator", want: opA2, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Operator(ctx, "ta", "op2") }},
		{name: "operator by phone", want: opA1, get: func(ctx context.Context, s relay.Store) (any, error) { return s.OperatorByPhone(ctx, "ta", opA1.Phone) }},
		{name: "customer", want: cusA1, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Customer(ctx, "ta", "c1") }},
		{name: "customer by phone", want: cusA1, get: func(ctx context.Context, s relay.Store) (any, error) {
			return s.CustomerByPhone(ctx, "ta", cusA1.Phone)
		}},
		{name: "jobs for customer ordered by id", want: []relay.Job{jobA1, jobAX, jobA2}, get: func(ctx context.Context, s relay.Store) (any, error) {
			return s.JobsForCustomer(ctx, "ta", "c1")
		}},
		{name: "jobs for customer without jobs", want: 0, get: func(ctx context.Context, s relay.Store) (any, error) {
			js, err := s.JobsForCustomer(ctx, "ta", "c404")
			return len(js), err
		}},
		{name: "unknown tenant", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Tenant(ctx, "t404") }},
		{name: "unknown number", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.TenantByNumber(ctx, "+15550000404") }},
		{name: "unknown operator", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Operator(ctx, "ta", "op404") }},
		{name: "unknown operator phone", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) {
			return s.OperatorByPhone(ctx, "ta", "+15551110404")
		}},
		{name: "unknown customer", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Customer(ctx, "ta", "c404") }},
		{name: "unknown customer phone", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) {
			return s.CustomerByPhone(ctx, "ta", "+15552220404")
		}},
		{name: "unknown relay", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Relay(ctx, "SM404") }},
	})
}

func testIsolation(t *testing.T, newStore func(t *testing.T) relay.Store) {
	s := newStore(t)
	seed(t, s)
	// A customer of A that B does not have, with a phone only A knows.
	only := relay.Customer{TenantID: "ta", ID: "c2", Name: "Only A", Phone: "+15552220002"}
	if err := s.PutCustomer(t.Context(), only); err != nil {
		t.Fatalf("put customer: %v", err)
	}
	runLookups(t, s, []lookup{
		{name: "same operator id answers per tenant", want: opB1, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Operator(ctx, "tb", "op1") }},
		{name: "same customer phone answers per tenant", want: cusB9, get: func(ctx context.Context, s relay.Store) (any, error) {
			return s.CustomerByPhone(ctx, "tb", cusA1.Phone)
		}},
		{name: "same job id answers per tenant", want: []relay.Job{jobB1}, get: func(ctx context.Context, s relay.Store) (any, error) { return s.JobsForCustomer(ctx, "tb", "c9") }},
		{name: "operator of A through B", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Operator(ctx, "tb", "op2") }},
		{name: "operator phone of A through B", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.OperatorByPhone(ctx, "tb", opA1.Phone) }},
		{name: "operator phone of B through A", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.OperatorByPhone(ctx, "ta", opB1.Phone) }},
		{name: "customer of A through B", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Customer(ctx, "tb", "c1") }},
		{name: "customer phone of A through B", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.CustomerByPhone(ctx, "tb", only.Phone) }},
		{name: "jobs of A through B", want: 0, get: func(ctx context.Context, s relay.Store) (any, error) {
			js, err := s.JobsForCustomer(ctx, "tb", "c1")
			return len(js), err
		}},
		{name: "operator through unknown tenant", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Operator(ctx, "t404", "op1") }},
	})
}

// testOddIDs checks that ids containing separator-like characters cannot
// spell another tenant's keys: tenant "a" with customer phone "b#c" and
// tenant "a#b" with customer phone "c" join to the same string.
func testOddIDs(t *testing.T, newStore func(t *testing.T) relay.Store) {
	s := newStore(t)
	ctx := t.Context()
	c1 := relay.Customer{TenantID: "a", ID: "x", Name: "one", Phone: "b#CUSTOMER_PHONE#c"}
	c2 := relay.Customer{TenantID: "a#CUSTOMER_PHONE#b", ID: "x", Name: "two", Phone: "c"}
	o1 := relay.Operator{TenantID: "a", ID: "op#1", Phone: "p%23"}
	o2 := relay.Operator{TenantID: "a", ID: "op", Phone: "p#"}
	for _, c := range []relay.Customer{c1, c2} {
		if err := s.PutCustomer(ctx, c); err != nil {
			t.Fatalf("put customer: %v", err)
		}
	}
	for _, o := range []relay.Operator{o1, o2} {
		if err := s.PutOperator(ctx, o); err != nil {
			t.Fatalf("put operator: %v", err)
		}
	}
	for _, l := range []relay.CodeLease{lease("a", "op#1", 5, "SM1", 0, time.Hour), lease("a", "op", 5, "SM2", 0, time.Hour)} {
		if err := s.ClaimCode(ctx, l); err != nil {
			t.Fatalf("claim code: %v", err)
		}
	}
	runLookups(t, s, []lookup{
		{name: "customer by phone one", want: c1, get: func(ctx context.Context, s relay.Store) (any, error) {
			return s.CustomerByPhone(ctx, c1.TenantID, c1.Phone)
		}},
		{name: "customer by phone two", want: c2, get: func(ctx context.Context, s relay.Store) (any, error) {
			return s.CustomerByPhone(ctx, c2.TenantID, c2.Phone)
		}},
		{name: "customer two by id", want: c2, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Customer(ctx, c2.TenantID, "x") }},
		{name: "operator by escaped-looking phone", want: o1, get: func(ctx context.Context, s relay.Store) (any, error) { return s.OperatorByPhone(ctx, "a", "p%23") }},
		{name: "operator by separator phone", want: o2, get: func(ctx context.Context, s relay.Store) (any, error) { return s.OperatorByPhone(ctx, "a", "p#") }},
		{name: "codes of op", want: []string{"SM2"}, get: func(ctx context.Context, s relay.Store) (any, error) {
			ls, err := s.Codes(ctx, "a", "op")
			var ids []string
			for _, l := range ls {
				ids = append(ids, l.RelayID)
			}
			return ids, err
		}},
	})
}

func testDirectoryReplace(t *testing.T, newStore func(t *testing.T) relay.Store) {
	s := newStore(t)
	ctx := t.Context()
	seed(t, s)
	op := opA1
	op.Phone, op.Name, op.Active = "+15551119999", "Ann (new phone)", false
	cus := cusA1
	cus.Phone = "+15552229999"
	job := jobA2
	job.CustomerID, job.State = "c2", "done"
	tn := tenantA
	tn.Name, tn.Numbers, tn.Fallback = "Tenant A renamed", []string{"+15550000002", "+15550000009"}, nil
	if err := s.PutOperator(ctx, op); err != nil {
		t.Fatalf("put operator: %v", err)
	}
	if err := s.PutCustomer(ctx, cus); err != nil {
		t.Fatalf("put customer: %v", err)
	}
	if err := s.PutJob(ctx, job); err != nil {
		t.Fatalf("put job: %v", err)
	}
	if err := s.PutTenant(ctx, tn); err != nil {
		t.Fatalf("put tenant: %v", err)
	}
	runLookups(t, s, []lookup{
		{name: "operator replaced", want: op, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Operator(ctx, "ta", "op1") }},
		{name: "operator by new phone", want: op, get: func(ctx context.Context, s relay.Store) (any, error) { return s.OperatorByPhone(ctx, "ta", op.Phone) }},
		{name: "operator by old phone", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.OperatorByPhone(ctx, "ta", opA1.Phone) }},
		{name: "customer by new phone", want: cus, get: func(ctx context.Context, s relay.Store) (any, error) { return s.CustomerByPhone(ctx, "ta", cus.Phone) }},
		{name: "customer by old phone", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) {
			return s.CustomerByPhone(ctx, "ta", cusA1.Phone)
		}},
		{name: "job left old customer", want: []relay.Job{jobA1, jobAX}, get: func(ctx context.Context, s relay.Store) (any, error) { return s.JobsForCustomer(ctx, "ta", "c1") }},
		{name: "job joined new customer", want: []relay.Job{job}, get: func(ctx context.Context, s relay.Store) (any, error) { return s.JobsForCustomer(ctx, "ta", "c2") }},
		{name: "tenant replaced", want: tn, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Tenant(ctx, "ta") }},
		{name: "tenant by kept number", want: tn, get: func(ctx context.Context, s relay.Store) (any, error) { return s.TenantByNumber(ctx, "+15550000002") }},
		{name: "tenant by added number", want: tn, get: func(ctx context.Context, s relay.Store) (any, error) { return s.TenantByNumber(ctx, "+15550000009") }},
		{name: "tenant by dropped number", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.TenantByNumber(ctx, "+15550000001") }},
		{name: "tenants not duplicated", want: 2, get: func(ctx context.Context, s relay.Store) (any, error) {
			ts, err := s.Tenants(ctx)
			return len(ts), err
		}},
	})
}

// testTenantNumbers checks that a published number routes to one tenant
// only: a tenant cannot take a number another tenant still publishes.
func testTenantNumbers(t *testing.T, newStore func(t *testing.T) relay.Store) {
	s := newStore(t)
	ctx := t.Context()
	seed(t, s)
	thief := tenantB
	thief.Numbers = []string{"+15550000003", "+15550000001"}
	wantKind(t, s.PutTenant(ctx, thief), relay.Conflict)
	third := relay.Tenant{ID: "tc", Name: "Tenant C", Numbers: []string{"+15550000002"}}
	wantKind(t, s.PutTenant(ctx, third), relay.Conflict)
	runLookups(t, s, []lookup{
		{name: "owner keeps its number", want: tenantA, get: func(ctx context.Context, s relay.Store) (any, error) { return s.TenantByNumber(ctx, "+15550000001") }},
		{name: "refused tenant unchanged", want: tenantB, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Tenant(ctx, "tb") }},
		{name: "refused new tenant not stored", notFound: true, get: func(ctx context.Context, s relay.Store) (any, error) { return s.Tenant(ctx, "tc") }},
	})

	// Once A gives the number up, B may publish it.
	moved := tenantA
	moved.Numbers = []string{"+15550000002"}
	if err := s.PutTenant(ctx, moved); err != nil {
		t.Fatalf("put tenant dropping a number: %v", err)
	}
	if err := s.PutTenant(ctx, thief); err != nil {
		t.Fatalf("put tenant taking a released number: %v", err)
	}
	runLookups(t, s, []lookup{
		{name: "moved number answers for new owner", want: thief, get: func(ctx context.Context, s relay.Store) (any, error) { return s.TenantByNumber(ctx, "+15550000001") }},
		{name: "old owner keeps the rest", want: moved, get: func(ctx context.Context, s relay.Store) (any, error) { return s.TenantByNumber(ctx, "+15550000002") }},
	})
}

func testInvalid(t *testing.T, newStore func(t *testing.T) relay.Store) {
	s := newStore(t)
	cases := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"tenant without id", func(ctx context.Context) error { return s.PutTenant(ctx, relay.Tenant{Name: "x"}) }},
		{"operator without tenant", func(ctx context.Context) error { return s.PutOperator(ctx, relay.Operator{ID: "op1"}) }},
		{"operator without id", func(ctx context.Context) error { return s.PutOperator(ctx, relay.Operator{TenantID: "ta"}) }},
		{"customer without id", func(ctx context.Context) error { return s.PutCustomer(ctx, relay.Customer{TenantID: "ta"}) }},
		{"job without tenant", func(ctx context.Context) error { return s.PutJob(ctx, relay.Job{ID: "job_1"}) }},
		{"relay without id", func(ctx context.Context) error { return s.CreateRelay(ctx, &relay.Relay{TenantID: "ta"}) }},
		{"take without window", func(ctx context.Context) error {
			_, err := s.Take(ctx, "k", 1, 0, t0)
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantKind(t, c.call(t.Context()), relay.Invalid) })
	}
}

// fullRelay returns a relay with every field set, times with nanoseconds.
func fullRelay(id string) relay.Relay {
	return relay.Relay{
		ID: id, TenantID: "ta", TenantNumber: "+15550000001",
		CustomerID: "c1", CustomerName: "Acme Waste Inc.", CustomerPhone: "+15552220001",
		JobID: "job_2", Body: "need a pickup 📦 at gate 3", Text: "📦 [Acme Waste Inc.]: need a pickup",
		Truncated: true, Reason: relay.ReasonPrimary, Chain: []string{"op2", "op1"}, Repeat: 1,
		Position: 1, AckTimeout: 75 * time.Second, Status: relay.StatusPending,
		Attempts: []relay.Attempt{
			{N: 1, OperatorID: "op2", Name: "Abe", Phone: "+15551110002", Reason: relay.ReasonPrimary,
				Code: 417, CreatedAt: t0.Add(time.Second), Outbound: relay.Outbound{MessageSid: "SMout1",
					Delivery: relay.DeliveryUndelivered, Error: "unreachable", ErrorCode: 30003, Tries: 1,
					FirstTryAt: t0.Add(time.Second), SentAt: t0.Add(2 * time.Second), Segments: 2, Encoding: "UCS-2"}},
			{N: 2, OperatorID: "op1", Name: "Ann", Phone: "+15551110001", Reason: relay.ReasonDeliveryFailed,
				Code: 88, By: "op2", Cause: "SMpass1", CreatedAt: t0.Add(3 * time.Second),
				Outbound: relay.Outbound{Delivery: relay.DeliveryRetry, Tries: 2, FirstTryAt: t0.Add(3 * time.Second),
					RetryAt: t0.Add(4*time.Second + 5)}},
			{N: 3, Name: "Office A", Phone: "+15550000099", Reason: relay.ReasonExhausted, Fallback: true,
				CreatedAt: t0.Add(5 * time.Second), Outbound: relay.Outbound{Delivery: relay.DeliveryDispatching,
					Tries: 1, LeaseUntil: t0.Add(30 * time.Second)}},
		},
		Replies: []relay.CustomerReply{{InboundSid: "SMreply1", OperatorID: "op1", Body: "10 min away",
			CreatedAt: t0.Add(6 * time.Second), Outbound: relay.Outbound{MessageSid: "SMout9", Delivery: relay.DeliveryQueued}}},
		Outbox: []relay.AuditEvent{{ID: "ev1", Timestamp: t0.Add(6 * time.Second), MessageSid: id, TenantID: "ta",
			Event: relay.EventAcked, RoutingReason: relay.ReasonAcked, Acknowledged: true, AckTimestamp: t0.Add(6 * time.Second).Truncate(time.Second)}},
		Token: "tok1", AckSid: "SMok1",
		ReceivedAt: t0, UpdatedAt: t0.Add(5 * time.Second), AckedAt: t0.Add(6 * time.Second),
		AckedBy: "op1", Version: 7, ExpiresAt: t0.Add(90 * 24 * time.Hour),
	}
}

// clone returns a deep copy of r, so that test copies share no slices.
func clone(r relay.Relay) relay.Relay {
	r.Chain = slices.Clone(r.Chain)
	r.Attempts = slices.Clone(r.Attempts)
	r.Replies = slices.Clone(r.Replies)
	r.Outbox = slices.Clone(r.Outbox)
	return r
}

func testRelay(t *testing.T, newStore func(t *testing.T) relay.Store) {
	cases := []struct {
		name string
		run  func(t *testing.T, s relay.Store)
	}{
		{"create stores every field with version 1", func(t *testing.T, s relay.Store) {
			r := fullRelay("SM1")
			mustCreate(t, s, &r)
			if r.Version != 1 {
				t.Errorf("got version %d after create, want 1", r.Version)
			}
			wantRelay(t, s, r)
		}},
		{"create minimal relay", func(t *testing.T, s relay.Store) {
			r := relay.Relay{ID: "SM1", TenantID: "ta", Status: relay.StatusPending, ReceivedAt: t0}
			mustCreate(t, s, &r)
			wantRelay(t, s, r)
		}},
		{"create existing id is a conflict", func(t *testing.T, s relay.Store) {
			first := fullRelay("SM1")
			mustCreate(t, s, &first)
			second := relay.Relay{ID: "SM1", TenantID: "tb", Body: "other", Status: relay.StatusPending}
			wantKind(t, s.CreateRelay(t.Context(), &second), relay.Conflict)
			wantRelay(t, s, first)
		}},
		{"update increments version", func(t *testing.T, s relay.Store) {
			r := fullRelay("SM1")
			mustCreate(t, s, &r)
			r.Status, r.AckedBy, r.UpdatedAt = relay.StatusAcked, "op2", t0.Add(time.Minute)
			r.Attempts = append(r.Attempts, relay.Attempt{N: 4, OperatorID: "op2", CreatedAt: t0.Add(time.Minute), Outbound: relay.Outbound{Delivery: relay.DeliverySent}})
			mustUpdate(t, s, &r)
			if r.Version != 2 {
				t.Errorf("got version %d after update, want 2", r.Version)
			}
			r.Body = "third write"
			mustUpdate(t, s, &r)
			if r.Version != 3 {
				t.Errorf("got version %d after second update, want 3", r.Version)
			}
			wantRelay(t, s, r)
		}},
		{"update from stale version is a conflict", func(t *testing.T, s relay.Store) {
			r := fullRelay("SM1")
			mustCreate(t, s, &r)
			stale := clone(r)
			r.Status = relay.StatusAcked
			mustUpdate(t, s, &r)
			stale.Status, stale.Body = relay.StatusExhausted, "lost write"
			wantKind(t, s.UpdateRelay(t.Context(), &stale), relay.Conflict)
			if stale.Version != 1 {
				t.Errorf("got version %d after a lost update, want 1 (unchanged)", stale.Version)
			}
			wantRelay(t, s, r)
		}},
		{"update from future version is a conflict", func(t *testing.T, s relay.Store) {
			r := fullRelay("SM1")
			mustCreate(t, s, &r)
			ahead := clone(r)
			ahead.Version, ahead.Body = 5, "from the future"
			wantKind(t, s.UpdateRelay(t.Context(), &ahead), relay.Conflict)
			wantRelay(t, s, r)
		}},
		{"update of missing relay is not found", func(t *testing.T, s relay.Store) {
			r := fullRelay("SM404")
			r.Version = 1
			wantKind(t, s.UpdateRelay(t.Context(), &r), relay.NotFound)
			_, err := s.Relay(t.Context(), "SM404")
			wantKind(t, err, relay.NotFound)
		}},
		{"relays are independent", func(t *testing.T, s relay.Store) {
			a, b := fullRelay("SMa"), fullRelay("SMb")
			b.TenantID, b.Body = "tb", "for b"
			mustCreate(t, s, &a)
			mustCreate(t, s, &b)
			a.Body = "changed a"
			mustUpdate(t, s, &a)
			wantRelay(t, s, a)
			wantRelay(t, s, b)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
}

func lease(tenant, op string, code int, relayID string, created, expires time.Duration) relay.CodeLease {
	return relay.CodeLease{TenantID: tenant, OperatorID: op, Code: code, RelayID: relayID,
		CreatedAt: t0.Add(created), ExpiresAt: t0.Add(expires)}
}

func testClaimCode(t *testing.T, newStore func(t *testing.T) relay.Store) {
	type step struct {
		lease    relay.CodeLease
		conflict bool
	}
	cases := []struct {
		name  string
		steps []step
		// want is the leases of each (tenant, operator) afterwards.
		want map[[2]string][]relay.CodeLease
	}{
		{
			name:  "lease stored",
			steps: []step{{lease: lease("ta", "op1", 12, "SM1", 0, time.Hour)}},
			want:  map[[2]string][]relay.CodeLease{{"ta", "op1"}: {lease("ta", "op1", 12, "SM1", 0, time.Hour)}},
		},
		{
			name: "unexpired code is a conflict",
			steps: []step{
				{lease: lease("ta", "op1", 12, "SM1", 0, time.Hour)},
				{lease: lease("ta", "op1", 12, "SM2", time.Hour-time.Nanosecond, 2*time.Hour), conflict: true},
			},
			want: map[[2]string][]relay.CodeLease{{"ta", "op1"}: {lease("ta", "op1", 12, "SM1", 0, time.Hour)}},
		},
		{
			name: "expired code may be overwritten",
			steps: []step{
				{lease: lease("ta", "op1", 12, "SM1", 0, time.Hour)},
				{lease: lease("ta", "op1", 12, "SM2", time.Hour, 2*time.Hour)},
			},
			want: map[[2]string][]relay.CodeLease{{"ta", "op1"}: {lease("ta", "op1", 12, "SM2", time.Hour, 2*time.Hour)}},
		},
		{
			name: "same code for other operator and tenant",
			steps: []step{
				{lease: lease("ta", "op1", 12, "SM1", 0, time.Hour)},
				{lease: lease("ta", "op2", 12, "SM2", 0, time.Hour)},
				{lease: lease("tb", "op1", 12, "SM3", 0, time.Hour)},
			},
			want: map[[2]string][]relay.CodeLease{
				{"ta", "op1"}: {lease("ta", "op1", 12, "SM1", 0, time.Hour)},
				{"ta", "op2"}: {lease("ta", "op2", 12, "SM2", 0, time.Hour)},
				{"tb", "op1"}: {lease("tb", "op1", 12, "SM3", 0, time.Hour)},
			},
		},
		{
			name: "codes lists expired leases too",
			steps: []step{
				{lease: lease("ta", "op1", 1, "SM1", 0, time.Minute)},
				{lease: lease("ta", "op1", 2, "SM2", time.Hour, 2*time.Hour)},
				{lease: lease("ta", "op1", 100, "SM3", time.Hour, 3*time.Hour)},
			},
			want: map[[2]string][]relay.CodeLease{
				{"ta", "op1"}: {
					lease("ta", "op1", 1, "SM1", 0, time.Minute),
					lease("ta", "op1", 2, "SM2", time.Hour, 2*time.Hour),
					lease("ta", "op1", 100, "SM3", time.Hour, 3*time.Hour),
				},
				{"ta", "op2"}: nil,
				{"tb", "op1"}: nil,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			for i, st := range c.steps {
				err := s.ClaimCode(t.Context(), st.lease)
				if st.conflict {
					if relay.KindOf(err) != relay.Conflict || err == nil {
						t.Errorf("step %d: got %v, want a conflict", i, err)
					}
				} else if err != nil {
					t.Errorf("step %d: got %v, want leased", i, err)
				}
			}
			for who, want := range c.want {
				wantCodes(t, s, who[0], who[1], want)
			}
		})
	}
}

func testTake(t *testing.T, newStore func(t *testing.T) relay.Store) {
	type take struct {
		key  string
		at   time.Time
		want bool
	}
	// t0 is 05:06:07.89; the minute window containing it is [05:06:00, 05:07:00).
	minute := t0.Truncate(time.Minute)
	cases := []struct {
		name   string
		limit  int
		window time.Duration
		takes  []take
	}{
		{"within limit", 3, time.Minute, []take{
			{"k", t0, true}, {"k", t0.Add(time.Second), true}, {"k", t0.Add(2 * time.Second), true},
			{"k", t0.Add(3 * time.Second), false}, {"k", t0.Add(4 * time.Second), false},
		}},
		{"new window resets", 2, time.Minute, []take{
			{"k", t0, true}, {"k", t0, true}, {"k", t0, false},
			{"k", minute.Add(time.Minute - time.Nanosecond), false},
			{"k", minute.Add(time.Minute), true}, {"k", minute.Add(time.Minute + time.Second), true},
			{"k", minute.Add(time.Minute + 2*time.Second), false},
			{"k", minute.Add(10 * time.Minute), true},
		}},
		{"keys are independent", 1, time.Hour, []take{
			{"k1", t0, true}, {"k2", t0, true}, {"k1", t0, false}, {"k2", t0, false},
		}},
		{"zero limit refuses", 0, time.Minute, []take{{"k", t0, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			for i, tk := range c.takes {
				got, err := s.Take(t.Context(), tk.key, c.limit, c.window, tk.at)
				if err != nil {
					t.Fatalf("take %d: %v", i, err)
				}
				if got != tk.want {
					t.Errorf("take %d (%s at %s): got %v, want %v", i, tk.key, tk.at.Format(time.TimeOnly), got, tk.want)
				}
			}
		})
	}
}

func testOptOut(t *testing.T, newStore func(t *testing.T) relay.Store) {
	type change struct {
		tenant, phone string
		out           bool
		at            time.Duration
	}
	const phone = "+15552220001"
	cases := []struct {
		name    string
		changes []change
		want    map[string]bool // tenant → opted out
	}{
		{"default is opted in", nil, map[string]bool{"ta": false}},
		{"stop", []change{{"ta", phone, true, 0}}, map[string]bool{"ta": true}},
		{"stop then start", []change{{"ta", phone, true, 0}, {"ta", phone, false, time.Minute}}, map[string]bool{"ta": false}},
		{"start again at the same instant", []change{{"ta", phone, true, 0}, {"ta", phone, false, 0}}, map[string]bool{"ta": false}},
		{"older change does not win", []change{{"ta", phone, true, time.Minute}, {"ta", phone, false, 0}}, map[string]bool{"ta": true}},
		{"per tenant", []change{{"ta", phone, true, 0}}, map[string]bool{"ta": true, "tb": false}},
		{"per phone", []change{{"ta", "+15552220002", true, 0}}, map[string]bool{"ta": false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			for i, ch := range c.changes {
				if err := s.SetOptOut(t.Context(), ch.tenant, ch.phone, ch.out, t0.Add(ch.at)); err != nil {
					t.Fatalf("change %d: %v", i, err)
				}
			}
			for tenant, want := range c.want {
				got, err := s.OptedOut(t.Context(), tenant, phone)
				if err != nil {
					t.Fatalf("opted out %s: %v", tenant, err)
				}
				if got != want {
					t.Errorf("tenant %s: got opted out %v, want %v", tenant, got, want)
				}
			}
		})
	}
}

func testPing(t *testing.T, newStore func(t *testing.T) relay.Store) {
	if err := newStore(t).Ping(t.Context()); err != nil {
		t.Errorf("got %v, want nil", err)
	}
}

// Race parameters: workers per round collide on one item, rounds repeat it.
const (
	workers = 16
	rounds  = 4
)

// race runs f on workers goroutines released at once and returns their errors.
func race(f func(i int) error) []error {
	errs := make([]error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one error is nil and the others are
// conflicts, and returns the winner's index.
func oneWinner(t *testing.T, round int, errs []error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("round %d: workers %d and %d both won", round, winner, i)
		case err == nil:
			winner = i
		case relay.KindOf(err) != relay.Conflict:
			t.Errorf("round %d: worker %d: got %v, want a conflict", round, i, err)
		}
	}
	if winner < 0 {
		t.Errorf("round %d: got no winner, want one", round)
	}
	return winner
}

func testRaces(t *testing.T, newStore func(t *testing.T) relay.Store) {
	cases := []struct {
		name string
		run  func(t *testing.T, s relay.Store, round int)
	}{
		{"create relay", func(t *testing.T, s relay.Store, round int) {
			id := fmt.Sprintf("SMrace%d", round)
			errs := race(func(i int) error {
				r := relay.Relay{ID: id, TenantID: "ta", Body: fmt.Sprint(i), Status: relay.StatusPending}
				return s.CreateRelay(t.Context(), &r)
			})
			if w := oneWinner(t, round, errs); w >= 0 {
				wantBody(t, s, id, fmt.Sprint(w), 1)
			}
		}},
		{"update relay", func(t *testing.T, s relay.Store, round int) {
			base := fullRelay(fmt.Sprintf("SMrace%d", round))
			mustCreate(t, s, &base)
			errs := race(func(i int) error {
				r := clone(base)
				r.Body = fmt.Sprint(i)
				return s.UpdateRelay(t.Context(), &r)
			})
			if w := oneWinner(t, round, errs); w >= 0 {
				wantBody(t, s, base.ID, fmt.Sprint(w), 2)
			}
		}},
		{"claim code", func(t *testing.T, s relay.Store, round int) {
			errs := race(func(i int) error {
				return s.ClaimCode(t.Context(), lease("ta", "op1", round, fmt.Sprintf("SM%d", i), 0, time.Hour))
			})
			w := oneWinner(t, round, errs)
			ls, err := s.Codes(t.Context(), "ta", "op1")
			if err != nil {
				t.Fatalf("codes: %v", err)
			}
			for _, l := range ls {
				if l.Code == round && l.RelayID != fmt.Sprintf("SM%d", w) {
					t.Errorf("round %d: got lease for %s, want the winner SM%d", round, l.RelayID, w)
				}
			}
		}},
		{"take", func(t *testing.T, s relay.Store, round int) {
			const limit = 5
			key := fmt.Sprintf("take%d", round)
			oks := make([]bool, workers)
			errs := race(func(i int) error {
				var err error
				oks[i], err = s.Take(t.Context(), key, limit, time.Minute, t0)
				return err
			})
			n := 0
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: worker %d: %v", round, i, err)
				}
				if oks[i] {
					n++
				}
			}
			if n != limit {
				t.Errorf("round %d: got %d takes within the limit, want %d", round, n, limit)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			for round := range rounds {
				c.run(t, s, round)
			}
		})
	}
}

func wantKind(t *testing.T, err error, kind relay.Kind) {
	t.Helper()
	if err == nil {
		t.Errorf("got no error, want kind %v", kind)
		return
	}
	if got := relay.KindOf(err); got != kind {
		t.Errorf("got error %v of kind %v, want kind %v", err, got, kind)
	}
}

func mustCreate(t *testing.T, s relay.Store, r *relay.Relay) {
	t.Helper()
	if err := s.CreateRelay(t.Context(), r); err != nil {
		t.Fatalf("create relay %s: %v", r.ID, err)
	}
}

func mustUpdate(t *testing.T, s relay.Store, r *relay.Relay) {
	t.Helper()
	if err := s.UpdateRelay(t.Context(), r); err != nil {
		t.Fatalf("update relay %s: %v", r.ID, err)
	}
}

func wantRelay(t *testing.T, s relay.Store, want relay.Relay) {
	t.Helper()
	got, err := s.Relay(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("get relay %s: %v", want.ID, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("relay %s:\n got %+v\nwant %+v", want.ID, got, want)
	}
}

func wantBody(t *testing.T, s relay.Store, id, body string, version int64) {
	t.Helper()
	got, err := s.Relay(t.Context(), id)
	if err != nil {
		t.Fatalf("get relay %s: %v", id, err)
	}
	if got.Body != body || got.Version != version {
		t.Errorf("relay %s: got body %q version %d, want the winner's %q version %d", id, got.Body, got.Version, body, version)
	}
}

func wantCodes(t *testing.T, s relay.Store, tenant, op string, want []relay.CodeLease) {
	t.Helper()
	got, err := s.Codes(t.Context(), tenant, op)
	if err != nil {
		t.Fatalf("codes %s/%s: %v", tenant, op, err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].Code < got[j].Code })
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("codes %s/%s: got %+v, want %+v", tenant, op, got, want)
	}
}
