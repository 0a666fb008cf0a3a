package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/test/openapitest"
)

// dirClient calls the Directory API of one dev server; every exchange is
// validated against the OpenAPI document the server serves.
type dirClient struct {
	t  *testing.T
	s  *server
	hc *http.Client
}

func newDirClient(t *testing.T, s *server) *dirClient {
	t.Helper()
	resp, err := httpClient.Get(s.URL + "/api/openapi.json")
	if err != nil {
		t.Fatalf("GET /api/openapi.json: %v", err)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/openapi.json: %d", resp.StatusCode)
	}
	v := openapitest.New(t, doc)
	return &dirClient{t: t, s: s, hc: &http.Client{Timeout: 15 * time.Second, Transport: v.Transport(t, nil)}}
}

// roleToken reads the token the dev server wrote for a tenant and role.
func (s *server) roleToken(tenant string, role httpapi.Role) string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.StateDir, "tokens", tenant+"-"+string(role)))
	if err != nil {
		s.t.Fatalf("read the %s token of tenant %s: %v", role, tenant, err)
	}
	return strings.TrimSpace(string(b))
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a JSON request; headers are name, value pairs.
func (c *dirClient) do(method, path, token string, body any, headers ...string) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		if s, ok := body.(string); ok {
			b = []byte(s)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.s.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// must is do that fails the test unless the status is want.
func (c *dirClient) must(want int, method, path, token string, body any, headers ...string) reply {
	c.t.Helper()
	r := c.do(method, path, token, body, headers...)
	if r.status != want {
		c.t.Fatalf("%s %s: got %d %s, want %d", method, path, r.status, r.body, want)
	}
	return r
}

// TestDirectoryReassignment: PATCH /api/jobs/{id} changes who the next
// text goes to, at once, and the change is audited with before and after.
func TestDirectoryReassignment(t *testing.T) {
	t.Parallel()
	// Each text starts a relay of its own: the previous one is acknowledged
	// and its conversation window (1 s) over first.
	s := start(t, setup{AckTimeout: "60s", Conversation: "1s"})
	c := newDirClient(t, s)
	disp := s.roleToken("a", httpapi.RoleDispatcher)

	w1 := s.text(acme, numA, "first")
	if m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]; m.To != sergioBackup {
		t.Fatalf("before the reassignment: texted %s, want sergio_backup %s", m.To, sergioBackup)
	}
	r := c.must(200, "PATCH", "/api/jobs/job_1", disp, map[string]any{"operator": "emergency"})
	if !strings.Contains(r.body, `"operator":"emergency"`) || r.header.Get("ETag") == "" {
		t.Errorf("PATCH answer: %s, ETag %q", r.body, r.header.Get("ETag"))
	}
	s.endThread(w1.Sid)
	w2 := s.text(acme, numA, "second")
	if m := waitMessages(t, s.Fake, 2, 5*time.Second)[1]; m.To != emergency {
		t.Errorf("after the reassignment: texted %s, want emergency %s", m.To, emergency)
	}
	// Closing the job sends the next text to the tenant's chain.
	c.must(200, "PATCH", "/api/jobs/job_1", disp, map[string]any{"state": "completed"})
	s.endThread(w2.Sid)
	s.text(acme, numA, "third")
	if m := waitMessages(t, s.Fake, 3, 5*time.Second)[2]; m.To != sergioMain {
		t.Errorf("after closing the job: texted %s, want the chain's sergio_main %s", m.To, sergioMain)
	}

	recs := s.audit(url.Values{"event": {"directory_change"}, "tenant_id": {"a"}})
	if len(recs) != 2 {
		t.Fatalf("directory_change records: got %d, want 2: %+v", len(recs), recs)
	}
	first := recs[0].Raw
	var before, after map[string]string
	_ = json.Unmarshal(first["before"], &before)
	_ = json.Unmarshal(first["after"], &after)
	if string(first["kind"]) != `"job"` || string(first["id"]) != `"job_1"` || before["operator"] != "sergio_backup" ||
		after["operator"] != "emergency" || recs[0].Actor != "api:dispatcher@a" {
		t.Errorf("first change: got %s", mustJSON(first))
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestDirectoryRemovedOperator: an operator who holds an open relay or is in
// the chain cannot be deleted (409 naming why); once removed they neither
// receive texts nor can acknowledge.
func TestDirectoryRemovedOperator(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	c := newDirClient(t, s)
	adm := s.roleToken("a", httpapi.RoleAdmin)

	w1 := s.text(acme, numA, "need a pickup")
	if m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]; m.To != sergioBackup {
		t.Fatalf("first forward to %s, want sergio_backup", m.To)
	}
	r := c.must(409, "DELETE", "/api/operators/sergio_backup", adm, nil)
	for _, want := range []string{"chain", w1.Sid, `\"active\": false`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("409 answer %s does not name %s", r.body, want)
		}
	}
	if got := s.text(sergioBackup, numA, "OK").TwiML(t); !strings.Contains(got, "Confirmed") {
		t.Fatalf("ack while still an operator: %q", got)
	}
	var tenant map[string]any
	c.must(200, "GET", "/api/tenant", adm, nil).decode(t, &tenant)
	tenant["chain"] = []string{"sergio_main", "emergency"}
	c.must(200, "PUT", "/api/tenant", adm, tenant)
	c.must(204, "DELETE", "/api/operators/sergio_backup", adm, nil)
	c.must(404, "GET", "/api/operators/sergio_backup", adm, nil)
	var job map[string]string
	c.must(200, "GET", "/api/jobs/job_1", adm, nil).decode(t, &job)
	if job["operator"] != "" {
		t.Errorf("job_1 after its operator was deleted: %v, want it unassigned", job)
	}

	w2 := s.text(acme, numA, "again")
	msgs := waitMessages(t, s.Fake, 2, 5*time.Second)
	if msgs[1].To != sergioMain {
		t.Fatalf("after the removal: texted %s, want sergio_main %s", msgs[1].To, sergioMain)
	}
	// The removed operator's "OK" acknowledges nothing.
	code := replyCode(t, msgs[1])
	s.text(sergioBackup, numA, "OK")
	s.text(sergioBackup, numA, strconv.Itoa(code)+" OK")
	time.Sleep(300 * time.Millisecond)
	for _, r := range s.audit(url.Values{"message_sid": {w2.Sid}}) {
		if r.Event == "acked" {
			t.Errorf("relay %s was acknowledged by %s after the operator was removed", w2.Sid, r.RoutedToOperator)
		}
	}
	for _, m := range s.Fake.Messages() {
		if m.To == sergioBackup && m.Body != msgs[0].Body {
			t.Errorf("removed operator received %q", m.Body)
		}
	}
	if got := s.text(sergioMain, numA, strconv.Itoa(code)+" OK").TwiML(t); !strings.Contains(got, "Confirmed") {
		t.Errorf("sergio_main's ack: %q", got)
	}
}

