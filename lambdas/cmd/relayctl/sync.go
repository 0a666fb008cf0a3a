package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.yaml.in/yaml/v3"

	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// progressOut is where the import's progress bar goes; tests silence it.
var progressOut io.Writer = os.Stderr

// progressMin is the number of changes from which an import shows a bar.
const progressMin = 20

// readSource reads a data file (YAML or JSON) or an NDJSON stream ("-" is
// stdin) and validates all of it at once.
func readSource(path, format string) (datafile.File, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(os.Stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return datafile.File{}, fmt.Errorf("read %s: %w", path, err)
	}
	if format == "" {
		format = formatOf(path)
	}
	switch format {
	case "ndjson":
		f, err := parseNDJSON(b)
		if err != nil {
			return f, fmt.Errorf("%s: %w", path, err)
		}
		if err := f.Validate(); err != nil {
			return f, fmt.Errorf("%s: %w", path, err)
		}
		return f, nil
	case "json", "yaml":
		f, err := datafile.Parse(b, format == "json")
		if err != nil {
			return f, fmt.Errorf("%s: %w", path, err)
		}
		return f, nil
	}
	return datafile.File{}, fmt.Errorf("-format %q: use yaml, json or ndjson", format)
}

// formatOf guesses a format from a file name: .ndjson/.jsonl, .json, else YAML.
func formatOf(path string) string {
	switch p := strings.ToLower(path); {
	case strings.HasSuffix(p, ".ndjson"), strings.HasSuffix(p, ".jsonl"):
		return "ndjson"
	case strings.HasSuffix(p, ".json"):
		return "json"
	}
	return "yaml"
}

// ndjsonLine is one NDJSON entry: "kind" (tenant, operator, customer, job),
// for people and jobs the "tenant" id, and the entry's data-file fields.
type ndjsonLine struct {
	Kind   string `json:"kind"`
	Tenant string `json:"tenant,omitempty"`
}

// parseNDJSON reads one entry per line into a File, tenants in the order
// they first appear; a person or job may come before its tenant's line.
func parseNDJSON(b []byte) (datafile.File, error) {
	var f datafile.File
	index := map[string]int{}
	tenant := func(id string) *datafile.Tenant {
		i, ok := index[id]
		if !ok {
			i = len(f.Tenants)
			index[id] = i
			f.Tenants = append(f.Tenants, datafile.Tenant{ID: id})
		}
		return &f.Tenants[i]
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var bad []string
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(line, &raw); err != nil {
			bad = append(bad, fmt.Sprintf("line %d: not a JSON object: %v", n, err))
			continue
		}
		var head ndjsonLine
		_ = json.Unmarshal(raw["kind"], &head.Kind)
		_ = json.Unmarshal(raw["tenant"], &head.Tenant)
		delete(raw, "kind")
		delete(raw, "tenant")
		rest, _ := json.Marshal(raw)
		strict := func(v any) error {
			dec := json.NewDecoder(bytes.NewReader(rest))
			dec.DisallowUnknownFields()
			return dec.Decode(v)
		}
		var err error
		switch head.Kind {
		case "tenant":
			var t datafile.Tenant
			if err = strict(&t); err == nil {
				p := tenant(t.ID)
				t.Operators, t.Customers, t.Jobs = p.Operators, p.Customers, p.Jobs
				*p = t
			}
		case "operator", "customer", "job":
			if head.Tenant == "" {
				err = fmt.Errorf("%q needs the tenant's id", "tenant")
				break
			}
			p := tenant(head.Tenant)
			switch head.Kind {
			case "operator":
				var o datafile.Operator
				if err = strict(&o); err == nil {
					p.Operators = append(p.Operators, o)
				}
			case "customer":
				var c datafile.Customer
				if err = strict(&c); err == nil {
					p.Customers = append(p.Customers, c)
				}
			case "job":
				var j datafile.Job
				if err = strict(&j); err == nil {
					p.Jobs = append(p.Jobs, j)
				}
			}
		default:
			err = fmt.Errorf("kind %q is not tenant, operator, customer or job", head.Kind)
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("line %d: %v", n, err))
		}
	}
	if err := sc.Err(); err != nil {
		return f, fmt.Errorf("read NDJSON: %w", err)
	}
	if len(bad) > 0 {
		return f, relay.Errorf(relay.Invalid, "%s", strings.Join(bad, "; "))
	}
	return f, nil
}

