package sqstimer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// fakeService fails ticks of the relays listed in errs.
type fakeService struct {
	mu      sync.Mutex
	errs    map[string]error
	handled []string
}

func (f *fakeService) HandleTick(ctx context.Context, tk relay.Tick) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handled = append(f.handled, tk.RelayID)
	return f.errs[tk.RelayID]
}

func tickMessage(t *testing.T, id string, tk relay.Tick) events.SQSMessage {
	t.Helper()
	b, err := json.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: id, Body: string(b), EventSource: "aws:sqs"}
}

func TestHandler(t *testing.T) {
	tick := func(relayID string, due time.Duration) relay.Tick {
		return relay.Tick{Kind: relay.TickAckTimeout, TenantID: "qdn", RelayID: relayID, Attempt: 1, Due: now.Add(due)}
	}
	tests := []struct {
		name         string
		records      func(t *testing.T) []events.SQSMessage
		errs         map[string]error
		sqsStatus    int
		wantFailed   []string
		wantHandled  []string
		wantResent   int
		wantLogEntry string
	}{
		{
			name: "all succeed",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{tickMessage(t, "m1", tick("SM1", 0)), tickMessage(t, "m2", tick("SM2", -time.Minute))}
			},
			wantHandled: []string{"SM1", "SM2"},
		},
		{
			name: "retryable failures only",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{
					tickMessage(t, "m1", tick("SM1", 0)), tickMessage(t, "m2", tick("transient", 0)),
					tickMessage(t, "m3", tick("internal", 0)), tickMessage(t, "m4", tick("conflict", 0)),
					tickMessage(t, "m5", tick("invalid", 0)), tickMessage(t, "m6", tick("notfound", 0)),
					tickMessage(t, "m7", tick("permanent", 0)), tickMessage(t, "m8", tick("SM8", 0)),
				}
			},
			errs: map[string]error{
				"transient": relay.Errorf(relay.Transient, "twilio down"),
				"internal":  errors.New("unclassified"),
				"conflict":  relay.Errorf(relay.Conflict, "lost race"),
				"invalid":   relay.Errorf(relay.Invalid, "bad tick"),
				"notfound":  relay.Errorf(relay.NotFound, "no tenant"),
				"permanent": relay.Errorf(relay.Permanent, "refused"),
			},
			wantFailed:  []string{"m2", "m3", "m4"},
			wantHandled: []string{"SM1", "transient", "internal", "conflict", "invalid", "notfound", "permanent", "SM8"},
		},
		{
			name: "undecodable bodies are dropped",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{
					{MessageId: "bad1", Body: "not json"},
					{MessageId: "bad2", Body: `{"kind":"ack_timeout"}`},
					{MessageId: "bad3", Body: `{"kind":"ack_timeout","relay_id":"SM1","due":"yesterday"}`},
					tickMessage(t, "m1", tick("SM1", 0)),
				}
			},
			wantHandled:  []string{"SM1"},
			wantLogEntry: "dropping undecodable timer message",
		},
		{
			name: "a tick within a second of due is handled",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{tickMessage(t, "m1", tick("SM1", 900*time.Millisecond))}
			},
			wantHandled: []string{"SM1"},
		},
		{
			name: "a tick cut short by the SQS maximum is re-scheduled",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{tickMessage(t, "m1", tick("SM1", 5*time.Minute)), tickMessage(t, "m2", tick("SM2", 0))}
			},
			wantHandled: []string{"SM2"},
			wantResent:  1,
		},
		{
			name: "a failed re-schedule is redelivered",
			records: func(t *testing.T) []events.SQSMessage {
				return []events.SQSMessage{tickMessage(t, "m1", tick("SM1", 5*time.Minute))}
			},
			sqsStatus:  500,
			wantFailed: []string{"m1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSQS{status: tt.sqsStatus, errTyp: "com.amazonaws.sqs#InternalError"}
			timer := New(newClient(t, fake), queueURL, WithClock(func() time.Time { return now }))
			svc := &fakeService{errs: tt.errs}
			var logs bytes.Buffer
			h := timer.Handler(svc, slog.New(slog.NewJSONHandler(&logs, nil)))

			resp, err := h(context.Background(), events.SQSEvent{Records: tt.records(t)})
			if err != nil {
				t.Fatalf("handler error: %v", err)
			}
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			if !slices.Equal(failed, tt.wantFailed) {
				t.Errorf("got failures %q, want %q", failed, tt.wantFailed)
			}
			if !slices.Equal(svc.handled, tt.wantHandled) {
				t.Errorf("got handled %q, want %q", svc.handled, tt.wantHandled)
			}
			if got := len(fake.requests()); got != tt.wantResent {
				t.Errorf("got %d re-scheduled, want %d", got, tt.wantResent)
			}
			if tt.wantResent > 0 {
				var again relay.Tick
				req := fake.requests()[0]
				if err := json.Unmarshal([]byte(req.MessageBody), &again); err != nil || again.RelayID != "SM1" {
					t.Errorf("got re-scheduled body %q, want the SM1 tick", req.MessageBody)
				}
				if req.DelaySeconds == nil || *req.DelaySeconds != 300 {
					t.Errorf("got re-scheduled DelaySeconds %v, want 300", fmtPtr(req.DelaySeconds))
				}
			}
			if tt.wantLogEntry != "" && !bytes.Contains(logs.Bytes(), []byte(tt.wantLogEntry)) {
				t.Errorf("got logs %s, want an entry %q", logs.String(), tt.wantLogEntry)
			}
		})
	}
}

