package relaytest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// DirectoryStore is a Store with the Directory API's ports.
type DirectoryStore interface {
	relay.Store
	relay.DirectoryWriter
	relay.DirectoryLister
}

// TestDirectoryStore runs the contract suite of the directory write and
// list ports (relay.DirectoryWriter, relay.DirectoryLister) against the
// stores newStore returns; each subtest gets a fresh, empty store.
//
// Beyond the ports' comments, the suite requires that a replace or delete
// keeps the by-phone and by-customer lookups in step, that a tenant's
// lists never show another tenant's entries, and that of racing writers
// holding the same prev exactly one wins.
func TestDirectoryStore(t *testing.T, newStore func(t *testing.T) DirectoryStore) {
	t.Helper()
	groups := []struct {
		name string
		run  func(t *testing.T, s DirectoryStore)
	}{
		{"ReplaceOperator", testReplaceOperator},
		{"ReplaceCustomerAndJob", testReplaceCustomerAndJob},
		{"ReplaceTenant", testReplaceTenant},
		{"Delete", testDelete},
		{"ListPages", testListPages},
		{"ListFilters", testListFilters},
		{"ListIsolation", testListIsolation},
		{"ListBadCursor", testListBadCursor},
		{"ReplaceRace", testReplaceRace},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, newStore(t)) })
	}
}

func wantDirKind(t *testing.T, what string, err error, want relay.Kind) {
	t.Helper()
	if err == nil || relay.KindOf(err) != want {
		t.Errorf("%s: got %v (kind %v), want kind %v", what, err, relay.KindOf(err), want)
	}
}

func mustDo(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func testReplaceOperator(t *testing.T, s DirectoryStore) {
	ctx := t.Context()
	mustDo(t, "create", s.ReplaceOperator(ctx, opA1, nil))
	wantDirKind(t, "create again", s.ReplaceOperator(ctx, opA1, nil), relay.Conflict)

	moved := opA1
	moved.Phone, moved.Name = "+15551119999", "Ann (new phone)"
	// Availability travels with the operator in every store.
	moved.Availability = relay.Availability{
		Shifts:      []relay.Shift{{Days: []string{"mon", "fri"}, From: "22:00", To: "06:00"}},
		Overrides:   []relay.Override{{From: "2026-12-24", To: "2026-12-26", Mode: "off"}},
		PausedUntil: time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC),
		OnCall:      true,
	}
	stale := opA1
	stale.Name = "someone else"
	wantDirKind(t, "replace with a stale prev", s.ReplaceOperator(ctx, moved, &stale), relay.Conflict)
	mustDo(t, "replace", s.ReplaceOperator(ctx, moved, &opA1))
	wantDirKind(t, "replace with the old prev", s.ReplaceOperator(ctx, opA1, &opA1), relay.Conflict)

	got, err := s.Operator(ctx, "ta", "op1")
	if err != nil || !reflect.DeepEqual(got, moved) {
		t.Errorf("operator after replace: got %+v, %v; want %+v", got, err, moved)
	}
	if _, err := s.OperatorByPhone(ctx, "ta", opA1.Phone); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("old phone: got %v, want NotFound", err)
	}
	if got, err := s.OperatorByPhone(ctx, "ta", moved.Phone); err != nil || got.ID != "op1" {
		t.Errorf("new phone: got %+v, %v; want op1", got, err)
	}
	ghost := relay.Operator{TenantID: "ta", ID: "ghost", Name: "G", Phone: "+15551110077"}
	wantDirKind(t, "replace a missing operator", s.ReplaceOperator(ctx, ghost, &ghost), relay.NotFound)
	wantDirKind(t, "replace without id", s.ReplaceOperator(ctx, relay.Operator{TenantID: "ta"}, nil), relay.Invalid)
}

