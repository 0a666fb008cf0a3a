package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/test/openapitest"
)

// TestRouteTableMatchesOpenAPI fails when a route is in the handler's table
// but not in openapi.json, or the other way round, or their roles differ.
func TestRouteTableMatchesOpenAPI(t *testing.T) {
	v := openapitest.New(t, httpapi.OpenAPI())
	inDoc := map[string]string{}
	for path, item := range v.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			role, _ := op.Extensions["x-role"].(string)
			inDoc[method+" "+path] = role
		}
	}
	inTable := map[string]string{}
	for _, r := range httpapi.RouteTable() {
		inTable[r.Method+" "+r.Pattern] = string(r.Access)
	}
	for k, access := range inTable {
		role, ok := inDoc[k]
		switch {
		case !ok:
			t.Errorf("route %s is in the handler but not in openapi.json", k)
		case role != access:
			t.Errorf("route %s: openapi.json x-role %q, handler %q", k, role, access)
		}
	}
	for k := range inDoc {
		if _, ok := inTable[k]; !ok {
			t.Errorf("operation %s is in openapi.json but not in the handler", k)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	w := e.do(httptest.NewRequest("GET", "/api/openapi.json", nil))
	var doc map[string]any
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &doc) != nil || doc["openapi"] != "3.1.0" {
		t.Errorf("GET /api/openapi.json: %d %.80s; want 200 and an OpenAPI 3.1 document", w.Code, w.Body.String())
	}
}

type dirEnv struct {
	*env
	v *openapitest.Validator
}

func newDirEnv(t *testing.T) *dirEnv {
	e := newEnv(t, func(c *httpapi.Config) {
		c.Registry = &relay.Registry{Store: c.Store.(*memstore.Store), Audit: c.Service.Audit}
	})
	return &dirEnv{env: e, v: openapitest.New(t, httpapi.OpenAPI())}
}

type answer struct {
	status int
	header http.Header
	body   string
}

// call sends one request, validates the exchange against openapi.json and
// returns the answer.
func (e *dirEnv) call(t *testing.T, method, path, token, body string, headers ...string) answer {
	t.Helper()
	r := jsonReq(method, path, token, body)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := e.do(r)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	e.v.Check(t, jsonReq(method, path, token, body), []byte(body), res.StatusCode, res.Header, b)
	return answer{status: res.StatusCode, header: res.Header, body: string(b)}
}

func tok(tenant string, role httpapi.Role) string { return httpapi.RoleToken(admin, tenant, role) }

