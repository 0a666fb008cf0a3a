package main

import (
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

	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// progressOut is where the import's progress bar goes; tests silence it.
var progressOut io.Writer = os.Stderr

// progressMin is the number of changes from which an import shows a bar.
const progressMin = 20

// Conversions between the data file's entries and the API's documents.

func tenantDoc(t datafile.Tenant) relay.TenantDoc {
	return relay.TenantDoc{ID: t.ID, Name: t.Name, Numbers: t.Numbers, AckTimeout: relay.Seconds(t.AckTimeout),
		Chain: t.Chain, Repeat: t.Repeat, Fallback: t.Fallback, TwoWay: t.TwoWay, AutoReply: t.AutoReply,
		Schedule:           t.Schedule,
		ConversationWindow: relay.WindowSeconds(t.ConversationWindow), HelpText: t.HelpText, Prefix: t.Prefix,
		DeleteTwilioMedia: t.DeleteTwilioMedia}.Tenant().Doc()
}

func operatorDoc(o datafile.Operator) relay.OperatorDoc {
	return relay.OperatorDoc{ID: o.ID, Name: o.Name, Phone: o.Phone, Active: o.Active,
		Availability: o.Availability}.Operator("").Doc()
}

func fileTenant(d relay.TenantDoc) datafile.Tenant {
	return datafile.Tenant{ID: d.ID, Name: d.Name, Numbers: d.Numbers, AckTimeout: datafile.Duration(d.AckTimeout),
		Chain: d.Chain, Repeat: d.Repeat, Fallback: d.Fallback, TwoWay: d.TwoWay, AutoReply: d.AutoReply,
		Schedule:           d.Schedule,
		ConversationWindow: datafile.Duration(d.ConversationWindow), HelpText: d.HelpText, Prefix: d.Prefix,
		DeleteTwilioMedia: d.DeleteTwilioMedia}
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
		live := byID(ops, opID)
		for i, o := range ft.Operators {
			wantOps[i] = operatorDoc(o)
			// paused_until is set by the operator's AWAY/BACK texts: a file
			// that does not name it leaves a live pause alone.
			if cur, ok := live[o.ID]; ok && o.PausedUntil.IsZero() {
				wantOps[i].PausedUntil = cur.PausedUntil
			}
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
			t.Operators = append(t.Operators, datafile.Operator{ID: o.ID, Name: o.Name, Phone: o.Phone, Active: o.Active,
				Availability: o.Availability})
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