func testReplaceCustomerAndJob(t *testing.T, s DirectoryStore) {
	ctx := t.Context()
	c2 := relay.Customer{TenantID: "ta", ID: "c2", Name: "Beta", Phone: "+15552220002"}
	mustDo(t, "create c1", s.ReplaceCustomer(ctx, cusA1, nil))
	mustDo(t, "create c2", s.ReplaceCustomer(ctx, c2, nil))
	wantDirKind(t, "create c1 again", s.ReplaceCustomer(ctx, cusA1, nil), relay.Conflict)
	renamed := cusA1
	renamed.Phone = "+15552229999"
	mustDo(t, "replace c1", s.ReplaceCustomer(ctx, renamed, &cusA1))
	if _, err := s.CustomerByPhone(ctx, "ta", cusA1.Phone); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("old customer phone: got %v, want NotFound", err)
	}
	if got, err := s.CustomerByPhone(ctx, "ta", renamed.Phone); err != nil || got.ID != "c1" {
		t.Errorf("new customer phone: got %+v, %v; want c1", got, err)
	}

	j := relay.Job{TenantID: "ta", ID: "job_1", CustomerID: "c1", State: "en_route", OperatorID: "op1"}
	mustDo(t, "create job", s.ReplaceJob(ctx, j, nil))
	if got, err := s.Job(ctx, "ta", "job_1"); err != nil || !reflect.DeepEqual(got, j) {
		t.Errorf("job: got %+v, %v; want %+v", got, err, j)
	}
	if _, err := s.Job(ctx, "tb", "job_1"); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("job through the other tenant: got %v, want NotFound", err)
	}
	moved := j
	moved.CustomerID, moved.OperatorID = "c2", "op2"
	mustDo(t, "move job", s.ReplaceJob(ctx, moved, &j))
	if js, err := s.JobsForCustomer(ctx, "ta", "c1"); err != nil || len(js) != 0 {
		t.Errorf("jobs of c1 after the move: got %+v, %v; want none", js, err)
	}
	if js, err := s.JobsForCustomer(ctx, "ta", "c2"); err != nil || len(js) != 1 || js[0].OperatorID != "op2" {
		t.Errorf("jobs of c2 after the move: got %+v, %v; want job_1 with op2", js, err)
	}
	wantDirKind(t, "replace job with a stale prev", s.ReplaceJob(ctx, j, &j), relay.Conflict)
}

func testReplaceTenant(t *testing.T, s DirectoryStore) {
	ctx := t.Context()
	mustDo(t, "create A", s.ReplaceTenant(ctx, tenantA, nil))
	wantDirKind(t, "create A again", s.ReplaceTenant(ctx, tenantA, nil), relay.Conflict)
	b := tenantB
	b.Numbers = []string{tenantA.Numbers[0]}
	wantDirKind(t, "B takes A's number", s.ReplaceTenant(ctx, b, nil), relay.Conflict)
	if _, err := s.Tenant(ctx, "tb"); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("B after the refused create: got %v, want NotFound", err)
	}

	next := tenantA
	next.Numbers = []string{"+15550000001", "+15550000005"}
	next.Chain = []string{"op2"}
	stale := tenantA
	stale.Name = "old"
	wantDirKind(t, "replace with a stale prev", s.ReplaceTenant(ctx, next, &stale), relay.Conflict)
	mustDo(t, "replace", s.ReplaceTenant(ctx, next, &tenantA))
	if _, err := s.TenantByNumber(ctx, "+15550000002"); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("dropped number: got %v, want NotFound", err)
	}
	if got, err := s.TenantByNumber(ctx, "+15550000005"); err != nil || got.ID != "ta" {
		t.Errorf("added number: got %+v, %v; want ta", got, err)
	}
	mustDo(t, "B takes the dropped number", s.ReplaceTenant(ctx, relay.Tenant{ID: "tb", Name: "B", Numbers: []string{"+15550000002"}}, nil))
	if got, err := s.TenantByNumber(ctx, "+15550000002"); err != nil || got.ID != "tb" {
		t.Errorf("moved number: got %+v, %v; want tb", got, err)
	}
}

