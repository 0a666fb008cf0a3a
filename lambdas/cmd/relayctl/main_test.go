package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/dynamo"
	"github.com/dispatchrelay/dispatch-relay/test/dynalite"
)

const data = `
tenants:
  - id: qdn
    name: QuickDumpNow
    numbers: ["+16195550100"]
    chain: [a]
    operators: [{id: a, name: A, phone: "+16195550111"}]
    customers: [{id: c, name: Acme, phone: "+16195551234"}]
    jobs: [{id: j, customer: c, state: open, operator: a}]
`

// TestLoadIntoDynamo loads a data file into a dynalite table and reads it back.
func TestLoadIntoDynamo(t *testing.T) {
	endpoint := dynalite.Start(t)
	file := filepath.Join(t.TempDir(), "t.yaml")
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	env := func(string) string { return "" }
	var out bytes.Buffer
	for _, args := range [][]string{
		{"create-table", "-table", "relay", "-endpoint", endpoint},
		{"load", "-file", file, "-table", "relay", "-endpoint", endpoint},
	} {
		if err := run(ctx, args, env, &out); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	client, err := dynamo.NewClient(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	st := dynamo.New(client, "relay")
	ten, err := st.TenantByNumber(ctx, "+16195550100")
	if err != nil || ten.ID != "qdn" {
		t.Fatalf("TenantByNumber = %+v, %v", ten, err)
	}
	jobs, err := st.JobsForCustomer(ctx, "qdn", "c")
	if err != nil || len(jobs) != 1 || jobs[0].OperatorID != "a" {
		t.Errorf("jobs = %+v, %v", jobs, err)
	}
	if !strings.Contains(out.String(), "loaded 1 tenants") {
		t.Errorf("output %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"backfill-relay-index", "-table", "relay", "-endpoint", endpoint}, env, &out); err != nil {
		t.Fatalf("backfill: %v", err)
	}
	if !strings.Contains(out.String(), "indexed 0 relays in relay") {
		t.Errorf("backfill output %q", out.String())
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	env := func(string) string { return "" }
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(bad, []byte("tenants: []\n"), 0o600)
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage"},
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"validate", "-file", bad}, "at least one tenant"},
		{[]string{"load", "-file", bad}, "-table"},
		{[]string{"export", "-tenant", "qdn"}, "-bucket"},
	}
	for _, tt := range tests {
		err := run(ctx, tt.args, env, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%v) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}