func TestDirectoryAPI(t *testing.T) {
	e := newDirEnv(t)
	viewer, dispatcher, adminQ := tok("qdn", httpapi.RoleViewer), tok("qdn", httpapi.RoleDispatcher), tok("qdn", httpapi.RoleAdmin)
	otherAdmin := tok("other", httpapi.RoleAdmin)
	etag := ""
	steps := []struct {
		name    string
		method  string
		path    string
		token   string
		body    string
		headers []string
		status  int
		want    []string // substrings of the body
	}{
		{"viewer reads the tenant", "GET", "/api/tenant", viewer, "", nil, 200, []string{`"id":"qdn"`, `"ack_timeout":"60s"`}},
		{"no credential", "GET", "/api/tenant", "", "", nil, 401, []string{"credential"}},
		{"viewer may not write an operator", "PUT", "/api/operators/nina", viewer, `{"name":"Nina","phone":"+16195550120"}`, nil, 403, []string{"role viewer", "admin"}},
		{"dispatcher may not write an operator", "PUT", "/api/operators/nina", dispatcher, `{"name":"Nina","phone":"+16195550120"}`, nil, 403, []string{"role dispatcher"}},
		{"admin creates an operator", "PUT", "/api/operators/nina", adminQ, `{"name":"Nina","phone":"+16195550120"}`, nil, 201, []string{`"active":true`}},
		{"same PUT replaces", "PUT", "/api/operators/nina", adminQ, `{"name":"Nina","phone":"+16195550120"}`, nil, 200, []string{`"id":"nina"`}},
		{"stale If-Match", "PUT", "/api/operators/nina", adminQ, `{"name":"Nina B","phone":"+16195550120"}`, []string{"If-Match", `"0000"`}, 412, []string{"stale"}},
		{"If-None-Match on an existing id", "PUT", "/api/operators/nina", adminQ, `{"name":"Nina B","phone":"+16195550120"}`, []string{"If-None-Match", "*"}, 412, []string{"exists"}},
		{"invalid operator names every field", "PUT", "/api/operators/bad", adminQ, `{"name":"","phone":"123"}`, nil, 400, []string{"name: required", "phone:", `"fields"`}},
		{"id mismatch", "PUT", "/api/operators/nina", adminQ, `{"id":"other","name":"N","phone":"+16195550120"}`, nil, 400, []string{"id:"}},
		{"unknown field", "PUT", "/api/operators/nina", adminQ, `{"name":"N","phone":"+16195550120","colour":"red"}`, nil, 400, []string{"colour"}},
		{"phone of another operator", "PUT", "/api/operators/nina2", adminQ, `{"name":"N","phone":"+16195550111"}`, nil, 409, []string{"belongs to operator main"}},
		{"job with dangling references", "PUT", "/api/jobs/j9", dispatcher, `{"customer":"ghost","state":"open","operator":"nobody"}`, nil, 400, []string{"customer: no customer", "operator: no operator"}},
		{"dispatcher creates a job", "PUT", "/api/jobs/j9", dispatcher, `{"customer":"cust_5678","state":"en_route","operator":"backup"}`, nil, 201, []string{`"operator":"backup"`}},
		{"dispatcher reassigns it", "PATCH", "/api/jobs/j9", dispatcher, `{"operator":"nina"}`, nil, 200, []string{`"operator":"nina"`, `"state":"en_route"`}},
		{"patch to a missing operator", "PATCH", "/api/jobs/j9", dispatcher, `{"operator":"ghost"}`, nil, 400, []string{"operator: no operator"}},
		{"patch an unknown field", "PATCH", "/api/jobs/j9", dispatcher, `{"driver":"x"}`, nil, 400, []string{"driver"}},
		{"patch an unknown job", "PATCH", "/api/jobs/nope", dispatcher, `{"state":"done"}`, nil, 404, []string{"job nope not found"}},
		{"viewer may not patch", "PATCH", "/api/jobs/j9", viewer, `{"state":"done"}`, nil, 403, []string{"role viewer"}},
		{"jobs by operator", "GET", "/api/jobs?operator=nina", viewer, "", nil, 200, []string{`"jobs":[{"id":"j9"`, `"next":""`}},
		{"jobs page with cursor", "GET", "/api/jobs?limit=1", viewer, "", nil, 200, []string{`"next":"`}},
		{"bad limit", "GET", "/api/customers?limit=0", viewer, "", nil, 400, []string{"limit must be"}},
		{"bad phone filter", "GET", "/api/customers?phone=123", viewer, "", nil, 400, []string{"phone"}},
		{"bad cursor", "GET", "/api/customers?cursor=xyz", viewer, "", nil, 400, []string{"cursor"}},
		{"customers by phone", "GET", "/api/customers?phone=%2B16195551234", viewer, "", nil, 200, []string{`"id":"cust_5678"`}},
		{"customers by an unencoded phone", "GET", "/api/customers?phone=+16195551234", viewer, "", nil, 200, []string{`"id":"cust_5678"`}},
		{"bad ack_timeout", "PUT", "/api/tenant", adminQ, `{"name":"Q","numbers":["+16195550100"],"chain":["main"],"ack_timeout":"soon"}`, nil, 400, []string{"ack_timeout"}},
		{"ack_timeout in seconds", "PUT", "/api/tenant", adminQ, `{"name":"QuickDumpNow","numbers":["+16195550100"],"chain":["main","backup"],"ack_timeout":90,"two_way":true}`, nil, 200, []string{`"ack_timeout":"90s"`}},
		{"operator in the chain", "DELETE", "/api/operators/main", adminQ, "", nil, 409, []string{"chain", "active"}},
		{"delete an unknown operator", "DELETE", "/api/operators/ghost", adminQ, "", nil, 404, []string{"not found"}},
		{"other tenant's operator is not visible", "GET", "/api/operators/olga", viewer, "", nil, 404, []string{"operator olga not found"}},
		{"tenant token names another tenant", "GET", "/api/operators?tenant=other", viewer, "", nil, 403, []string{"scoped to tenant qdn"}},
		{"other tenant sees its own only", "GET", "/api/operators", otherAdmin, "", nil, 200, []string{`"id":"olga"`}},
		{"platform admin names the tenant", "GET", "/api/operators/olga?tenant=other", admin, "", nil, 200, []string{`"name":"Olga"`}},
		{"platform admin without tenant", "GET", "/api/operators", admin, "", nil, 400, []string{"?tenant=ID"}},
		{"unknown tenant", "GET", "/api/jobs?tenant=nope", admin, "", nil, 404, []string{"tenant nope not found"}},
		{"chain naming a missing operator", "PUT", "/api/tenant", adminQ, `{"name":"QuickDumpNow","numbers":["+16195550100"],"chain":["main","ghost"]}`, nil, 400, []string{"chain[1]: no operator"}},
		{"dispatcher may not change the tenant", "PUT", "/api/tenant", dispatcher, `{"name":"Q","numbers":["+16195550100"],"chain":["main"]}`, nil, 403, []string{"role dispatcher"}},
		{"number of another tenant", "PUT", "/api/tenant", adminQ, `{"name":"Q","numbers":["+17145550100"],"chain":["main"]}`, nil, 409, []string{"+17145550100"}},
		{"method not allowed", "POST", "/api/operators/nina", adminQ, `{}`, nil, 405, []string{"not allowed"}},
		{"delete the job", "DELETE", "/api/jobs/j9", dispatcher, "", nil, 204, nil},
		{"delete the operator", "DELETE", "/api/operators/nina", adminQ, "", nil, 204, nil},
		{"it is gone", "GET", "/api/operators/nina", viewer, "", nil, 404, nil},
		{"changes are audited", "GET", "/api/sms/audit?event=directory_change", viewer, "", nil, 200, []string{`"event":"directory_change"`, `"kind":"operator"`, `"before":null`, `"after":null`, `"actor":"api:admin@qdn"`}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got := e.call(t, s.method, s.path, s.token, s.body, s.headers...)
			if got.status != s.status {
				t.Fatalf("%s %s: got %d %s, want %d", s.method, s.path, got.status, got.body, s.status)
			}
			for _, w := range s.want {
				if !strings.Contains(got.body, w) {
					t.Errorf("%s %s: body %s does not contain %s", s.method, s.path, got.body, w)
				}
			}
			if s.status == 200 || s.status == 201 {
				if s.method != "GET" || !strings.HasSuffix(s.path, "s") && !strings.Contains(s.path, "?") {
					if et := got.header.Get("ETag"); et == "" && !strings.Contains(s.path, "audit") {
						t.Errorf("%s %s: no ETag", s.method, s.path)
					} else {
						etag = et
					}
				}
			}
		})
	}
	_ = etag
}