// TestDirectoryErrors drives each answer of the Directory API once and
// checks its status and message.
func TestDirectoryErrors(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	c := newDirClient(t, s)
	adm, disp, view := s.roleToken("a", httpapi.RoleAdmin), s.roleToken("a", httpapi.RoleDispatcher), s.roleToken("a", httpapi.RoleViewer)

	w := s.text(bayside, numA, "open relay")
	waitMessages(t, s.Fake, 1, 5*time.Second)
	etag := c.must(200, "GET", "/api/customers/cust_9012", view, nil).header.Get("ETag")

	cases := []struct {
		name    string
		method  string
		path    string
		token   string
		body    any
		headers []string
		status  int
		want    []string
	}{
		{"create", "PUT", "/api/operators/nina", adm, `{"name":"Nina","phone":"+16195550120"}`, nil, 201, []string{`"id":"nina"`, `"active":true`}},
		{"replace", "PUT", "/api/operators/nina", adm, `{"name":"Nina R","phone":"+16195550120","active":false}`, nil, 200, []string{`"active":false`}},
		{"invalid names every field", "PUT", "/api/customers/new", adm, `{"name":" ","phone":"555"}`, nil, 400, []string{"name: required", "phone: \\\"555\\\" is not an E.164", `"field":"phone"`}},
		{"malformed JSON", "PUT", "/api/jobs/j", disp, `{"customer":`, nil, 400, []string{"malformed JSON"}},
		{"dangling references", "PUT", "/api/jobs/j", disp, `{"customer":"ghost","operator":"nobody","state":"open"}`, nil, 400, []string{"no customer \\\"ghost\\\"", "no operator \\\"nobody\\\""}},
		{"no credential", "GET", "/api/jobs", "", nil, nil, 401, []string{"credential"}},
		{"bad credential", "GET", "/api/jobs", "rt_admin_a_000", nil, nil, 401, []string{"not valid"}},
		{"role", "DELETE", "/api/customers/cust_5678", disp, nil, nil, 403, []string{"role dispatcher may not DELETE", "admin"}},
		{"unknown id", "GET", "/api/customers/nobody", view, nil, nil, 404, []string{"customer nobody not found"}},
		{"operator in the chain", "DELETE", "/api/operators/sergio_main", adm, nil, nil, 409, []string{"chain"}},
		{"customer with an open relay", "DELETE", "/api/customers/cust_9012", adm, nil, nil, 409, []string{"open relays", w.Sid}},
		{"stale If-Match", "PUT", "/api/customers/cust_9012", adm, `{"name":"Bayside","phone":"+16195554321"}`, []string{"If-Match", `"stale"`}, 412, []string{"stale"}},
		{"current If-Match", "PUT", "/api/customers/cust_9012", adm, `{"name":"Bayside","phone":"+16195554321"}`, []string{"If-Match", etag}, 200, []string{`"name":"Bayside"`}},
		{"the old tag is stale now", "PUT", "/api/customers/cust_9012", adm, `{"name":"Bay","phone":"+16195554321"}`, []string{"If-Match", etag}, 412, nil},
		{"delete", "DELETE", "/api/operators/nina", adm, nil, nil, 204, nil},
		{"delete again", "DELETE", "/api/operators/nina", adm, nil, nil, 404, []string{"not found"}},
		{"lists", "GET", "/api/customers?limit=1", view, nil, nil, 200, []string{`"customers":[{"id":"cust_5678"`, `"next":"`}},
	}
	for _, tc := range cases {
		r := c.do(tc.method, tc.path, tc.token, tc.body, tc.headers...)
		if r.status != tc.status {
			t.Errorf("%s: %s %s: got %d %s, want %d", tc.name, tc.method, tc.path, r.status, r.body, tc.status)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(r.body, want) {
				t.Errorf("%s: answer %s lacks %s", tc.name, r.body, want)
			}
		}
	}
}