func testDelete(t *testing.T, s DirectoryStore) {
	ctx := t.Context()
	j := relay.Job{TenantID: "ta", ID: "job_1", CustomerID: "c1", State: "en_route", OperatorID: "op1"}
	mustDo(t, "operator", s.ReplaceOperator(ctx, opA1, nil))
	mustDo(t, "other tenant's operator", s.ReplaceOperator(ctx, opB1, nil))
	mustDo(t, "customer", s.ReplaceCustomer(ctx, cusA1, nil))
	mustDo(t, "job", s.ReplaceJob(ctx, j, nil))

	stale := opA1
	stale.Active = !stale.Active
	wantDirKind(t, "delete with a stale prev", s.DeleteOperator(ctx, stale), relay.Conflict)
	mustDo(t, "delete operator", s.DeleteOperator(ctx, opA1))
	wantDirKind(t, "delete operator again", s.DeleteOperator(ctx, opA1), relay.NotFound)
	if _, err := s.Operator(ctx, "ta", "op1"); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("deleted operator: got %v, want NotFound", err)
	}
	if _, err := s.OperatorByPhone(ctx, "ta", opA1.Phone); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("deleted operator's phone: got %v, want NotFound", err)
	}
	if got, err := s.Operator(ctx, "tb", "op1"); err != nil || !reflect.DeepEqual(got, opB1) {
		t.Errorf("other tenant's operator with the same id: got %+v, %v; want it kept", got, err)
	}

	mustDo(t, "delete job", s.DeleteJob(ctx, j))
	if js, err := s.JobsForCustomer(ctx, "ta", "c1"); err != nil || len(js) != 0 {
		t.Errorf("jobs after delete: got %+v, %v; want none", js, err)
	}
	wantDirKind(t, "delete job again", s.DeleteJob(ctx, j), relay.NotFound)
	mustDo(t, "delete customer", s.DeleteCustomer(ctx, cusA1))
	if _, err := s.CustomerByPhone(ctx, "ta", cusA1.Phone); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("deleted customer's phone: got %v, want NotFound", err)
	}
	// A deleted entry can be created again.
	mustDo(t, "recreate operator", s.ReplaceOperator(ctx, opA1, nil))
}

func ids[T any](es []T, id func(T) string) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, id(e))
	}
	return out
}

func opID(o relay.Operator) string  { return o.ID }
func cusID(c relay.Customer) string { return c.ID }
func jobID(j relay.Job) string      { return j.ID }

func testListPages(t *testing.T, s DirectoryStore) {
	ctx := t.Context()
	for i := range 7 {
		o := relay.Operator{TenantID: "ta", ID: fmt.Sprintf("op%d", 7-i), Name: "O", Phone: fmt.Sprintf("+1555333000%d", i), Active: true}
		mustDo(t, "operator", s.ReplaceOperator(ctx, o, nil))
	}
	var got []string
	pages := 0
	q := relay.ListQuery{Limit: 3}
	for {
		ops, next, err := s.ListOperators(ctx, "ta", q)
		mustDo(t, "list", err)
		if len(ops) > 3 {
			t.Fatalf("page %d: got %d operators, want at most 3", pages, len(ops))
		}
		got = append(got, ids(ops, opID)...)
		pages++
		if next == "" || pages > 10 {
			break
		}
		q.Cursor = next
		if pages == 1 {
			// An entry deleted under the cursor does not break the next page.
			o, _ := s.Operator(ctx, "ta", ops[len(ops)-1].ID)
			mustDo(t, "delete under cursor", s.DeleteOperator(ctx, o))
		}
	}
	want := []string{"op1", "op2", "op3", "op4", "op5", "op6", "op7"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paged ids: got %v, want %v", got, want)
	}
	all, next, err := s.ListOperators(ctx, "ta", relay.ListQuery{})
	if err != nil || next != "" || len(all) != 6 {
		t.Errorf("one page: got %d operators, next %q, %v; want 6 and no cursor", len(all), next, err)
	}
}

