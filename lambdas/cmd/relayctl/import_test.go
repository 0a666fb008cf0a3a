package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/test/dynalite"
)

const v1 = `
tenants:
  - id: qdn
    name: QuickDumpNow
    numbers: ["+16195550100"]
    ack_timeout: 60s
    chain: [a, b]
    operators:
      - {id: a, name: A, phone: "+16195550111"}
      - {id: b, name: B, phone: "+16195550112"}
    customers:
      - {id: c1, name: Acme, phone: "+16195551234"}
      - {id: c2, name: Bay, phone: "+16195554321"}
    jobs:
      - {id: j1, customer: c1, state: open, operator: a}
      - {id: j2, customer: c2, state: open, operator: b}
`

// v2 drops operator b, customer c2 and job j2, renames c1 and reassigns j1.
const v2 = `
tenants:
  - id: qdn
    name: QuickDumpNow
    numbers: ["+16195550100"]
    ack_timeout: 60s
    chain: [a]
    operators:
      - {id: a, name: A, phone: "+16195550111"}
    customers:
      - {id: c1, name: Acme Waste, phone: "+16195551234"}
    jobs:
      - {id: j1, customer: c1, state: en_route, operator: a}
`

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportIntoDynamo runs import straight into a dynalite table: a first
// import, an idempotent rerun, a dry run and a pruning import of a changed
// file, then an export that reads back what the file says.
func TestImportIntoDynamo(t *testing.T) {
	progressOut = io.Discard
	endpoint := dynalite.Start(t)
	ctx := context.Background()
	env := func(string) string { return "" }
	tbl := []string{"-table", "relay", "-endpoint", endpoint}
	if err := run(ctx, append([]string{"create-table"}, tbl...), env, io.Discard); err != nil {
		t.Fatal(err)
	}
	f1, f2 := write(t, "v1.yaml", v1), write(t, "v2.yaml", v2)
	steps := []struct {
		name    string
		args    []string
		want    []string
		notWant []string
	}{
		{"first import adds everything", []string{"import", "-file", f1}, []string{"+ tenant qdn/qdn", "+ operator qdn/b", "+ job qdn/j2", "imported: 7 added, 0 updated, 0 removed"}, nil},
		{"rerun changes nothing", []string{"import", "-file", f1}, []string{"nothing to do"}, []string{"+ "}},
		{"dry run of the changed file", []string{"import", "-file", f2, "-dry-run", "-prune"},
			[]string{"~ customer qdn/c1: name \"Acme\" → \"Acme Waste\"", "~ job qdn/j1: state \"open\" → \"en_route\"", "- job qdn/j2", "- customer qdn/c2", "- operator qdn/b", "dry run: 0 to add, 3 to update, 3 to remove"}, nil},
		{"dry run changed nothing", []string{"import", "-file", f1, "-dry-run"}, []string{"dry run: 0 to add, 0 to update, 0 to remove"}, nil},
		{"without prune the extras stay", []string{"import", "-file", f2}, []string{"3 updated, 0 removed", "3 not in the file kept"}, nil},
		{"prune removes them", []string{"import", "-file", f2, "-prune"}, []string{"- operator qdn/b", "0 added, 0 updated, 3 removed"}, nil},
		{"rerun after prune changes nothing", []string{"import", "-file", f2, "-prune"}, []string{"nothing to do"}, nil},
	}
	for _, s := range steps {
		var out bytes.Buffer
		if err := run(ctx, append(s.args, tbl...), env, &out); err != nil {
			t.Fatalf("%s: %v\n%s", s.name, err, out.String())
		}
		for _, w := range s.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", s.name, w, out.String())
			}
		}
		for _, w := range s.notWant {
			if strings.Contains(out.String(), w) {
				t.Errorf("%s: output has %q:\n%s", s.name, w, out.String())
			}
		}
	}
	for _, format := range []string{"yaml", "json", "ndjson"} {
		var out bytes.Buffer
		if err := run(ctx, append([]string{"export", "-format", format}, tbl...), env, &out); err != nil {
			t.Fatalf("export %s: %v", format, err)
		}
		path := write(t, "export."+format, out.String())
		got, err := readSource(path, format)
		if err != nil {
			t.Fatalf("read export %s: %v\n%s", format, err, out.String())
		}
		want, _ := datafile.Parse([]byte(v2), false)
		if len(got.Tenants) != 1 || len(got.Tenants[0].Operators) != 1 || got.Tenants[0].Customers[0].Name != "Acme Waste" ||
			got.Tenants[0].Jobs[0].State != "en_route" || got.Tenants[0].AckTimeout != want.Tenants[0].AckTimeout {
			t.Errorf("export %s: got %+v", format, got)
		}
		// Importing the export is a no-op.
		var again bytes.Buffer
		if err := run(ctx, append([]string{"import", "-file", path, "-prune"}, tbl...), env, &again); err != nil || !strings.Contains(again.String(), "nothing to do") {
			t.Errorf("import of the %s export: %v\n%s", format, err, again.String())
		}
	}
}

func TestNDJSONErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown kind", `{"kind":"truck","id":"x"}`, "kind \"truck\""},
		{"no tenant", `{"kind":"operator","id":"x","name":"X","phone":"+16195550111"}`, "tenant"},
		{"unknown field", `{"kind":"customer","tenant":"q","id":"x","colour":"red"}`, "colour"},
		{"not JSON", `{"kind":`, "line 1"},
		{"dangling job", "{\"kind\":\"tenant\",\"id\":\"q\",\"name\":\"Q\",\"numbers\":[\"+16195550100\"],\"fallback\":{\"name\":\"O\",\"phone\":\"+16195550199\"}}\n{\"kind\":\"job\",\"tenant\":\"q\",\"id\":\"j\",\"customer\":\"nobody\"}", "no customer \"nobody\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readSource(write(t, "x.ndjson", tc.body), "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestHelp checks that every command answers -h with its flags and
// flag.ErrHelp, which main turns into exit status 0.
func TestHelp(t *testing.T) {
	for _, c := range commands {
		var out bytes.Buffer
		err := run(context.Background(), []string{c[0], "-h"}, func(string) string { return "" }, &out)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "relayctl "+c[0]) {
			t.Errorf("%s -h: got %v, output %q", c[0], err, out.String())
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, func(string) string { return "" }, &out); err != nil || !strings.Contains(out.String(), "import") {
		t.Errorf("help: got %v, %q", err, out.String())
	}
}