// Conversions between the data file's entries and the API's documents.

func tenantDoc(t datafile.Tenant) relay.TenantDoc {
	return relay.TenantDoc{ID: t.ID, Name: t.Name, Numbers: t.Numbers, AckTimeout: relay.Seconds(t.AckTimeout),
		Chain: t.Chain, Repeat: t.Repeat, Fallback: t.Fallback, TwoWay: t.TwoWay, AutoReply: t.AutoReply}.Tenant().Doc()
}

func operatorDoc(o datafile.Operator) relay.OperatorDoc {
	return relay.OperatorDoc{ID: o.ID, Name: o.Name, Phone: o.Phone, Active: o.Active}.Operator("").Doc()
}

func fileTenant(d relay.TenantDoc) datafile.Tenant {
	return datafile.Tenant{ID: d.ID, Name: d.Name, Numbers: d.Numbers, AckTimeout: datafile.Duration(d.AckTimeout),
		Chain: d.Chain, Repeat: d.Repeat, Fallback: d.Fallback, TwoWay: d.TwoWay, AutoReply: d.AutoReply}
}

// change is one step of an import.
type change struct {
	op     string // "add", "update", "remove"; "" is a follow-up step not shown
	kind   string
	tenant string
	id     string
	detail string
	apply  func(ctx context.Context) error
}

func (c change) String() string {
	sign := map[string]string{"add": "+", "update": "~", "remove": "-"}[c.op]
	s := fmt.Sprintf("%s %s %s/%s", sign, c.kind, c.tenant, c.id)
	if c.detail != "" {
		s += ": " + c.detail
	}
	return s
}

