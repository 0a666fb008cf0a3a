package relay_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

type auditLog struct {
	mu     sync.Mutex
	events []relay.AuditEvent
}

func (a *auditLog) Record(_ context.Context, e relay.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

func (a *auditLog) changes() []relay.AuditEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []relay.AuditEvent
	for _, e := range a.events {
		if e.Event == relay.EventDirectoryChange {
			out = append(out, e)
		}
	}
	return out
}

var now = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

func newRegistry(t *testing.T) (*relay.Registry, *memstore.Store, *auditLog) {
	t.Helper()
	st := memstore.New()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.PutTenant(ctx, relay.Tenant{ID: "qdn", Name: "QDN", Numbers: []string{"+16195550100"}, Chain: []string{"main"}}))
	must(st.PutOperator(ctx, relay.Operator{TenantID: "qdn", ID: "main", Name: "Main", Phone: "+16195550111", Active: true}))
	must(st.PutOperator(ctx, relay.Operator{TenantID: "qdn", ID: "backup", Name: "Backup", Phone: "+16195550112", Active: true}))
	must(st.PutCustomer(ctx, relay.Customer{TenantID: "qdn", ID: "acme", Name: "Acme", Phone: "+16195551234"}))
	must(st.PutJob(ctx, relay.Job{TenantID: "qdn", ID: "j1", CustomerID: "acme", State: "open", OperatorID: "backup"}))
	log := &auditLog{}
	return &relay.Registry{Store: st, Audit: log, Now: func() time.Time { return now }}, st, log
}

var api = relay.Actor{Name: "api:test"}

func TestRegistryValidation(t *testing.T) {
	g, _, _ := newRegistry(t)
	ctx := context.Background()
	tests := []struct {
		name string
		run  func() error
		want []string
	}{
		{"operator fields", func() error {
			_, err := g.PutOperator(ctx, "qdn", "x", relay.OperatorDoc{Name: "", Phone: "12"}, relay.Precondition{}, api)
			return err
		}, []string{"name: required", `phone: "12" is not an E.164`}},
		{"operator id from the path must be valid", func() error {
			_, err := g.PutOperator(ctx, "qdn", "bad id", relay.OperatorDoc{Name: "N", Phone: "+16195550119"}, relay.Precondition{}, api)
			return err
		}, []string{`id: "bad id"`}},
		{"operator phone is a tenant number", func() error {
			_, err := g.PutOperator(ctx, "qdn", "x", relay.OperatorDoc{Name: "N", Phone: "+16195550100"}, relay.Precondition{}, api)
			return err
		}, []string{"published numbers"}},
		{"job references", func() error {
			_, err := g.PutJob(ctx, "qdn", "j2", relay.JobDoc{Customer: "ghost", Operator: "nobody", State: "open"}, relay.Precondition{}, api)
			return err
		}, []string{`customer: no customer "ghost"`, `operator: no operator "nobody"`}},
		{"job without customer", func() error {
			_, err := g.PutJob(ctx, "qdn", "j2", relay.JobDoc{State: "open"}, relay.Precondition{}, api)
			return err
		}, []string{"customer: required"}},
		{"tenant settings", func() error {
			_, err := g.PutTenant(ctx, "qdn", relay.TenantDoc{Name: "Q", Numbers: []string{"x"}, Repeat: 11,
				AckTimeout: relay.Seconds(1000 * time.Second), Chain: []string{"main", "main", "ghost"}}, relay.Precondition{}, api)
			return err
		}, []string{`numbers[0]: "x"`, "repeat: 11", "ack_timeout: 16m40s", "chain[1]: operator \"main\" is in the chain twice", `chain[2]: no operator "ghost"`}},
		{"an existing tenant keeps a chain or a fallback", func() error {
			_, err := g.PutTenant(ctx, "qdn", relay.TenantDoc{Name: "Q", Numbers: []string{"+16195550100"}}, relay.Precondition{}, api)
			return err
		}, []string{"chain: a chain or a fallback contact is required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !relay.IsKind(err, relay.Invalid) {
				t.Fatalf("got %v, want Invalid", err)
			}
			var fe relay.FieldErrors
			if !errors.As(err, &fe) {
				t.Errorf("error %v carries no FieldErrors", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(relay.MessageOf(err), w) {
					t.Errorf("message %q lacks %q", relay.MessageOf(err), w)
				}
			}
		})
	}
}

