// Package coldstart measures the Lambda functions' cold start as Lambda
// runs them, without AWS: it builds each bootstrap for the host
// architecture with the release flags, serves the Lambda Runtime API on
// loopback (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html),
// starts the binary with its AWS endpoints pointed at local stand-ins
// (dynalite, a Secrets Manager fake, an SQS fake) and times init (process
// start to the first GET .../invocation/next) and the first invocation
// (event handed out to response posted). A hello-world aws-lambda-go
// binary built the same way is the baseline; the ratio is what the issue's
// goal (init ≤ 2× hello-world) is about. Binary sizes are reported for the
// host build and for the deployed linux/arm64 build.
//
// It builds five binaries, so it runs only with COLDSTART=1 (`make coldstart`).
package coldstart

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/dynamo"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/test/awsfake"
	"github.com/dispatchrelay/dispatch-relay/test/dynalite"
)

// runs is how many cold starts are measured per binary (median reported).
const runs = 7

var releaseFlags = []string{"-trimpath", "-buildvcs=false", "-tags", "lambda.norpc", "-ldflags=-s -w -buildid="}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func build(t *testing.T, root, pkg, out, goos, goarch string) int64 {
	t.Helper()
	args := append([]string{"build"}, releaseFlags...)
	cmd := exec.Command("go", append(args, "-o", out, pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=-buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s for %s/%s: %v\n%s", pkg, goos, goarch, err, b)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// runtimeAPI is one Lambda Runtime API endpoint serving one event.
type runtimeAPI struct {
	event    []byte
	mu       sync.Mutex
	firstGet time.Time
	handed   time.Time
	answered time.Time
	status   string // "response" or "error"
	body     string
	done     chan struct{}
	once     sync.Once
}

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next":
		a.mu.Lock()
		first := a.firstGet.IsZero()
		if first {
			a.firstGet = time.Now()
		}
		a.mu.Unlock()
		if !first {
			<-r.Context().Done() // the next event never comes; the process is killed
			return
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", "req-1")
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:coldstart")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
		a.mu.Lock()
		a.handed = time.Now()
		a.mu.Unlock()
		_, _ = w.Write(a.event)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/2018-06-01/runtime/"):
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.answered = time.Now()
		a.status = filepath.Base(r.URL.Path)
		a.body = string(b)
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		a.once.Do(func() { close(a.done) })
	default:
		http.NotFound(w, r)
	}
}

// sample is one cold start.
type sample struct{ init, invoke time.Duration }

// coldStart runs bin once against a fresh Runtime API with event.
func coldStart(t *testing.T, bin string, env []string, event []byte) (sample, string) {
	t.Helper()
	api := &runtimeAPI{event: event, done: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), env...), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	select {
	case <-api.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not answer its first invocation within 30s; output:\n%s", filepath.Base(bin), out.String())
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.status != "response" {
		t.Fatalf("%s answered %s: %s\noutput:\n%s", filepath.Base(bin), api.status, api.body, out.String())
	}
	return sample{init: api.firstGet.Sub(start), invoke: api.answered.Sub(api.handed)}, api.body
}

func median(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func TestColdStart(t *testing.T) {
	if os.Getenv("COLDSTART") != "1" {
		t.Skip("cold-start measurement builds five binaries; run it with COLDSTART=1 (make coldstart)")
	}
	root := moduleRoot(t)
	dir := t.TempDir()
	type fn struct {
		name, pkg string
		event     []byte
		env       []string
	}
	// Stand-ins: dynalite behind one endpoint with the Secrets Manager and SQS fakes.
	dyn := dynalite.Start(t)
	dynURL, _ := http.NewRequest(http.MethodGet, dyn, nil)
	dynProxy := httptestProxy(dynURL.URL.Host)
	secrets := awsfake.Secrets{
		"arn:twilio": `{"account_sid":"AC00000000000000000000000000000001","auth_token":"coldstarttoken00000000000000001"}`,
		"arn:origin": "origin-verify-secret",
	}
	queue := &awsfake.Queue{}
	router := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		switch {
		case strings.HasPrefix(target, "DynamoDB_"):
			dynProxy.ServeHTTP(w, r)
		case strings.HasPrefix(target, "secretsmanager."):
			secrets.ServeHTTP(w, r)
		case strings.HasPrefix(target, "AmazonSQS."):
			queue.ServeHTTP(w, r)
		default:
			http.Error(w, "no such stand-in", http.StatusNotFound)
		}
	}))
	t.Cleanup(router.Close)
	client, err := dynamo.NewClient(t.Context(), dyn)
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamo.CreateTable(t.Context(), client, "relay"); err != nil {
		t.Fatal(err)
	}
	// One tenant, so the health route answers 200 after reading the store.
	if err := dynamo.New(client, "relay").PutTenant(t.Context(), relay.Tenant{ID: "t", Name: "T",
		Numbers: []string{"+15550000001"}, Chain: []string{"op"}}); err != nil {
		t.Fatal(err)
	}
	awsEnv := []string{"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_ENDPOINT_URL=" + router.URL, "AWS_EC2_METADATA_DISABLED=true", "AWS_LAMBDA_FUNCTION_NAME=coldstart",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "LOG_LEVEL=error",
		config.EnvPublicBaseURL + "=https://relay.example.com", config.EnvTableName + "=relay",
		config.EnvAuditBucket + "=audit", config.EnvTimerQueueURL + "=" + router.URL + "/000000000000/timers",
		config.EnvTwilioSecretARN + "=arn:twilio", config.EnvOriginVerifySecretARN + "=arn:origin",
		config.EnvTenantClaim + "=custom:tenant_id"}
	status, _ := json.Marshal(events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "GET /api/sms/status",
		RawPath: "/api/sms/status", Headers: map[string]string{"x-origin-verify": "origin-verify-secret"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method: "GET", Path: "/api/sms/status", SourceIP: "127.0.0.1"}}})
	tick, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1",
		Body: `{"kind":"ack_timeout","tenant_id":"t","relay_id":"SM00000000000000000000000000000001","attempt":1,"due":"2020-01-01T00:00:00Z"}`}}})
	fns := []fn{
		{"hello", "./test/coldstart/hello", []byte(`{}`), nil},
		{config.FunctionAPI, "./lambdas/cmd/api", status, awsEnv},
		{config.FunctionEscalator, "./lambdas/cmd/escalator", tick, awsEnv},
	}
	var lines []string
	var helloInit time.Duration
	for _, f := range fns {
		hostBin := filepath.Join(dir, f.name+"-host")
		hostSize := build(t, root, f.pkg, hostBin, runtime.GOOS, runtime.GOARCH)
		armSize := build(t, root, f.pkg, filepath.Join(dir, f.name+"-arm64"), "linux", "arm64")
		var inits, invokes []time.Duration
		var body string
		for range runs {
			s, b := coldStart(t, hostBin, f.env, f.event)
			inits, invokes, body = append(inits, s.init), append(invokes, s.invoke), b
		}
		in, inv := median(inits), median(invokes)
		if f.name == "hello" {
			helloInit = in
		}
		ratio := float64(in) / float64(helloInit)
		line := fmt.Sprintf("coldstart: function=%s init_ms=%.1f first_invoke_ms=%.1f init_ratio=%.2f size_host_bytes=%d size_arm64_bytes=%d",
			f.name, ms(in), ms(inv), ratio, hostSize, armSize)
		lines = append(lines, line)
		t.Logf("%s (response %.80s)", line, body)
		if f.name != "hello" && armSize > 15<<20 {
			t.Errorf("%s: linux/arm64 binary is %d bytes, over the 15 MiB goal", f.name, armSize)
		}
	}
	fmt.Printf("coldstart: %s/%s, %d runs each, median; init = process start → first GET /invocation/next\n", runtime.GOOS, runtime.GOARCH, runs)
	for _, l := range lines {
		fmt.Println(l)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// httptestProxy forwards requests to host unchanged (dynalite ignores SigV4).
func httptestProxy(host string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := r.Clone(context.WithoutCancel(r.Context()))
		out.URL.Scheme, out.URL.Host, out.RequestURI = "http", host, ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
}
