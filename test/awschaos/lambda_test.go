package awschaos

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/dispatchrelay/dispatch-relay/lambdas/awsapp"
	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/lambdas/dynamo"
	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
	"github.com/dispatchrelay/dispatch-relay/test/awsfake"
	"github.com/dispatchrelay/dispatch-relay/test/dynalite"
	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
	"github.com/dispatchrelay/dispatch-relay/test/faultproxy"
)

const (
	accountSID = "AC0c4a050000000000000000000000001"
	authToken  = "c4a05authtoken000000000000000001"
	adminToken = "awschaos-admin-token-0123456789ab"
	twilioARN  = "arn:aws:secretsmanager:us-east-1:000000000000:secret:twilio"
	table      = "relay"
	bucket     = "relay-audit"
)

// data returns two tenants with a one-second window, so failover runs
// through the SQS timer within the test: each has three numbers, a chain
// of two and eight customers whose jobs spread them over eight operators,
// so the per-phone pacing does not serialize the load. senders lists who
// texts which number.
func data() (string, []sender) {
	var b strings.Builder
	var senders []sender
	b.WriteString("tenants:\n")
	for _, t := range []struct{ id, area string }{{"ta", "+1619"}, {"tb", "+1858"}} {
		fmt.Fprintf(&b, "  - id: %s\n    name: Tenant %s\n    ack_timeout: 1s\n    chain: [%s_op1, %s_op2]\n", t.id, t.id, t.id, t.id)
		fmt.Fprintf(&b, "    numbers: [\"%s5550100\", \"%s5550101\", \"%s5550102\"]\n", t.area, t.area, t.area)
		fmt.Fprintf(&b, "    fallback: {name: Office, phone: \"%s5550199\"}\n    operators:\n", t.area)
		for i := 1; i <= 8; i++ {
			fmt.Fprintf(&b, "      - {id: %s_op%d, name: Op %d, phone: \"%s555011%d\"}\n", t.id, i, i, t.area, i)
		}
		// One customer per text: a customer's second text would join her
		// thread as a follow-up instead of starting a relay.
		b.WriteString("    customers:\n")
		for i := 1; i <= customersPerTenant; i++ {
			fmt.Fprintf(&b, "      - {id: c%d, name: Cust %d, phone: \"%s55510%02d\"}\n", i, i, t.area, i)
			senders = append(senders, sender{from: fmt.Sprintf("%s55510%02d", t.area, i), to: fmt.Sprintf("%s555010%d", t.area, i%3), tenant: t.id})
		}
		b.WriteString("    jobs:\n")
		for i := 1; i <= customersPerTenant; i++ {
			fmt.Fprintf(&b, "      - {id: j%d, customer: c%d, state: en_route, operator: %s_op%d}\n", i, i, t.id, (i-1)%8+1)
		}
	}
	return b.String(), senders
}

// customersPerTenant makes every text of the run come from its own customer.
const customersPerTenant = 24

// sender is a customer phone, the number it texts and its tenant.
type sender struct{ from, to, tenant string }

// lambdaEnv is the Lambda wiring on stand-ins: DynamoDB (dynalite) and S3
// (gofakes3) behind fault proxies, Secrets Manager and SQS fakes, one
// endpoint routing by X-Amz-Target as the SDK clients call it.
type lambdaEnv struct {
	app    *awsapp.App
	fake   *faketwilio.Server
	queue  *awsfake.Queue
	dynamo *faultproxy.Proxy
	s3     *faultproxy.Proxy
	web    *httptest.Server
}