// TestDirectoryTenantIsolation: on every directory route, tenant b's
// credentials neither see nor change tenant a's entries, and naming tenant
// a is forbidden.
func TestDirectoryTenantIsolation(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	c := newDirClient(t, s)
	bAdmin := s.roleToken("b", httpapi.RoleAdmin)
	aView := s.roleToken("a", httpapi.RoleViewer)
	ids := map[string]string{"/api/operators/{id}": "sergio_main", "/api/customers/{id}": "cust_5678", "/api/jobs/{id}": "job_1"}
	bodies := map[string]string{
		"/api/tenant":         `{"name":"X","numbers":["+16195550100"],"chain":["bravo_main"]}`,
		"/api/operators/{id}": `{"name":"X","phone":"+16195550300"}`,
		"/api/customers/{id}": `{"name":"X","phone":"+16195550301"}`,
		"/api/jobs/{id}":      `{"customer":"cust_b1","state":"open"}`,
	}
	before := map[string]string{}
	for pattern, id := range ids {
		before[pattern] = c.must(200, "GET", strings.Replace(pattern, "{id}", id, 1), aView, nil).body
	}
	// Writes last, so that b's PUT of an id a also has (which creates b's
	// own entry) does not stand in for a's in the reads and deletes.
	routes := httpapi.RouteTable()
	sort.SliceStable(routes, func(i, j int) bool { return routes[i].Method != "PUT" && routes[j].Method == "PUT" })
	for _, rt := range routes {
		if !strings.HasPrefix(rt.Pattern, "/api/tenant") && !strings.HasPrefix(rt.Pattern, "/api/operators") &&
			!strings.HasPrefix(rt.Pattern, "/api/customers") && !strings.HasPrefix(rt.Pattern, "/api/jobs") {
			continue
		}
		path := strings.Replace(rt.Pattern, "{id}", ids[rt.Pattern], 1)
		var body any
		if b, ok := bodies[rt.Pattern]; ok && (rt.Method == "PUT" || rt.Method == "PATCH") {
			body = b
			if rt.Method == "PATCH" {
				body = `{"state":"done"}`
			}
		}
		t.Run(rt.Method+" "+rt.Pattern, func(t *testing.T) {
			if r := c.do(rt.Method, path+"?tenant=a", bAdmin, body); r.status != 403 || !strings.Contains(r.body, "scoped to tenant b") {
				t.Errorf("naming tenant a with b's token: got %d %s, want 403", r.status, r.body)
			}
			r := c.do(rt.Method, path, bAdmin, body)
			switch {
			case rt.Pattern == "/api/tenant" && rt.Method == "PUT":
				if r.status != 409 || !strings.Contains(r.body, "+16195550100") {
					t.Errorf("b taking a's number: got %d %s, want 409", r.status, r.body)
				}
			case rt.Method == "GET" && strings.Contains(rt.Pattern, "{id}"), rt.Method == "DELETE", rt.Method == "PATCH":
				if r.status != 404 {
					t.Errorf("b reaching a's %s: got %d %s, want 404", path, r.status, r.body)
				}
			case rt.Method == "GET":
				for _, aID := range []string{"sergio_main", "cust_5678", "job_1", `"id":"a"`} {
					if strings.Contains(r.body, aID) {
						t.Errorf("b's %s shows a's %s: %s", path, aID, r.body)
					}
				}
			}
		})
	}
	for pattern, id := range ids {
		if got := c.must(200, "GET", strings.Replace(pattern, "{id}", id, 1), aView, nil).body; got != before[pattern] {
			t.Errorf("a's %s changed: %s → %s", id, before[pattern], got)
		}
	}
}

