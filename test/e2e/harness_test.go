// Package e2e tests the relay from the outside: each test runs the real dev
// server binary as its own process, on its own port, data file and state
// directory, with Twilio played by an in-process faketwilio, and talks to it
// only over HTTP, as Twilio, an operator's phone and the dashboard would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
	"github.com/dispatchrelay/dispatch-relay/test/openapitest"
)

// Credentials every test server runs with. The Twilio ones are what the fake
// accepts and signs with; none of them is a real secret.
const (
	adminToken     = "e2e-admin-token-0123456789abcdef"
	accountSID     = "AC0e2e0000000000000000000000000001"
	authToken      = "e2eauthtoken00000000000000000001"
	secondaryToken = "e2esecondarytoken000000000000002"
)

// Phone numbers of testdata/tenants.yaml.
const (
	numA         = "+16195550100" // tenant a's published number
	numB         = "+16195550200" // tenant b's published number
	acme         = "+16195551234" // a's customer cust_5678, job_1 assigned to sergio_backup
	bayside      = "+16195554321" // a's customer cust_9012, no job
	stranger     = "+16195559876" // nobody's customer
	bravoCust    = "+16195557777" // b's customer cust_b1
	sergioMain   = "+16195550111"
	sergioBackup = "+16195550112"
	emergency    = "+16195550113"
	officeA      = "+16195550199" // a's fallback contact
	bravoMain    = "+16195550211"
	bravoBackup  = "+16195550212"
	officeB      = "+16195550299" // b's fallback contact
)

// devserver is the dev server binary TestMain builds once.
var devserver string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	flag.Parse()
	raiseParallel(16)
	dir, err := os.MkdirTemp("", "dispatch-relay-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: create temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	devserver = filepath.Join(dir, "devserver")
	start := time.Now()
	if err := build(devserver, "./lambdas/cmd/devserver"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if testing.Verbose() {
		fmt.Printf("e2e: built the dev server in %s\n", time.Since(start).Round(time.Millisecond))
	}
	return m.Run()
}

// raiseParallel lets n tests run at once unless -test.parallel was given: the
// tests spend their time waiting on ack windows in other processes, not on
// this one's CPUs, so GOMAXPROCS (the default) would only serialize waits.
func raiseParallel(n int) {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", strconv.Itoa(n))
	}
}

// build compiles pkg (relative to the module root) to out with `go build`.
func build(out, pkg string) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("find the module root: %w", err)
	}
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// setup says how to start a dev server; the zero value is testdata/tenants.yaml
// (ack window 2 s) on a fresh state dir with a fresh fake Twilio.
type setup struct {
	// Data is a file under testdata/ or an absolute path; "" means tenants.yaml.
	Data string
	// AckTimeout, when set, replaces every ack_timeout of the data file.
	AckTimeout string
	// Conversation, when set, adds conversation_window to every tenant of
	// the data file (after its ack_timeout).
	Conversation string
	// Demo starts without RELAY_DATA_FILE, Twilio credentials or API token,
	// as `make dev` does.
	Demo bool
	// CORS is RELAY_CORS_ORIGINS.
	CORS string
	// Secondary is TWILIO_AUTH_TOKEN_SECONDARY.
	Secondary string
	// StateDir and Addr reuse another server's; "" means new ones.
	StateDir string
	Addr     string
	// Fake is the fake Twilio to use; nil means a new one.
	Fake *faketwilio.Server
}

// server is a running dev server process.
type server struct {
	t        *testing.T
	name     string
	URL      string // http://127.0.0.1:port
	Addr     string
	StateDir string
	Data     string // the data file, "" for the embedded demo
	Fake     *faketwilio.Server
	env      []string

	cmd    *exec.Cmd
	out    *logBuffer
	exited chan struct{}
	err    error // cmd.Wait's result, set before exited closes
}

// logBuffer collects a process's output; safe for concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

// newFake starts a fake Twilio with the suite's credentials.
func newFake(t *testing.T) *faketwilio.Server {
	t.Helper()
	return faketwilio.Start(t, faketwilio.WithCredentials(accountSID, authToken))
}