// TestETagRoundTrip proves that the ETag of a GET makes a conditional
// PUT succeed once and then go stale.
func TestETagRoundTrip(t *testing.T) {
	e := newDirEnv(t)
	a := tok("qdn", httpapi.RoleAdmin)
	got := e.call(t, "GET", "/api/customers/cust_5678", a, "")
	tag := got.header.Get("ETag")
	if got.status != 200 || !regexp.MustCompile(`^"[0-9a-f]+"$`).MatchString(tag) {
		t.Fatalf("GET: %d, ETag %q", got.status, tag)
	}
	body := `{"name":"Acme Waste","phone":"+16195551234"}`
	first := e.call(t, "PUT", "/api/customers/cust_5678", a, body, "If-Match", tag)
	if first.status != 200 || first.header.Get("ETag") == tag {
		t.Fatalf("conditional PUT: %d %s, ETag %q (was %q)", first.status, first.body, first.header.Get("ETag"), tag)
	}
	if again := e.call(t, "PUT", "/api/customers/cust_5678", a, `{"name":"X","phone":"+16195551234"}`, "If-Match", tag); again.status != 412 {
		t.Errorf("PUT with the old tag: got %d %s, want 412", again.status, again.body)
	}
	if del := e.call(t, "DELETE", "/api/customers/cust_5678", a, "", "If-Match", tag); del.status != 412 {
		t.Errorf("DELETE with the old tag: got %d %s, want 412", del.status, del.body)
	}
	if del := e.call(t, "DELETE", "/api/customers/cust_5678", a, "", "If-Match", first.header.Get("ETag")); del.status != 204 {
		t.Errorf("DELETE with the current tag: got %d %s, want 204", del.status, del.body)
	}
}