// diff describes what changes between two documents, field by field.
func diff(before, after any) string {
	var a, b map[string]any
	ab, _ := json.Marshal(before)
	bb, _ := json.Marshal(after)
	_ = json.Unmarshal(ab, &a)
	_ = json.Unmarshal(bb, &b)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var parts []string
	for k := range keys {
		x, _ := json.Marshal(a[k])
		y, _ := json.Marshal(b[k])
		if !bytes.Equal(x, y) {
			parts = append(parts, fmt.Sprintf("%s %s → %s", k, x, y))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func same(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// byID indexes documents by their id.
func byID[D any](docs []D, id func(D) string) map[string]D {
	m := make(map[string]D, len(docs))
	for _, d := range docs {
		m[id(d)] = d
	}
	return m
}

// upserts plans the adds and updates of one kind of entry.
func upserts[D any](kind, tenant string, want []D, have map[string]D, id func(D) string, put func(context.Context, D) error) []change {
	var out []change
	for _, d := range want {
		d := d
		cur, ok := have[id(d)]
		switch {
		case !ok:
			out = append(out, change{op: "add", kind: kind, tenant: tenant, id: id(d), apply: func(ctx context.Context) error { return put(ctx, d) }})
		case !same(cur, d):
			out = append(out, change{op: "update", kind: kind, tenant: tenant, id: id(d), detail: diff(cur, d),
				apply: func(ctx context.Context) error { return put(ctx, d) }})
		}
	}
	return out
}

// removals plans the deletes of entries the file no longer has.
func removals[D any](kind, tenant string, want []D, have []D, id func(D) string, del func(context.Context, string) error) []change {
	keep := byID(want, id)
	var out []change
	for _, d := range have {
		if _, ok := keep[id(d)]; ok {
			continue
		}
		x := id(d)
		out = append(out, change{op: "remove", kind: kind, tenant: tenant, id: x, apply: func(ctx context.Context) error { return del(ctx, x) }})
	}
	return out
}

// plan lists the changes that make the directory equal to the file, in an
// order that keeps every reference valid while they are applied, and
// counts the entries that only --prune would remove.
func plan(ctx context.Context, dir directory, f datafile.File, prune bool) ([]change, int, error) {
	var all []change
	extra := 0
	opID := func(d relay.OperatorDoc) string { return d.ID }
	cusID := func(d relay.CustomerDoc) string { return d.ID }
	jobID := func(d relay.JobDoc) string { return d.ID }
	for _, ft := range f.Tenants {
		tid := ft.ID
		want := tenantDoc(ft)
		cur, exists, err := dir.Tenant(ctx, tid)
		if err != nil {
			return nil, 0, fmt.Errorf("read tenant %s: %w", tid, err)
		}
		var ops []relay.OperatorDoc
		var cs []relay.CustomerDoc
		var js []relay.JobDoc
		if exists {
			if ops, err = dir.Operators(ctx, tid); err == nil {
				if cs, err = dir.Customers(ctx, tid); err == nil {
					js, err = dir.Jobs(ctx, tid)
				}
			}
			if err != nil {
				return nil, 0, fmt.Errorf("read directory of %s: %w", tid, err)
			}
		}
		wantOps := make([]relay.OperatorDoc, len(ft.Operators))
		for i, o := range ft.Operators {
			wantOps[i] = operatorDoc(o)
		}
		wantCs := make([]relay.CustomerDoc, len(ft.Customers))
		for i, c := range ft.Customers {
			wantCs[i] = relay.CustomerDoc{ID: c.ID, Name: c.Name, Phone: c.Phone}
		}
		wantJs := make([]relay.JobDoc, len(ft.Jobs))
		for i, j := range ft.Jobs {
			wantJs[i] = relay.JobDoc{ID: j.ID, Customer: j.Customer, State: j.State, Operator: j.Operator}
		}

		putTenant := func(d relay.TenantDoc) func(context.Context) error {
			return func(ctx context.Context) error { return dir.PutTenant(ctx, d) }
		}
		if !exists {
			// A new tenant starts without its chain, which names operators
			// that can only be added once the tenant exists.
			bare := want
			bare.Chain = []string{}
			all = append(all, change{op: "add", kind: "tenant", tenant: tid, id: tid, apply: putTenant(bare)})
		}
		all = append(all, upserts("operator", tid, wantOps, byID(ops, opID), opID,
			func(ctx context.Context, d relay.OperatorDoc) error { return dir.PutOperator(ctx, tid, d) })...)
		switch {
		case !exists && len(want.Chain) > 0:
			all = append(all, change{kind: "tenant", tenant: tid, id: tid, apply: putTenant(want)})
		case exists && !same(cur, want):
			all = append(all, change{op: "update", kind: "tenant", tenant: tid, id: tid, detail: diff(cur, want), apply: putTenant(want)})
		}
		all = append(all, upserts("customer", tid, wantCs, byID(cs, cusID), cusID,
			func(ctx context.Context, d relay.CustomerDoc) error { return dir.PutCustomer(ctx, tid, d) })...)
		all = append(all, upserts("job", tid, wantJs, byID(js, jobID), jobID,
			func(ctx context.Context, d relay.JobDoc) error { return dir.PutJob(ctx, tid, d) })...)
		var gone []change
		gone = append(gone, removals("job", tid, wantJs, js, jobID, func(ctx context.Context, id string) error { return dir.DeleteJob(ctx, tid, id) })...)
		gone = append(gone, removals("customer", tid, wantCs, cs, cusID, func(ctx context.Context, id string) error { return dir.DeleteCustomer(ctx, tid, id) })...)
		gone = append(gone, removals("operator", tid, wantOps, ops, opID, func(ctx context.Context, id string) error { return dir.DeleteOperator(ctx, tid, id) })...)
		if prune {
			all = append(all, gone...)
		} else {
			extra += len(gone)
		}
	}
	return all, extra, nil
}

// importFile makes the directory equal to the file: dry-run prints the
// plan only; otherwise the plan is applied in order and every failure is
// reported at the end (the rest still runs, so a rerun finishes the job).
func importFile(ctx context.Context, out io.Writer, dir directory, f datafile.File, dryRun, prune, progress bool) error {
	changes, extra, err := plan(ctx, dir, f, prune)
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, c := range changes {
		if c.op != "" {
			count[c.op]++
			if dryRun {
				fmt.Fprintln(out, c)
			}
		}
	}
	summary := fmt.Sprintf("%d to add, %d to update, %d to remove", count["add"], count["update"], count["remove"])
	if extra > 0 {
		summary += fmt.Sprintf("; %d not in the file kept (--prune removes them)", extra)
	}
	if dryRun {
		fmt.Fprintf(out, "dry run: %s; nothing was changed\n", summary)
		return nil
	}
	if len(changes) == 0 {
		fmt.Fprintf(out, "nothing to do: the directory already equals the file%s\n", strings.TrimPrefix(summary, "0 to add, 0 to update, 0 to remove"))
		return nil
	}
	var bar *progressbar.ProgressBar
	if progress && len(changes) >= progressMin {
		bar = progressbar.NewOptions(len(changes), progressbar.OptionSetWriter(progressOut),
			progressbar.OptionSetDescription("import"), progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(progressOut) }))
	}
	var failed []string
	for _, c := range changes {
		if err := c.apply(ctx); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", strings.TrimSpace(c.String()), err))
		} else if c.op != "" {
			fmt.Fprintln(out, c)
		}
		if bar != nil {
			_ = bar.Add(1)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("import: %d of %d changes failed:\n  %s", len(failed), len(changes), strings.Join(failed, "\n  "))
	}
	fmt.Fprintf(out, "imported: %s\n", strings.NewReplacer("to add", "added", "to update", "updated", "to remove", "removed").Replace(summary))
	return nil
}

// exportFile reads the tenants' directories into a File.
func exportFile(ctx context.Context, dir directory, tenants []string) (datafile.File, error) {
	var f datafile.File
	for _, id := range tenants {
		td, ok, err := dir.Tenant(ctx, id)
		if err != nil {
			return f, fmt.Errorf("read tenant %s: %w", id, err)
		}
		if !ok {
			return f, fmt.Errorf("tenant %s not found", id)
		}
		t := fileTenant(td)
		ops, err := dir.Operators(ctx, id)
		if err != nil {
			return f, err
		}
		for _, o := range ops {
			t.Operators = append(t.Operators, datafile.Operator{ID: o.ID, Name: o.Name, Phone: o.Phone, Active: o.Active})
		}
		cs, err := dir.Customers(ctx, id)
		if err != nil {
			return f, err
		}
		for _, c := range cs {
			t.Customers = append(t.Customers, datafile.Customer{ID: c.ID, Name: c.Name, Phone: c.Phone})
		}
		js, err := dir.Jobs(ctx, id)
		if err != nil {
			return f, err
		}
		for _, j := range js {
			t.Jobs = append(t.Jobs, datafile.Job{ID: j.ID, Customer: j.Customer, State: j.State, Operator: j.Operator})
		}
		f.Tenants = append(f.Tenants, t)
	}
	return f, nil
}

// writeFile writes f as YAML, JSON or NDJSON.
func writeFile(w io.Writer, f datafile.File, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(f)
	case "ndjson":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		line := func(kind, tenant string, v any) error {
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			head, _ := json.Marshal(ndjsonLine{Kind: kind, Tenant: tenant})
			var m map[string]json.RawMessage
			_ = json.Unmarshal(b, &m)
			_ = json.Unmarshal(head, &m)
			return enc.Encode(m)
		}
		for _, t := range f.Tenants {
			settings := t
			settings.Operators, settings.Customers, settings.Jobs = nil, nil, nil
			b, _ := json.Marshal(settings)
			var m map[string]json.RawMessage
			_ = json.Unmarshal(b, &m)
			delete(m, "operators")
			delete(m, "customers")
			delete(m, "jobs")
			if err := line("tenant", "", m); err != nil {
				return err
			}
			for _, o := range t.Operators {
				if err := line("operator", t.ID, o); err != nil {
					return err
				}
			}
			for _, c := range t.Customers {
				if err := line("customer", t.ID, c); err != nil {
					return err
				}
			}
			for _, j := range t.Jobs {
				if err := line("job", t.ID, j); err != nil {
					return err
				}
			}
		}
		return nil
	case "yaml", "":
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(f); err != nil {
			return err
		}
		return enc.Close()
	}
	return fmt.Errorf("-format %q: use yaml, json or ndjson", format)
}