func TestRegistryNewTenantWithoutChain(t *testing.T) {
	g, _, _ := newRegistry(t)
	s, err := g.PutTenant(context.Background(), "new", relay.TenantDoc{Name: "New", Numbers: []string{"+16195550200"}}, relay.Precondition{}, api)
	if err != nil || !s.Created {
		t.Fatalf("got %+v, %v; want a created tenant", s, err)
	}
}

func TestRegistryPutAndPreconditions(t *testing.T) {
	g, _, log := newRegistry(t)
	ctx := context.Background()
	doc := relay.OperatorDoc{Name: "Nina", Phone: "+16195550120"}
	s, err := g.PutOperator(ctx, "qdn", "nina", doc, relay.Precondition{IfNoneMatch: "*"}, api)
	if err != nil || !s.Created || s.Doc.Active == nil || !*s.Doc.Active || s.ETag == "" {
		t.Fatalf("create: %+v, %v", s, err)
	}
	if _, err := g.PutOperator(ctx, "qdn", "nina", doc, relay.Precondition{IfNoneMatch: "*"}, api); !errors.Is(err, relay.ErrStale) {
		t.Errorf("If-None-Match * on an existing entry: got %v, want ErrStale", err)
	}
	same, err := g.PutOperator(ctx, "qdn", "nina", doc, relay.Precondition{IfMatch: s.ETag}, api)
	if err != nil || same.Created || same.ETag != s.ETag {
		t.Errorf("identical replace: %+v, %v; want the same tag", same, err)
	}
	if n := len(log.changes()); n != 1 {
		t.Errorf("got %d directory changes, want 1 (an identical replace is not a change)", n)
	}
	doc.Name = "Nina B"
	next, err := g.PutOperator(ctx, "qdn", "nina", doc, relay.Precondition{IfMatch: `W/"x", ` + s.ETag}, api)
	if err != nil || next.ETag == s.ETag {
		t.Fatalf("replace with a matching tag in a list: %+v, %v", next, err)
	}
	if _, err := g.PutOperator(ctx, "qdn", "nina", doc, relay.Precondition{IfMatch: s.ETag}, api); !errors.Is(err, relay.ErrStale) {
		t.Errorf("stale If-Match: got %v, want ErrStale", err)
	}
	ghost := relay.OperatorDoc{Name: "G", Phone: "+16195550121"}
	if _, err := g.PutOperator(ctx, "qdn", "ghost", ghost, relay.Precondition{IfMatch: "*"}, api); !errors.Is(err, relay.ErrStale) {
		t.Errorf("If-Match * on a missing entry: got %v, want ErrStale", err)
	}
	ch := log.changes()
	last := ch[len(ch)-1]
	var before, after map[string]any
	_ = json.Unmarshal(last.Before, &before)
	_ = json.Unmarshal(last.After, &after)
	if last.Kind != "operator" || last.EntityID != "nina" || last.Actor != "api:test" || before["name"] != "Nina" || after["name"] != "Nina B" {
		t.Errorf("last change: %+v (before %v, after %v)", last, before, after)
	}
}

