package apigw_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dispatchrelay/dispatch-relay/lambdas/apigw"
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
