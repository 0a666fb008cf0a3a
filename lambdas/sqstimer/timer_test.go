package sqstimer

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

const queueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/relay-timers"

// sendRequest is the JSON body of an SQS SendMessage call.
type sendRequest struct {
	QueueUrl     string
	MessageBody  string
	DelaySeconds *int32
}

// fakeSQS speaks enough of the SQS JSON protocol (awsJson1_0, as the SDK
// has sent since sqs v1.35) to accept SendMessage calls and record them.
type fakeSQS struct {
	mu     sync.Mutex
	sent   []sendRequest
	status int // when non-zero, answer every call with this error status
	errTyp string
}

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		fail(400, "com.amazon.coral.service#UnknownOperationException", "bad path")
		return
	}
	if got := r.Header.Get("X-Amz-Target"); got != "AmazonSQS.SendMessage" {
		fail(400, "com.amazon.coral.service#UnknownOperationException", "target "+got)
		return
	}
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.0" {
		fail(400, "com.amazon.coral.service#SerializationException", "content type "+got)
		return
	}
	if r.Header.Get("Authorization") == "" {
		fail(403, "com.amazon.coral.service#MissingAuthenticationTokenException", "unsigned")
		return
	}
	f.mu.Lock()
	status, typ := f.status, f.errTyp
	f.mu.Unlock()
	if status != 0 {
		fail(status, typ, "injected failure")
		return
	}
	b, _ := io.ReadAll(r.Body)
	var in sendRequest
	if err := json.Unmarshal(b, &in); err != nil || in.QueueUrl == "" || in.MessageBody == "" {
		fail(400, "com.amazonaws.sqs#InvalidParameterValue", "bad request body")
		return
	}
	f.mu.Lock()
	f.sent = append(f.sent, in)
	f.mu.Unlock()
	sum := md5.Sum([]byte(in.MessageBody))
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(map[string]string{
		"MessageId":        "5fea7756-0ea4-451a-a703-a558b933e274",
		"MD5OfMessageBody": hex.EncodeToString(sum[:]),
	})
}

func (f *fakeSQS) requests() []sendRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sendRequest(nil), f.sent...)
}

// newClient returns an SQS client for a fake server, without retries so
// that injected failures surface at once.
func newClient(t *testing.T, h http.Handler) *sqs.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return sqs.New(sqs.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
	})
}

var now = time.Date(2024, 1, 15, 14, 23, 45, 0, time.UTC)

func TestDelaySeconds(t *testing.T) {
	tests := []struct {
		name string
		due  time.Duration
		want int32
	}{
		{"past", -time.Minute, 0},
		{"now", 0, 0},
		{"a nanosecond", time.Nanosecond, 1},
		{"one second", time.Second, 1},
		{"just over a second", time.Second + time.Millisecond, 2},
		{"ack window", 60 * time.Second, 60},
		{"maximum", 900 * time.Second, 900},
		{"beyond the maximum", 901 * time.Second, 900},
		{"an hour", time.Hour, 900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DelaySeconds(now, now.Add(tt.due)); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		name      string
		due       time.Duration
		wantDelay *int32 // nil: the field is omitted, which SQS reads as 0
	}{
		{"ack window", 60 * time.Second, aws.Int32(60)},
		{"fractional second", 1500 * time.Millisecond, aws.Int32(2)},
		{"overdue", -5 * time.Second, nil},
		{"beyond SQS's maximum", 20 * time.Minute, aws.Int32(900)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSQS{}
			timer := New(newClient(t, fake), queueURL, WithClock(func() time.Time { return now }))
			tk := relay.Tick{Kind: relay.TickAckTimeout, TenantID: "qdn", RelayID: "SM123", Attempt: 2, Due: now.Add(tt.due)}
			if err := timer.Schedule(context.Background(), tk); err != nil {
				t.Fatalf("Schedule: %v", err)
			}
			reqs := fake.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d SendMessage calls, want 1", len(reqs))
			}
			req := reqs[0]
			if req.QueueUrl != queueURL {
				t.Errorf("got QueueUrl %q, want %q", req.QueueUrl, queueURL)
			}
			if (req.DelaySeconds == nil) != (tt.wantDelay == nil) || req.DelaySeconds != nil && *req.DelaySeconds != *tt.wantDelay {
				t.Errorf("got DelaySeconds %v, want %v", fmtPtr(req.DelaySeconds), fmtPtr(tt.wantDelay))
			}
			var got relay.Tick
			if err := json.Unmarshal([]byte(req.MessageBody), &got); err != nil {
				t.Fatalf("MessageBody is not a tick: %v", err)
			}
			if got != tk {
				t.Errorf("got tick %+v, want %+v", got, tk)
			}
		})
	}
}

func fmtPtr(p *int32) any {
	if p == nil {
		return "absent"
	}
	return *p
}

func TestScheduleErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		typ    string
		want   relay.Kind
	}{
		{"throttled", 400, "com.amazonaws.sqs#RequestThrottled", relay.Transient},
		{"server error", 500, "com.amazonaws.sqs#InternalError", relay.Transient},
		{"unavailable", 503, "com.amazonaws.sqs#ServiceUnavailable", relay.Transient},
		{"missing queue", 400, "com.amazonaws.sqs#QueueDoesNotExist", relay.Internal},
		{"access denied", 403, "com.amazon.coral.service#AccessDeniedException", relay.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSQS{status: tt.status, errTyp: tt.typ}
			timer := New(newClient(t, fake), queueURL)
			err := timer.Schedule(context.Background(), relay.Tick{Kind: relay.TickAckTimeout, RelayID: "SM1", Due: time.Now()})
			if got := relay.KindOf(err); err == nil || got != tt.want {
				t.Errorf("got kind %v (err %v), want %v", got, err, tt.want)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		client := sqs.New(sqs.Options{
			Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("A", "B", ""),
			BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		})
		err := New(client, queueURL).Schedule(context.Background(), relay.Tick{Kind: relay.TickSend, RelayID: "SM1"})
		if got := relay.KindOf(err); err == nil || got != relay.Transient {
			t.Errorf("got kind %v (err %v), want transient", got, err)
		}
	})
}