func testListFilters(t *testing.T, s DirectoryStore) {
	ctx := t.Context()
	cs := []relay.Customer{
		{TenantID: "ta", ID: "c1", Name: "One", Phone: "+15552220001"},
		{TenantID: "ta", ID: "c2", Name: "Two", Phone: "+15552220002"},
		{TenantID: "ta", ID: "c3", Name: "Three", Phone: "+15552220003"},
	}
	for _, c := range cs {
		mustDo(t, "customer", s.ReplaceCustomer(ctx, c, nil))
	}
	js := []relay.Job{
		{TenantID: "ta", ID: "j1", CustomerID: "c1", State: "en_route", OperatorID: "op1"},
		{TenantID: "ta", ID: "j2", CustomerID: "c1", State: "completed", OperatorID: "op2"},
		{TenantID: "ta", ID: "j3", CustomerID: "c2", State: "en_route", OperatorID: "op2"},
		{TenantID: "ta", ID: "j4", CustomerID: "c3", State: "scheduled", OperatorID: ""},
	}
	for _, j := range js {
		mustDo(t, "job", s.ReplaceJob(ctx, j, nil))
	}
	custCases := []struct {
		name string
		q    relay.ListQuery
		want []string
	}{
		{"by phone", relay.ListQuery{Phone: "+15552220002"}, []string{"c2"}},
		{"unknown phone", relay.ListQuery{Phone: "+15559999999"}, []string{}},
		{"all", relay.ListQuery{}, []string{"c1", "c2", "c3"}},
	}
	for _, tc := range custCases {
		got, _, err := s.ListCustomers(ctx, "ta", tc.q)
		if err != nil || !reflect.DeepEqual(ids(got, cusID), tc.want) {
			t.Errorf("customers %s: got %v, %v; want %v", tc.name, ids(got, cusID), err, tc.want)
		}
	}
	jobCases := []struct {
		name string
		q    relay.ListQuery
		want []string
	}{
		{"by state", relay.ListQuery{State: "en_route"}, []string{"j1", "j3"}},
		{"by operator", relay.ListQuery{Operator: "op2"}, []string{"j2", "j3"}},
		{"by customer", relay.ListQuery{Customer: "c1"}, []string{"j1", "j2"}},
		{"by customer and state", relay.ListQuery{Customer: "c1", State: "completed"}, []string{"j2"}},
		{"by state and operator", relay.ListQuery{State: "en_route", Operator: "op2"}, []string{"j3"}},
		{"no match", relay.ListQuery{State: "archived"}, []string{}},
	}
	for _, tc := range jobCases {
		var got []string
		q := tc.q
		q.Limit = 1
		for range 10 { // page one at a time to exercise cursors with filters
			page, next, err := s.ListJobs(ctx, "ta", q)
			if err != nil {
				t.Fatalf("jobs %s: %v", tc.name, err)
			}
			got = append(got, ids(page, jobID)...)
			if next == "" {
				break
			}
			q.Cursor = next
		}
		if got == nil {
			got = []string{}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("jobs %s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func testListIsolation(t *testing.T, s DirectoryStore) {
	ctx := t.Context()
	mustDo(t, "A op", s.ReplaceOperator(ctx, opA1, nil))
	mustDo(t, "B op", s.ReplaceOperator(ctx, opB1, nil))
	mustDo(t, "A customer", s.ReplaceCustomer(ctx, cusA1, nil))
	mustDo(t, "B customer", s.ReplaceCustomer(ctx, cusB9, nil))
	mustDo(t, "B job", s.ReplaceJob(ctx, relay.Job{TenantID: "tb", ID: "jb", CustomerID: "c9", State: "open"}, nil))
	// A tenant whose id is a prefix of another's must not see its entries.
	mustDo(t, "prefix op", s.ReplaceOperator(ctx, relay.Operator{TenantID: "t", ID: "x", Name: "X", Phone: "+15551110009"}, nil))

	ops, _, err := s.ListOperators(ctx, "tb", relay.ListQuery{})
	if err != nil || len(ops) != 1 || !reflect.DeepEqual(ops[0], opB1) {
		t.Errorf("B's operators: got %+v, %v; want only %+v", ops, err, opB1)
	}
	cs, _, err := s.ListCustomers(ctx, "ta", relay.ListQuery{Phone: cusA1.Phone})
	if err != nil || len(cs) != 1 || cs[0] != cusA1 {
		t.Errorf("A's customers by a shared phone: got %+v, %v; want only %+v", cs, err, cusA1)
	}
	js, _, err := s.ListJobs(ctx, "ta", relay.ListQuery{})
	if err != nil || len(js) != 0 {
		t.Errorf("A's jobs: got %+v, %v; want none", js, err)
	}
	if ops, _, err := s.ListOperators(ctx, "nobody", relay.ListQuery{}); err != nil || len(ops) != 0 {
		t.Errorf("unknown tenant's operators: got %+v, %v; want none", ops, err)
	}
}

func testListBadCursor(t *testing.T, s DirectoryStore) {
	ctx := t.Context()
	for _, c := range []string{"not a cursor", "Zm9v", "!!"} {
		_, _, err := s.ListCustomers(ctx, "ta", relay.ListQuery{Cursor: c})
		wantDirKind(t, "cursor "+c, err, relay.Invalid)
	}
}

func testReplaceRace(t *testing.T, s DirectoryStore) {
	ctx := context.WithoutCancel(t.Context())
	mustDo(t, "create", s.ReplaceOperator(ctx, opA1, nil))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := opA1
			next.Name = fmt.Sprintf("writer %d", i)
			errs[i] = s.ReplaceOperator(ctx, next, &opA1)
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !relay.IsKind(err, relay.Conflict):
			t.Errorf("writer %d: got %v, want nil or Conflict", i, err)
		}
	}
	if won != 1 {
		t.Errorf("got %d winning writers, want exactly 1", won)
	}
}