// start runs a dev server as su says and waits until GET /api/sms/status
// answers 200. The server is stopped when the test ends, and its output
// logged if the test failed.
func start(t *testing.T, su setup) *server {
	t.Helper()
	if su.Fake == nil && !su.Demo {
		su.Fake = newFake(t)
	}
	if su.StateDir == "" {
		su.StateDir = t.TempDir()
	}
	data := ""
	if !su.Demo {
		data = dataFile(t, su.Data, su.AckTimeout, su.Conversation)
	}
	const tries = 3
	for try := 1; ; try++ {
		addr := su.Addr
		if addr == "" {
			addr = freeAddr(t)
		}
		s, err := launch(t, su, addr, data)
		if err == nil {
			return s
		}
		// Another process may take a free port between the check and the
		// server's listen; only that is worth another try.
		if su.Addr != "" || try == tries || !strings.Contains(s.out.String(), "address already in use") {
			t.Fatalf("start dev server: %v\n--- output ---\n%s", err, s.out.String())
		}
	}
}

func launch(t *testing.T, su setup, addr, data string) (*server, error) {
	t.Helper()
	_ = os.Remove(filepath.Join(su.StateDir, "dev.json")) // written anew by the server that starts
	s := &server{t: t, name: fmt.Sprintf("devserver %s", addr), URL: "http://" + addr, Addr: addr,
		StateDir: su.StateDir, Data: data, Fake: su.Fake, out: &logBuffer{}, exited: make(chan struct{})}
	env := map[string]string{
		"RELAY_ADDR":      addr,
		"RELAY_STATE_DIR": su.StateDir,
		"PUBLIC_BASE_URL": s.URL,
		"LOG_LEVEL":       "debug",
	}
	if !su.Demo {
		env["RELAY_DATA_FILE"] = data
		env["RELAY_API_TOKEN"] = adminToken
		env["TWILIO_ACCOUNT_SID"] = accountSID
		env["TWILIO_AUTH_TOKEN"] = authToken
		env["TWILIO_API_BASE_URL"] = su.Fake.URL()
	}
	if su.CORS != "" {
		env["RELAY_CORS_ORIGINS"] = su.CORS
	}
	if su.Secondary != "" {
		env["TWILIO_AUTH_TOKEN_SECONDARY"] = su.Secondary
	}
	s.env = cleanEnv()
	for k, v := range env {
		s.env = append(s.env, k+"="+v)
	}
	if err := s.run(); err != nil {
		return s, err
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", s.name, s.out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-s.exited:
			return s, fmt.Errorf("dev server exited before it was ready: %v", s.err)
		default:
		}
		resp, err := httpClient.Get(s.URL + "/api/sms/status")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// Only our server writes our dev.json: a status answer from another
			// test's server that won a race for the port does not count.
			if _, ferr := os.Stat(filepath.Join(su.StateDir, "dev.json")); resp.StatusCode == http.StatusOK && ferr == nil {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return s, fmt.Errorf("GET /api/sms/status not 200 within 20s (last error %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cleanEnv is this process's environment without the variables the dev
// server reads, so a developer's settings cannot leak into a test.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "RELAY_") || strings.HasPrefix(name, "TWILIO_") ||
			name == "PUBLIC_BASE_URL" || name == "LOG_LEVEL" {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// run starts the process. Pdeathsig fires when the thread that started the
// child ends, so one locked goroutine starts it and waits for it: the child
// dies with the test binary (a test timeout) and not before.
func (s *server) run() error {
	cmd := exec.Command(devserver)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = s.out, s.out
	setProcAttr(cmd)
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			close(s.exited)
			return
		}
		started <- nil
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start %s: %w", devserver, err)
	}
	s.cmd = cmd
	return nil
}

// stop sends SIGTERM and waits for the process to exit, killing it after
// 10 s. It returns the process's exit error; stopping twice is harmless.
func (s *server) stop() error {
	if s.cmd == nil {
		return nil
	}
	select {
	case <-s.exited:
		return s.err
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.err
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("dev server ignored SIGTERM for 10s: %v", s.err)
	}
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// dataFile returns the path of testdata/name, or of a copy in a temp dir
// with every ack_timeout set to ackTimeout (when set) and a
// conversation_window added after each (when set).
func dataFile(t *testing.T, name, ackTimeout, conversation string) string {
	t.Helper()
	if name == "" {
		name = "tenants.yaml"
	}
	path, err := filepath.Abs(filepath.Join("testdata", name))
	if filepath.IsAbs(name) {
		path = name
	}
	if err != nil {
		t.Fatal(err)
	}
	if ackTimeout == "" && conversation == "" {
		return path
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(\s*ack_timeout:).*$`)
	if !re.Match(b) {
		t.Fatalf("%s has no ack_timeout to replace", name)
	}
	if ackTimeout != "" {
		b = re.ReplaceAll(b, []byte("${1} "+ackTimeout))
	}
	if conversation != "" {
		b = regexp.MustCompile(`(?m)^(\s*)(ack_timeout:.*)$`).ReplaceAll(b, []byte("${1}${2}\n${1}conversation_window: "+conversation))
	}
	out := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// webhook is the dev server's answer to a webhook.
type webhook struct {
	Sid         string // the MessageSid posted
	Status      int
	ContentType string
	Body        string
	At          time.Time // when the answer arrived
}

// TwiML returns the <Message> of a TwiML answer, "" for <Response/>.
func (w webhook) TwiML(t *testing.T) string {
	t.Helper()
	if !strings.HasPrefix(w.ContentType, "text/xml") {
		t.Fatalf("webhook %s answered Content-Type %q, want text/xml (body %s)", w.Sid, w.ContentType, w.Body)
	}
	var doc struct {
		XMLName  xml.Name `xml:"Response"`
		Messages []string `xml:"Message"`
	}
	if err := xml.Unmarshal([]byte(w.Body), &doc); err != nil {
		t.Fatalf("webhook %s answered %q, not TwiML: %v", w.Sid, w.Body, err)
	}
	switch len(doc.Messages) {
	case 0:
		return ""
	case 1:
		return doc.Messages[0]
	}
	t.Fatalf("webhook %s answered %d <Message> elements, want at most 1: %s", w.Sid, len(doc.Messages), w.Body)
	return ""
}

// text sends an SMS from → to through the fake, as Twilio delivers it, and
// fails the test unless the webhook answers 200.
func (s *server) text(from, to, body string) webhook {
	s.t.Helper()
	w := s.textSid(faketwilio.NewMessageSid(), from, to, body)
	if w.Status != http.StatusOK {
		s.t.Fatalf("text %s → %s %q: webhook answered %d %s, want 200", from, to, body, w.Status, w.Body)
	}
	return w
}

// textSid sends an SMS with a given MessageSid and returns the answer.
func (s *server) textSid(sid, from, to, body string) webhook {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := s.Fake.Inbound(ctx, s.URL+"/api/sms/incoming",
		url.Values{"MessageSid": {sid}, "From": {from}, "To": {to}, "Body": {body}})
	if err != nil {
		s.t.Fatalf("post inbound sms: %v", err)
	}
	return readWebhook(s.t, sid, resp)
}

func readWebhook(t *testing.T, sid string, resp *http.Response) webhook {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read webhook answer: %v", err)
	}
	return webhook{Sid: sid, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: string(b), At: time.Now()}
}

// postForm posts a form to path with the given X-Twilio-Signature ("" for none).
func (s *server) postForm(path string, form url.Values, signature string) (int, http.Header, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// call makes a JSON request to the dev server. token "" sends no
// Authorization header; body nil sends none, a string is sent as is.
func (s *server) call(method, path, token string, body any) (int, http.Header, []byte) {
	s.t.Helper()
	return s.callHeaders(method, path, body, http.Header{"Authorization": bearer(token)})
}

func bearer(token string) []string {
	if token == "" {
		return nil
	}
	return []string{"Bearer " + token}
}

func (s *server) callHeaders(method, path string, body any, h http.Header) (int, http.Header, []byte) {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, vs := range h {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := checkedClient(s.t).Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("read %s %s: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// checkedClient is httpClient validating every exchange against the
// OpenAPI document (lambdas/httpapi/openapi.json).
func checkedClient(t *testing.T) *http.Client {
	return &http.Client{Timeout: httpClient.Timeout, Transport: openapitest.New(t, httpapi.OpenAPI()).Transport(t, nil)}
}

// mustCall is call that fails the test unless the answer has status want,
// and decodes a JSON answer into out (when out is not nil).
func (s *server) mustCall(method, path, token string, body any, want int, out any) {
	s.t.Helper()
	got, _, b := s.call(method, path, token, body)
	if got != want {
		s.t.Fatalf("%s %s: got status %d, want %d; body %s", method, path, got, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// relayView is the part of a relay the internal routes answer with that the
// tests read.
type relayView struct {
	MessageSid string `json:"message_sid"`
	TenantID   string `json:"tenant_id"`
	Status     string `json:"status"`
	AckedBy    string `json:"acked_by"`
	Attempts   []struct {
		N          int    `json:"n"`
		OperatorID string `json:"operator_id"`
		Reason     string `json:"reason"`
	} `json:"attempts"`
}

// auditRecord is one audit record as GET /api/sms/audit and the export
// render it; Raw keeps every key, to check names and nulls exactly.
type auditRecord struct {
	Timestamp        string  `json:"timestamp"`
	MessageSid       string  `json:"message_sid"`
	CustomerID       string  `json:"customer_id"`
	CustomerName     string  `json:"customer_name"`
	OriginalFrom     string  `json:"original_from"`
	RoutedToOperator string  `json:"routed_to_operator"`
	RoutingReason    string  `json:"routing_reason"`
	Acknowledged     bool    `json:"acknowledged"`
	AckTimestamp     *string `json:"ack_timestamp"`
	EventID          string  `json:"event_id"`
	TenantID         string  `json:"tenant_id"`
	Event            string  `json:"event"`
	Attempt          int     `json:"attempt"`
	Segments         int     `json:"segments"`
	LatencyMs        int64   `json:"latency_ms"`
	OutboundSid      string  `json:"outbound_sid"`
	Note             string  `json:"note"`
	Error            string  `json:"error"`
	Actor            string  `json:"actor"`
	TimestampNs      int64   `json:"timestamp_ns"`

	Raw map[string]json.RawMessage `json:"-"`
}

func decodeRecords(t *testing.T, raw []json.RawMessage) []auditRecord {
	t.Helper()
	out := make([]auditRecord, 0, len(raw))
	for _, r := range raw {
		var rec auditRecord
		if err := json.Unmarshal(r, &rec); err != nil {
			t.Fatalf("decode audit record %s: %v", r, err)
		}
		if err := json.Unmarshal(r, &rec.Raw); err != nil {
			t.Fatalf("decode audit record %s: %v", r, err)
		}
		out = append(out, rec)
	}
	return out
}

// auditPage is one GET /api/sms/audit answer.
type auditPage struct {
	Records []auditRecord
	Next    string
}

// auditPage reads one page of GET /api/sms/audit?query.
func (s *server) auditPage(token string, query url.Values) auditPage {
	s.t.Helper()
	var page struct {
		Records []json.RawMessage `json:"records"`
		Next    string            `json:"next"`
	}
	s.mustCall(http.MethodGet, "/api/sms/audit?"+query.Encode(), token, nil, http.StatusOK, &page)
	if page.Records == nil {
		s.t.Fatalf("GET /api/sms/audit?%s: records is null or missing, want an array", query.Encode())
	}
	return auditPage{Records: decodeRecords(s.t, page.Records), Next: page.Next}
}

// audit reads every page of GET /api/sms/audit?query with the admin token.
func (s *server) audit(query url.Values) []auditRecord {
	s.t.Helper()
	return s.auditAs(adminToken, query)
}

func (s *server) auditAs(token string, query url.Values) []auditRecord {
	s.t.Helper()
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	var all []auditRecord
	for range 100 {
		p := s.auditPage(token, q)
		all = append(all, p.Records...)
		if p.Next == "" {
			return all
		}
		q.Set("cursor", p.Next)
	}
	s.t.Fatalf("GET /api/sms/audit?%s: more than 100 pages", query.Encode())
	return nil
}

// events returns the events of a relay's audit records, in order.
func events(recs []auditRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Event
	}
	return out
}

// only returns the records of one event type.
func only(recs []auditRecord, event string) []auditRecord {
	var out []auditRecord
	for _, r := range recs {
		if r.Event == event {
			out = append(out, r)
		}
	}
	return out
}

// waitAudit polls a relay's audit records until it holds an event of each
// type in want, and returns them all.
func (s *server) waitAudit(sid string, want ...string) []auditRecord {
	s.t.Helper()
	return s.waitAuditIn("", sid, want...)
}

// waitAuditIn is waitAudit with tenant_id (needed with the admin token for
// a sid that is not a relay's own, such as a follow-up's).
func (s *server) waitAuditIn(tenant, sid string, want ...string) []auditRecord {
	s.t.Helper()
	var recs []auditRecord
	q := url.Values{"message_sid": {sid}}
	if tenant != "" {
		q.Set("tenant_id", tenant)
	}
	eventually(s.t, 10*time.Second, func() (bool, string) {
		recs = s.audit(q)
		have := map[string]bool{}
		for _, r := range recs {
			have[r.Event] = true
		}
		for _, w := range want {
			if !have[w] {
				return false, fmt.Sprintf("audit of %s has events %v, want %v among them", sid, events(recs), want)
			}
		}
		return true, ""
	})
	return recs
}

// eventually polls cond every 20 ms until it holds or timeout passes, and
// then fails the test with cond's last explanation.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitMessages waits until the fake accepted at least n messages and
// returns them all, failing the test after timeout.
func waitMessages(t *testing.T, fake *faketwilio.Server, n int, timeout time.Duration) []faketwilio.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	msgs, err := fake.WaitForMessages(ctx, n)
	if err != nil {
		t.Fatalf("%v; messages so far:\n%s", err, describe(msgs))
	}
	return msgs
}

// noMoreMessages fails the test if the fake accepts a message beyond the n
// it holds within d.
func noMoreMessages(t *testing.T, fake *faketwilio.Server, n int, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if msgs, err := fake.WaitForMessages(ctx, n+1); err == nil {
		t.Fatalf("got %d outbound messages within %s, want %d:\n%s", len(msgs), d, n, describe(msgs))
	}
}

// to returns the messages sent to phone.
func to(msgs []faketwilio.Message, phone string) []faketwilio.Message {
	var out []faketwilio.Message
	for _, m := range msgs {
		if m.To == phone {
			out = append(out, m)
		}
	}
	return out
}

func describe(msgs []faketwilio.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		fmt.Fprintf(&b, "  %d. %s %s → %s %q\n", i+1, m.Sid, m.From, m.To, m.Body)
	}
	if b.Len() == 0 {
		return "  (none)\n"
	}
	return b.String()
}

var replyCodeRe = regexp.MustCompile(`\nReply (\d+) OK to confirm · (\d+) PASS to hand off$`)

// replyCode reads the reply code from a forward's hint line.
func replyCode(t *testing.T, m faketwilio.Message) int {
	t.Helper()
	sub := replyCodeRe.FindStringSubmatch(m.Body)
	if sub == nil || sub[1] != sub[2] {
		t.Fatalf("message to %s has no reply hint line: %q", m.To, m.Body)
	}
	n, _ := strconv.Atoi(sub[1])
	return n
}

// forwardBody is the text an operator receives for a relay: the forward line
// and the reply hint.
func forwardBody(name, text string, code int) string {
	return fmt.Sprintf("📦 %s: %s\nReply %d OK to confirm · %d PASS to hand off", name, text, code, code)
}

// seedTimeRe is the original records' timestamp format, UTC to the second.
var seedTimeRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)

// endThread acknowledges the relay sid through the API and waits out a 1 s
// conversation window, so that the customer's next text starts a relay.
func (s *server) endThread(sid string) {
	s.t.Helper()
	s.mustCall("POST", "/api/sms/ack", adminToken, map[string]string{"message_sid": sid}, 200, nil)
	time.Sleep(1100 * time.Millisecond)
}