// TestDirectoryRoles: viewer reads, dispatcher also acts on relays and
// keeps jobs, admin also keeps the tenant, operators and customers.
func TestDirectoryRoles(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	c := newDirClient(t, s)
	w := s.text(bayside, numA, "hello")
	waitMessages(t, s.Fake, 1, 5*time.Second)
	type call struct {
		method, path string
		body         any
	}
	calls := map[string]call{
		"read jobs":         {"GET", "/api/jobs", nil},
		"read audit":        {"GET", "/api/sms/audit?tenant_id=a", nil},
		"add a note":        {"POST", "/api/sms/audit", map[string]string{"message_sid": w.Sid, "routing_reason": "checked"}},
		"patch a job":       {"PATCH", "/api/jobs/job_1", `{"state":"en_route"}`},
		"write an operator": {"PUT", "/api/operators/zed", `{"name":"Zed","phone":"+16195550130"}`},
		"write the tenant":  {"PUT", "/api/tenant", nil},
	}
	tenant := json.RawMessage(c.must(200, "GET", "/api/tenant", s.roleToken("a", httpapi.RoleViewer), nil).body)
	calls["write the tenant"] = call{"PUT", "/api/tenant", string(tenant)}
	allowed := map[httpapi.Role][]string{
		httpapi.RoleViewer:     {"read jobs", "read audit"},
		httpapi.RoleDispatcher: {"read jobs", "read audit", "add a note", "patch a job"},
		httpapi.RoleAdmin:      {"read jobs", "read audit", "add a note", "patch a job", "write an operator", "write the tenant"},
	}
	for _, role := range httpapi.Roles {
		tok := s.roleToken("a", role)
		ok := map[string]bool{}
		for _, name := range allowed[role] {
			ok[name] = true
		}
		for name, cl := range calls {
			r := c.do(cl.method, cl.path, tok, cl.body)
			if forbidden := r.status == 403; forbidden == ok[name] {
				t.Errorf("%s may %s: %v; got %d %s", role, name, ok[name], r.status, r.body)
			}
		}
	}
	if r := c.do("POST", "/api/sms/ack", s.roleToken("a", httpapi.RoleViewer), map[string]string{"message_sid": w.Sid}); r.status != 403 {
		t.Errorf("viewer acks: got %d %s, want 403", r.status, r.body)
	}
}

var (
	relayctlOnce sync.Once
	relayctlBin  string
	relayctlErr  error
)