func TestHandlerCancelled(t *testing.T) {
	timer := New(newClient(t, &fakeSQS{}), queueURL, WithClock(func() time.Time { return now }))
	svc := &fakeService{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tk := relay.Tick{Kind: relay.TickSend, TenantID: "qdn", RelayID: "SM1", Attempt: 1, Due: now}
	resp, err := timer.Handler(svc, nil)(ctx, events.SQSEvent{Records: []events.SQSMessage{tickMessage(t, "m1", tk)}})
	if err != nil {
		t.Fatalf("handler error: %v", err)
	}
	if len(resp.BatchItemFailures) != 1 || len(svc.handled) != 0 {
		t.Errorf("got failures %v and handled %v, want m1 returned unhandled", resp.BatchItemFailures, svc.handled)
	}
}

func TestHandlerStopsTakingTicksWhenTimeRunsOut(t *testing.T) {
	tests := []struct {
		name         string
		left         time.Duration
		wantHandled  int
		wantFailures int
	}{
		{"a minute left: whole batch", time.Minute, 2, 0},
		{"less than Reserve left: none started", Reserve - time.Second, 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			timer := New(newClient(t, &fakeSQS{}), queueURL, WithClock(func() time.Time { return now }))
			svc := &fakeService{}
			ctx, cancel := context.WithTimeout(context.Background(), tc.left)
			defer cancel()
			tk := relay.Tick{Kind: relay.TickSend, TenantID: "qdn", RelayID: "SM1", Attempt: 1, Due: now}
			resp, err := timer.Handler(svc, nil)(ctx, events.SQSEvent{Records: []events.SQSMessage{tickMessage(t, "m1", tk), tickMessage(t, "m2", tk)}})
			if err != nil {
				t.Fatalf("handler error: %v", err)
			}
			if len(svc.handled) != tc.wantHandled || len(resp.BatchItemFailures) != tc.wantFailures {
				t.Errorf("handled %d, failures %d; want %d, %d", len(svc.handled), len(resp.BatchItemFailures), tc.wantHandled, tc.wantFailures)
			}
		})
	}
}

// TestHandlerLambdaWire runs the handler as the Lambda runtime does, on the
// JSON an SQS event source mapping sends, and checks the response shape the
// mapping reads.
func TestHandlerLambdaWire(t *testing.T) {
	timer := New(newClient(t, &fakeSQS{}), queueURL, WithClock(func() time.Time { return now }))
	svc := &fakeService{errs: map[string]error{"SM2": relay.Errorf(relay.Transient, "later")}}
	payload := `{"Records":[
	 {"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d","receiptHandle":"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a","body":"{\"kind\":\"ack_timeout\",\"tenant_id\":\"qdn\",\"relay_id\":\"SM1\",\"attempt\":1,\"due\":\"2024-01-15T14:23:45Z\"}","attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1705328565000"},"messageAttributes":{},"md5OfBody":"","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:relay-timers","awsRegion":"us-east-1"},
	 {"messageId":"2e1424d4-f796-459a-8184-9c92662be6da","receiptHandle":"AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq","body":"{\"kind\":\"ack_timeout\",\"tenant_id\":\"qdn\",\"relay_id\":\"SM2\",\"attempt\":3,\"due\":\"2024-01-15T14:23:44Z\"}","attributes":{"ApproximateReceiveCount":"2","SentTimestamp":"1705328565000"},"messageAttributes":{},"md5OfBody":"","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:123456789012:relay-timers","awsRegion":"us-east-1"}
	]}`
	out, err := lambda.NewHandler(timer.Handler(svc, nil)).Invoke(context.Background(), []byte(payload))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	want := `{"batchItemFailures":[{"itemIdentifier":"2e1424d4-f796-459a-8184-9c92662be6da"}]}`
	if string(out) != want {
		t.Errorf("got response %s, want %s", out, want)
	}
}
