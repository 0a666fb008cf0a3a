package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// The formats import reads and export writes: the data file as YAML or JSON,
// and NDJSON, one entry per line.

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