// relayctl builds the admin CLI once and runs it.
func relayctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	relayctlOnce.Do(func() {
		relayctlBin = filepath.Join(filepath.Dir(devserver), "relayctl")
		relayctlErr = build(relayctlBin, "./lambdas/cmd/relayctl")
	})
	if relayctlErr != nil {
		t.Fatalf("build relayctl: %v", relayctlErr)
	}
	cmd := exec.Command(relayctlBin, args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// changedFile is tenant a of testdata/tenants.yaml with job_1 reassigned,
// customer cust_9012 gone and an operator added.
const changedFile = `tenants:
  - id: a
    name: QuickDumpNow
    numbers: ["+16195550100"]
    ack_timeout: 60s
    chain: [sergio_main, sergio_backup, emergency]
    repeat: 0
    fallback: {name: Office A, phone: "+16195550199"}
    two_way: true
    operators:
      - {id: sergio_main,   name: Sergio,          phone: "+16195550111"}
      - {id: sergio_backup, name: Sergio (backup), phone: "+16195550112"}
      - {id: emergency,     name: Emergency,       phone: "+16195550113"}
      - {id: nina,          name: Nina,            phone: "+16195550114"}
    customers:
      - {id: cust_5678, name: Acme Waste Inc.,  phone: "+16195551234"}
    jobs:
      - {id: job_1, customer: cust_5678, state: en_route, operator: emergency}
`

// TestRelayctlImportAgainstDevServer: relayctl import --dry-run and --prune
// of a changed file through the dev server's API, then an idempotent rerun;
// the dev server says whether its data file was applied or ignored.
func TestRelayctlImportAgainstDevServer(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	if !strings.Contains(s.out.String(), "applied to a fresh state") {
		t.Errorf("banner does not say the data file was applied to a fresh state:\n%s", s.out.String())
	}
	file := filepath.Join(t.TempDir(), "changed.yaml")
	if err := os.WriteFile(file, []byte(changedFile), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(s.StateDir, "tokens", "a-admin")
	base := []string{"-file", file, "-url", s.URL, "-token", tokenFile}

	out, err := relayctl(t, append([]string{"import", "-dry-run", "-prune"}, base...)...)
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	for _, want := range []string{"+ operator a/nina", "~ job a/job_1: operator \"sergio_backup\" → \"emergency\"", "- customer a/cust_9012",
		"dry run: 1 to add, 1 to update, 1 to remove; nothing was changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	c := newDirClient(t, s)
	view := s.roleToken("a", httpapi.RoleViewer)
	c.must(200, "GET", "/api/customers/cust_9012", view, nil) // the dry run changed nothing

	out, err = relayctl(t, append([]string{"import"}, base...)...)
	if err != nil || !strings.Contains(out, "imported: 1 added, 1 updated, 0 removed; 1 not in the file kept") {
		t.Fatalf("import without -prune: %v\n%s", err, out)
	}
	c.must(200, "GET", "/api/customers/cust_9012", view, nil)
	out, err = relayctl(t, append([]string{"import", "-prune"}, base...)...)
	if err != nil || !strings.Contains(out, "- customer a/cust_9012") {
		t.Fatalf("import -prune: %v\n%s", err, out)
	}
	c.must(404, "GET", "/api/customers/cust_9012", view, nil)
	if out, err = relayctl(t, append([]string{"import", "-prune"}, base...)...); err != nil || !strings.Contains(out, "nothing to do") {
		t.Errorf("rerun: %v\n%s", err, out)
	}
	// The next text from Acme goes to the imported assignment.
	s.text(acme, numA, "after import")
	if m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]; m.To != emergency {
		t.Errorf("after the import: texted %s, want emergency", m.To)
	}
	if out, err = relayctl(t, "import", "-h"); err != nil || !strings.Contains(out, "-prune") {
		t.Errorf("import -h: %v\n%s", err, out)
	}
	exported, err := relayctl(t, "export", "-url", s.URL, "-token", tokenFile)
	if err != nil || !strings.Contains(exported, "id: nina") || strings.Contains(exported, "cust_9012") {
		t.Errorf("export: %v\n%s", err, exported)
	}

	// A restart with the same data file keeps the imported state and says so.
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	again := start(t, setup{AckTimeout: "60s", StateDir: s.StateDir, Addr: s.Addr, Fake: s.Fake})
	if !strings.Contains(again.out.String(), "IGNORED: unchanged since it was applied") {
		t.Errorf("restart banner does not say the data file was ignored:\n%s", again.out.String())
	}
	c2 := newDirClient(t, again)
	c2.must(404, "GET", "/api/customers/cust_9012", view, nil)

	// A tenant created through the API gets its role tokens written too.
	c2.must(201, "PUT", "/api/tenant?tenant=c", adminToken, `{"name":"Charlie","numbers":["+16195550300"]}`)
	if tok := again.roleToken("c", httpapi.RoleViewer); !strings.HasPrefix(tok, "rt_viewer_c_") {
		t.Errorf("token of the new tenant: %q", tok)
	}
	c2.must(200, "GET", "/api/tenant", again.roleToken("c", httpapi.RoleViewer), nil)
}