func startLambda(t *testing.T) *lambdaEnv {
	t.Helper()
	ctx := t.Context()
	e := &lambdaEnv{queue: &awsfake.Queue{Copies: 2, Visibility: 500 * time.Millisecond}}
	e.dynamo = faultproxy.Start(t, dynalite.Start(t), faultproxy.DynamoDB, faultproxy.Plan{})
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3srv.Close)
	e.s3 = faultproxy.Start(t, s3srv.URL, faultproxy.S3, faultproxy.Plan{})
	secrets := awsfake.Secrets{twilioARN: fmt.Sprintf(`{"account_sid":%q,"auth_token":%q}`, accountSID, authToken)}
	router := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		switch {
		case strings.HasPrefix(target, "DynamoDB_"):
			e.dynamo.ServeHTTP(w, r)
		case strings.HasPrefix(target, "secretsmanager."):
			secrets.ServeHTTP(w, r)
		case strings.HasPrefix(target, "AmazonSQS."):
			e.queue.ServeHTTP(w, r)
		default:
			e.s3.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(router.Close)
	e.fake = faketwilio.Start(t, faketwilio.WithCredentials(accountSID, authToken))

	var handler http.Handler = http.NotFoundHandler()
	var hmu sync.RWMutex
	e.web = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hmu.RLock()
		h := handler
		hmu.RUnlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.web.Close)

	awsCfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(router.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local", "")}
	direct, err := dynamo.NewClient(ctx, router.URL)
	if err != nil {
		t.Fatalf("dynamodb client: %v", err)
	}
	if err := dynamo.CreateTable(ctx, direct, table); err != nil {
		t.Fatalf("create table: %v", err)
	}
	cfg := config.Lambda{PublicBaseURL: e.web.URL, TableName: table, AuditBucket: bucket,
		TimerQueueURL: router.URL + "/000000000000/timers", TwilioSecretARN: twilioARN, TwilioAPIBaseURL: e.fake.URL()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.app, err = awsapp.Build(ctx, cfg, awsCfg, log)
	if err != nil {
		t.Fatalf("awsapp.Build: %v", err)
	}
	yaml, _ := data()
	f, err := datafile.Parse([]byte(yaml), false)
	if err != nil {
		t.Fatalf("parse data: %v", err)
	}
	if err := datafile.Load(ctx, e.app.Store, f); err != nil {
		t.Fatalf("load data: %v", err)
	}
	hmu.Lock()
	handler = httpapi.New(httpapi.Config{Service: e.app.Service, Store: e.app.Store, Audit: e.app.Audit, Log: log,
		Signature: twilio.Verifier{Validator: twilio.NewValidator(authToken, ""), BaseURL: e.web.URL},
		Auth:      httpapi.Tokens{Admin: adminToken}})
	hmu.Unlock()
	qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); e.queue.Run(qctx, e.app.Timer.Handler(e.app.Service, log)) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// post signs and posts an inbound webhook, retrying 5xx and transport
// errors as a redelivery would; it returns the last status and body.
func (e *lambdaEnv) post(from, to, body, sid string) (int, string) {
	f := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {accountSID}, "From": {from}, "To": {to}, "Body": {body}}
	target := e.web.URL + "/api/sms/incoming"
	sig := twilio.Signature(authToken, target, f)
	status, text := 0, ""
	for try := range 8 {
		if try > 0 {
			time.Sleep(time.Duration(try) * 200 * time.Millisecond)
		}
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, text = resp.StatusCode, string(b)
		if status < 500 {
			break
		}
	}
	return status, text
}

var replyCode = regexp.MustCompile(`Reply (\d+) OK`)

