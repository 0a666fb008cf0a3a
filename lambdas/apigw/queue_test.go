package apigw_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dispatchrelay/dispatch-relay/lambdas/apigw"
	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

// recorder answers with the status its callback picks and records what it saw.
type recorder struct {
	status func(r *http.Request) int
	seen   []*http.Request
	bodies []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.seen, rc.bodies = append(rc.seen, r), append(rc.bodies, string(b))
	w.WriteHeader(rc.status(r))
}

func msg(id, body, sig string) events.SQSMessage {
	m := events.SQSMessage{MessageId: id, Body: body}
	if sig != "" {
		m.MessageAttributes = map[string]events.SQSMessageAttribute{"TwilioSignature": {DataType: "String", StringValue: &sig}}
	}
	return m
}

func TestQueuedReplaysWebhooks(t *testing.T) {
	q := apigw.Queued{Path: "/api/sms/fallback", SignatureAttribute: "TwilioSignature", Log: slog.New(slog.DiscardHandler)}
	tests := []struct {
		name        string
		status      int
		wantFailure bool
	}{
		{"relayed", http.StatusOK, false},
		{"bad signature is dropped", http.StatusForbidden, false},
		{"unknown number is dropped", http.StatusNotFound, false},
		{"store outage is retried", http.StatusServiceUnavailable, true},
		{"conflict is retried", http.StatusConflict, true},
		{"too many requests is retried", http.StatusTooManyRequests, true},
		{"internal error is retried", http.StatusInternalServerError, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := &recorder{status: func(*http.Request) int { return tc.status }}
			resp, err := q.Handler(rc)(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
				msg("m1", "From=%2B16195551234&Body=it%27s+%2450", "c2lnbmF0dXJl"),
			}})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(resp.BatchItemFailures) == 1; got != tc.wantFailure {
				t.Errorf("batch failure: got %v, want %v", resp.BatchItemFailures, tc.wantFailure)
			}
			if len(rc.seen) != 1 {
				t.Fatalf("got %d requests, want 1", len(rc.seen))
			}
			r := rc.seen[0]
			for _, c := range []struct{ what, got, want string }{
				{"method", r.Method, http.MethodPost},
				{"path", r.URL.Path, "/api/sms/fallback"},
				{"signature", r.Header.Get("X-Twilio-Signature"), "c2lnbmF0dXJl"},
				{"content type", r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"},
				{"body", rc.bodies[0], "From=%2B16195551234&Body=it%27s+%2450"},
			} {
				if c.got != c.want {
					t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestQueuedLeavesTheRestWhenTimeRunsOut(t *testing.T) {
	q := apigw.Queued{Path: "/api/sms/fallback", SignatureAttribute: "TwilioSignature", Reserve: 10 * time.Second}
	tests := []struct {
		name         string
		left         time.Duration
		wantServed   int
		wantFailures int
	}{
		{"enough time: every message", time.Minute, 3, 0},
		{"too little time: none started", 5 * time.Second, 0, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tc.left)
			defer cancel()
			rc := &recorder{status: func(*http.Request) int { return http.StatusOK }}
			resp, _ := q.Handler(rc)(ctx, events.SQSEvent{Records: []events.SQSMessage{msg("a", "x=1", "s"), msg("b", "x=2", "s"), msg("c", "x=3", "s")}})
			if len(rc.seen) != tc.wantServed || len(resp.BatchItemFailures) != tc.wantFailures {
				t.Errorf("served %d, failures %d; want %d, %d", len(rc.seen), len(resp.BatchItemFailures), tc.wantServed, tc.wantFailures)
			}
		})
	}
}

// fallbackSender counts texts.
type fallbackSender struct{ n int }

func (s *fallbackSender) Send(context.Context, relay.Message) (relay.Sent, error) {
	s.n++
	return relay.Sent{Sid: fmt.Sprintf("SM%032d", s.n), Status: "queued"}, nil
}

// downOnce fails the first tenant lookup, as a store outage would.
type downOnce struct {
	*memstore.Store
	failed bool
}

func (d *downOnce) TenantByNumber(ctx context.Context, n string) (relay.Tenant, error) {
	if !d.failed {
		d.failed = true
		return relay.Tenant{}, relay.Errorf(relay.Transient, "store unavailable")
	}
	return d.Store.TenantByNumber(ctx, n)
}

// The AWS path end to end, in process: the primary webhook fails, API Gateway queues the
// same POST for the Fallback URL, the consumer replays it through the shared handler and
// the text is relayed once, also when SQS delivers the message twice.
func TestQueuedFallbackRelaysOnceAfterThePrimaryFails(t *testing.T) {
	const base, token = "https://relay.example.com", "12345678901234567890123456789012"
	ctx := context.Background()
	st := memstore.New()
	_ = st.PutTenant(ctx, relay.Tenant{ID: "qdn", Name: "QuickDumpNow", Numbers: []string{"+16195550100"}, AckTimeout: time.Minute, Chain: []string{"main"}})
	_ = st.PutOperator(ctx, relay.Operator{TenantID: "qdn", ID: "main", Name: "Sergio", Phone: "+16195550111", Active: true})
	store := &downOnce{Store: st}
	sender := &fallbackSender{}
	log := slog.New(slog.DiscardHandler)
	h := httpapi.New(httpapi.Config{
		Service: &relay.Service{Store: store, Sender: sender, Timer: nopTimer{}, Log: log},
		Store:   store, Log: log,
		Signature: twilio.Verifier{Validator: twilio.NewValidator(token, ""), BaseURL: base},
	})
	form := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "From": {"+16195551234"}, "To": {"+16195550100"}, "Body": {"it's urgent: $50"}}

	// Twilio's webhook: 503, nothing sent.
	primary := httptest.NewRequest("POST", "/api/sms/incoming", strings.NewReader(form.Encode()))
	primary.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	primary.Header.Set("X-Twilio-Signature", twilio.Signature(token, base+"/api/sms/incoming", form))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, primary)
	if w.Code != http.StatusServiceUnavailable || sender.n != 0 {
		t.Fatalf("primary: got %d and %d texts, want 503 and none", w.Code, sender.n)
	}

	// Twilio's Fallback URL, queued by API Gateway (body and signature as they arrived).
	sig := twilio.Signature(token, base+config.FallbackPath, form)
	m := msg("q1", form.Encode(), sig)
	m.MessageAttributes = map[string]events.SQSMessageAttribute{config.FallbackSignatureAttribute: {DataType: "String", StringValue: &sig}}
	q := apigw.Queued{Path: config.FallbackPath, SignatureAttribute: config.FallbackSignatureAttribute, Log: log}
	for i := range 2 { // SQS is at-least-once
		resp, err := q.Handler(h)(ctx, events.SQSEvent{Records: []events.SQSMessage{m}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: %v %v", i+1, resp.BatchItemFailures, err)
		}
	}
	if sender.n != 1 {
		t.Errorf("texts sent: got %d, want exactly 1", sender.n)
	}
}

func (s *fallbackSender) Lookup(context.Context, relay.Message, time.Time) (relay.Sent, bool, error) {
	return relay.Sent{}, false, nil
}