// TestRoleMatrix checks every internal route against every role: a role
// below the route's answers 403, one at or above it never does.
func TestRoleMatrix(t *testing.T) {
	e := newDirEnv(t)
	for _, r := range httpapi.RouteTable() {
		need := httpapi.Role(r.Access)
		if r.Access == httpapi.AccessPublic || r.Access == httpapi.AccessTwilio {
			continue
		}
		path := strings.ReplaceAll(r.Pattern, "{id}", "zz")
		for _, role := range httpapi.Roles {
			t.Run(r.Method+" "+r.Pattern+" as "+string(role), func(t *testing.T) {
				w := e.do(jsonReq(r.Method, path, tok("qdn", role), `{}`))
				forbidden := w.Code == http.StatusForbidden
				if want := !role.AtLeast(need); forbidden != want {
					t.Errorf("got %d %s; want forbidden=%v", w.Code, w.Body.String(), want)
				}
			})
		}
	}
}

func TestRolesAndTokens(t *testing.T) {
	auth := httpapi.Tokens{Admin: admin}
	tests := []struct {
		name   string
		token  string
		tenant string
		role   httpapi.Role
		ok     bool
	}{
		{"admin", admin, "", httpapi.RoleAdmin, true},
		{"tenant token is a tenant admin", httpapi.TenantToken(admin, "qdn"), "qdn", httpapi.RoleAdmin, true},
		{"viewer", tok("qdn", httpapi.RoleViewer), "qdn", httpapi.RoleViewer, true},
		{"dispatcher of a tenant with _ in its id", tok("a_b", httpapi.RoleDispatcher), "a_b", httpapi.RoleDispatcher, true},
		{"role swapped", strings.Replace(tok("qdn", httpapi.RoleViewer), "viewer", "admin", 1), "", "", false},
		{"tenant swapped", strings.Replace(tok("qdn", httpapi.RoleViewer), "_qdn_", "_other_", 1), "", "", false},
		{"token of another admin", httpapi.RoleToken("other-admin", "qdn", httpapi.RoleAdmin), "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tc.token)
			p, err := auth.Authenticate(r)
			if (err == nil) != tc.ok || p.TenantID != tc.tenant || p.Role != tc.role {
				t.Errorf("got %+v, %v; want tenant %q role %q ok %v", p, err, tc.tenant, tc.role, tc.ok)
			}
		})
	}
	var order []string
	for _, r := range httpapi.Roles {
		order = append(order, string(r))
	}
	if !sort.SliceIsSorted(httpapi.Roles, func(i, j int) bool { return httpapi.Roles[j].AtLeast(httpapi.Roles[i]) && i < j }) {
		t.Errorf("roles %v are not weakest first", order)
	}
}