// TestLambdaUnderFaults runs a short load through the Lambda wiring with
// store, audit and Twilio faults and every timer message delivered twice,
// then reconciles the relays, the fake Twilio and the audit.
func TestLambdaUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("lambda chaos is not short")
	}
	t.Parallel()
	e := startLambda(t)
	store := storePlan()
	e.dynamo.SetPlan(store)
	s3 := faultproxy.Plan{Throttle: 0.05, ServerError: 0.02, Delay: 0.05}
	if strict() {
		s3.AppliedThen500 = 0.02
	}
	e.s3.SetPlan(s3)
	if err := e.fake.SetFaults(faketwilio.FaultPlan{Throttle: 0.05, ServerError: 0.05}); err != nil {
		t.Fatal(err)
	}

	type text struct {
		sid, from, to, tenant string
		ack                   bool
	}
	_, senders := data()
	var texts []text
	var wg sync.WaitGroup
	for i := range 48 {
		s := senders[(i*7)%len(senders)]
		x := text{sid: faketwilio.NewMessageSid(), from: s.from, to: s.to, tenant: s.tenant, ack: i%2 == 0}
		texts = append(texts, x)
		copies := 1
		if i%5 == 0 {
			copies = 2 // a concurrent duplicate
		}
		for range copies {
			wg.Add(1)
			go func() { defer wg.Done(); e.post(x.from, x.to, "lambda load #"+strconv.Itoa(i), x.sid) }()
		}
		time.Sleep(60 * time.Millisecond)
	}
	wg.Wait()

	// Operators answer the first forward of every other relay with its code.
	acked := map[string]bool{}
	confirmedBy := map[string]string{} // relay → operator whose "OK" was confirmed
	want := map[string]bool{}
	for _, x := range texts {
		want[x.sid] = x.ack
	}
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range e.fake.Messages() {
			u, _ := url.Parse(m.StatusCallback)
			id := u.Query().Get("relay")
			if !want[id] || acked[id] {
				continue
			}
			acked[id] = true
			body := "OK"
			if c := replyCode.FindStringSubmatch(m.Body); c != nil {
				body = c[1] + " OK"
			}
			if _, answer := e.post(m.To, m.From, body, faketwilio.NewMessageSid()); strings.Contains(answer, "Confirmed:") {
				confirmedBy[id] = m.To
			}
		}
		open := 0
		for _, x := range texts {
			r, err := e.app.Store.Relay(t.Context(), x.sid)
			if err != nil || r.Status == relay.StatusPending {
				open++
			}
		}
		if open == 0 && e.queue.Pending() == 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("reconciling at %s", time.Now().UTC().Format(time.StampMilli))
	// Faults off for the reading.
	e.dynamo.SetPlan(faultproxy.Plan{})
	e.s3.SetPlan(faultproxy.Plan{})

	perAttempt := map[string]int{}
	reached := map[string]bool{}
	for _, m := range e.fake.Messages() {
		u, _ := url.Parse(m.StatusCallback)
		q := u.Query()
		perAttempt[q.Get("relay")+"/"+q.Get("attempt")]++
		reached[q.Get("relay")] = true
	}
	audited := map[string]bool{}
	terminal := map[string]bool{} // relay/event for acked and exhausted
	for _, tenant := range []string{"ta", "tb"} {
		q := relay.AuditQuery{TenantID: tenant, Limit: 1000}
		for {
			page, err := e.app.Audit.Query(t.Context(), q)
			if err != nil {
				t.Fatalf("read audit: %v", err)
			}
			for _, ev := range page.Records {
				if ev.OutboundSid != "" {
					audited[ev.OutboundSid] = true
				}
				terminal[ev.MessageSid+"/"+ev.Event] = true
			}
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
	}
	lost, double, stuck, auditMissing, ackDropped := 0, 0, 0, 0, 0
	for _, x := range texts {
		r, err := e.app.Store.Relay(t.Context(), x.sid)
		switch {
		case err != nil:
			lost++
			t.Logf("lost: %s: %v", x.sid, err)
			continue
		case r.Status == relay.StatusPending:
			stuck++
			t.Logf("stuck: %s attempts=%+v", x.sid, r.Attempts)
		}
		if (r.Status == relay.StatusAcked || r.Status == relay.StatusExhausted) && !terminal[x.sid+"/"+string(r.Status)] {
			auditMissing++
			t.Logf("audit missing: %s ended %s without its audit event", x.sid, r.Status)
		}
		// Operator phones end in their number: <tenant>_op<n> has ...011<n>.
		if phone, ok := confirmedBy[x.sid]; ok && (r.Status != relay.StatusAcked || r.AckedBy != x.tenant+"_op"+phone[len(phone)-1:]) {
			ackDropped++
			t.Logf("ack dropped: %s confirmed to %s but stored %s by %q", x.sid, relay.MaskPhone(phone), r.Status, r.AckedBy)
		}
		if !reached[x.sid] {
			lost++
			t.Logf("lost: %s never texted (status %s)", x.sid, r.Status)
		}
	}
	for k, n := range perAttempt {
		if n > 1 {
			double += n - 1
			t.Logf("double: %s ×%d", k, n)
		}
	}
	for _, m := range e.fake.Messages() {
		if !audited[m.Sid] {
			auditMissing++
		}
	}
	sent, dead := e.queue.Stats()
	report(t, fmt.Sprintf("aws-chaos: lambda texts=%d lost=%d double=%d stuck=%d audit_missing=%d ack_dropped=%d timer_messages=%d dead_letters=%d twilio_faults=%d dynamodb{%s} s3{%s} strict=%v",
		len(texts), lost, double, stuck, auditMissing, ackDropped, sent, dead, e.fake.FaultStats().Total(), e.dynamo.Stats(), e.s3.Stats(), strict()))
	var pending []string
	blocked(t, &pending, "texts lost on the Lambda path", lost)
	blocked(t, &pending, "forwards sent twice on the Lambda path", double)
	blocked(t, &pending, "relays stuck pending on the Lambda path", stuck)
	blocked(t, &pending, "audit records missing on the Lambda path", auditMissing)
	blocked(t, &pending, "confirmed acknowledgements not stored on the Lambda path", ackDropped)
	skipBlocked(t, pending)
}