func TestRegistryDeleteGuards(t *testing.T) {
	g, st, log := newRegistry(t)
	ctx := context.Background()
	r := &relay.Relay{ID: "SM00000000000000000000000000000001", TenantID: "qdn", CustomerID: "acme", Status: relay.StatusPending,
		Attempts: []relay.Attempt{{N: 1, OperatorID: "backup", Code: 1}}}
	if err := st.CreateRelay(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := st.ClaimCode(ctx, relay.CodeLease{TenantID: "qdn", OperatorID: "backup", Code: 1, RelayID: r.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		want []string
	}{
		{"operator in the chain", func() error { return g.DeleteOperator(ctx, "qdn", "main", relay.Precondition{}, api) }, []string{"chain[0]", `"active": false`}},
		{"operator with an open relay", func() error { return g.DeleteOperator(ctx, "qdn", "backup", relay.Precondition{}, api) }, []string{"open relays " + r.ID}},
		{"customer with an open relay", func() error { return g.DeleteCustomer(ctx, "qdn", "acme", relay.Precondition{}, api) }, []string{"open relays " + r.ID}},
	}
	for _, tc := range tests {
		err := tc.run()
		if !relay.IsKind(err, relay.Conflict) {
			t.Errorf("%s: got %v, want Conflict", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(relay.MessageOf(err), w) {
				t.Errorf("%s: message %q lacks %q", tc.name, relay.MessageOf(err), w)
			}
		}
	}
	r.Status = relay.StatusAcked
	if err := st.UpdateRelay(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := g.DeleteOperator(ctx, "qdn", "backup", relay.Precondition{}, api); err != nil {
		t.Fatalf("delete after the relay was acked: %v", err)
	}
	if j, err := st.Job(ctx, "qdn", "j1"); err != nil || j.OperatorID != "" {
		t.Errorf("job of the deleted operator: %+v, %v; want it unassigned", j, err)
	}
	if err := g.DeleteCustomer(ctx, "qdn", "acme", relay.Precondition{}, api); err != nil {
		t.Fatalf("delete customer: %v", err)
	}
	if _, err := st.Job(ctx, "qdn", "j1"); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("job of the deleted customer: %v, want NotFound", err)
	}
	var got []string
	for _, e := range log.changes() {
		state := "changed"
		if string(e.After) == "" {
			state = "deleted"
		}
		got = append(got, e.Kind+" "+e.EntityID+" "+state)
	}
	want := "operator backup deleted,job j1 changed,customer acme deleted,job j1 deleted"
	if strings.Join(got, ",") != want {
		t.Errorf("changes: got %v, want %s", got, want)
	}
	if err := g.DeleteJob(ctx, "qdn", "j1", relay.Precondition{}, api); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("delete a missing job: got %v, want NotFound", err)
	}
}

func TestRegistryPatchJob(t *testing.T) {
	g, _, _ := newRegistry(t)
	ctx := context.Background()
	str := func(s string) *string { return &s }
	tests := []struct {
		name  string
		patch relay.JobPatch
		want  relay.JobDoc
		kind  relay.Kind
	}{
		{"reassign", relay.JobPatch{Operator: str("main")}, relay.JobDoc{ID: "j1", Customer: "acme", State: "open", Operator: "main"}, -1},
		{"close", relay.JobPatch{State: str("completed")}, relay.JobDoc{ID: "j1", Customer: "acme", State: "completed", Operator: "main"}, -1},
		{"unassign", relay.JobPatch{Operator: str("")}, relay.JobDoc{ID: "j1", Customer: "acme", State: "completed"}, -1},
		{"to a missing operator", relay.JobPatch{Operator: str("ghost")}, relay.JobDoc{}, relay.Invalid},
		{"empty patch", relay.JobPatch{}, relay.JobDoc{}, relay.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := g.PatchJob(ctx, "qdn", "j1", tc.patch, relay.Precondition{}, api)
			if tc.kind >= 0 {
				if !relay.IsKind(err, tc.kind) {
					t.Errorf("got %v, want kind %v", err, tc.kind)
				}
				return
			}
			if err != nil || s.Doc != tc.want {
				t.Errorf("got %+v, %v; want %+v", s.Doc, err, tc.want)
			}
		})
	}
	if _, err := g.PatchJob(ctx, "qdn", "nope", relay.JobPatch{State: str("x")}, relay.Precondition{}, api); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("patch a missing job: got %v, want NotFound", err)
	}
	if _, err := g.GetJob(ctx, "other", "j1"); !relay.IsKind(err, relay.NotFound) {
		t.Errorf("job through an unknown tenant: got %v, want NotFound", err)
	}
}
