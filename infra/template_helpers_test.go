package infra

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Plain-JSON views of a synthesized template, for checks the assertions
// library cannot express (exact permission sets, every resource of a type).

type resource struct {
	ID    string
	Type  string
	Props map[string]any
	Raw   map[string]any
}

func (s synthesis) resources(typ string) []resource {
	var out []resource
	for id, v := range s.doc["Resources"].(map[string]any) {
		r := v.(map[string]any)
		if r["Type"] != typ {
			continue
		}
		props, _ := r["Properties"].(map[string]any)
		out = append(out, resource{ID: id, Type: typ, Props: props, Raw: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// one returns the single resource of typ whose logical id is prefix plus CDK's 8-character hash.
func (s synthesis) one(t *testing.T, typ, prefix string) resource {
	t.Helper()
	re := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "[0-9A-F]{8}$")
	var found []resource
	for _, r := range s.resources(typ) {
		if re.MatchString(r.ID) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s named %s*, found %d", typ, prefix, len(found))
	}
	return found[0]
}

// logicalHash strips CDK's hash suffix from logical ids in rendered expressions.
var logicalHash = regexp.MustCompile(`<([A-Za-z][A-Za-z0-9]*?)[0-9A-F]{8}([.>])`)

// render turns a CloudFormation expression into a readable string:
// {"Ref": "TableCD117FA1"} → "<Table>", {"Fn::GetAtt": ["Table…", "Arn"]} → "<Table.Arn>",
// Fn::Join concatenates, pseudo parameters stay named (<AWS::Region>).
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		if r, ok := x["Ref"]; ok {
			return logicalHash.ReplaceAllString("<"+r.(string)+">", "<$1$2")
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok {
			return logicalHash.ReplaceAllString("<"+g[0].(string)+"."+g[1].(string)+">", "<$1$2")
		}
		if j, ok := x["Fn::Join"].([]any); ok {
			sep := j[0].(string)
			var parts []string
			for _, e := range j[1].([]any) {
				parts = append(parts, render(e))
			}
			return strings.Join(parts, sep)
		}
		if sub, ok := x["Fn::Sub"].(string); ok {
			return sub
		}
		b, _ := json.Marshal(x)
		return string(b)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// statement is one IAM policy statement, rendered.
type statement struct {
	Effect     string
	Actions    []string
	Resources  []string
	Principals string
	Condition  map[string]any
	Raw        map[string]any
}

func statements(doc any) []statement {
	d, _ := doc.(map[string]any)
	var out []statement
	for _, s := range asList(d["Statement"]) {
		m := s.(map[string]any)
		st := statement{Effect: m["Effect"].(string), Raw: m}
		for _, a := range asList(m["Action"]) {
			st.Actions = append(st.Actions, a.(string))
		}
		for _, r := range asList(m["Resource"]) {
			st.Resources = append(st.Resources, render(r))
		}
		if p, ok := m["Principal"]; ok {
			st.Principals = render(p)
		}
		st.Condition, _ = m["Condition"].(map[string]any)
		out = append(out, st)
	}
	return out
}

// identityStatements are the statements of every identity policy attached to the role with this logical id.
func (s synthesis) identityStatements(roleID string) []statement {
	var out []statement
	for _, p := range s.resources("AWS::IAM::Policy") {
		for _, r := range asList(p.Props["Roles"]) {
			if render(r) == render(map[string]any{"Ref": roleID}) {
				out = append(out, statements(p.Props["PolicyDocument"])...)
			}
		}
	}
	for _, r := range s.resources("AWS::IAM::Role") {
		if r.ID != roleID {
			continue
		}
		for _, p := range asList(r.Props["Policies"]) {
			out = append(out, statements(p.(map[string]any)["PolicyDocument"])...)
		}
	}
	return out
}

// permissions maps each allowed action of a role to the sorted resources it applies to.
func (s synthesis) permissions(roleID string) map[string][]string {
	perms := map[string][]string{}
	for _, st := range s.identityStatements(roleID) {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Actions {
			perms[a] = append(perms[a], st.Resources...)
		}
	}
	for a := range perms {
		sort.Strings(perms[a])
		perms[a] = compact(perms[a])
	}
	return perms
}

func compact(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// get walks a path of map keys and list indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
