package dynamo_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dispatchrelay/dispatch-relay/lambdas/dynamo"
	"github.com/dispatchrelay/dispatch-relay/test/dynalite"
)

// lossy applies every request but answers the first n UpdateItem calls
// with a 500, as when DynamoDB's answer is lost on the way back; the SDK
// then retries a write that was already applied.
type lossy struct {
	next http.RoundTripper
	lose atomic.Int64
}

func (l *lossy) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := l.next.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".UpdateItem") || l.lose.Add(-1) < 0 {
		return res, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	body := `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"answer lost"}`
	return &http.Response{StatusCode: 500, Status: "500 Internal Server Error", Request: r,
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body:          io.NopCloser(bytes.NewBufferString(body)),
		ContentLength: int64(len(body))}, nil
}

// TestCounterExactlyOnceUnderSDKRetries: an applied write whose answer was
// lost is retried by the SDK and counts once.
func TestCounterExactlyOnceUnderSDKRetries(t *testing.T) {
	endpoint := dynalite.Start(t)
	tr := &lossy{next: http.DefaultTransport}
	client := newClient(t, endpoint, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: tr} })
	if err := dynamo.CreateTable(t.Context(), client, "seq"); err != nil {
		t.Fatal(err)
	}
	s := dynamo.New(client, "seq")
	tests := []struct {
		name  string
		lose  int64
		token string
		want  int64
	}{
		{"first call, no loss", 0, "SM1", 1},
		{"answer lost once", 1, "SM2", 2},
		{"answer lost twice", 2, "SM3", 3},
		{"next call counts on", 0, "SM4", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr.lose.Store(tt.lose)
			got, err := s.Next(t.Context(), "ta", "rr", tt.token)
			if err != nil || got != tt.want {
				t.Errorf("Next(%s) with %d lost answers: got %d, %v; want %d", tt.token, tt.lose, got, err, tt.want)
			}
		})
	}
}

// TestTakeExactlyOnceUnderSDKRetries: a take whose answer was lost is
// retried by the SDK with the same request token and counts once.
func TestTakeExactlyOnceUnderSDKRetries(t *testing.T) {
	endpoint := dynalite.Start(t)
	tr := &lossy{next: http.DefaultTransport}
	client := newClient(t, endpoint, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: tr} })
	if err := dynamo.CreateTable(t.Context(), client, "take"); err != nil {
		t.Fatal(err)
	}
	s := dynamo.New(client, "take")
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	// With a limit of 3, the third take is within it only if no lost
	// answer counted twice.
	for i, lose := range []int64{1, 2, 0} {
		tr.lose.Store(lose)
		ok, err := s.Take(t.Context(), "k", 3, time.Minute, now)
		if err != nil || !ok {
			t.Fatalf("take %d with %d lost answers: got %v, %v; want within the limit", i+1, lose, ok, err)
		}
	}
	if ok, err := s.Take(t.Context(), "k", 3, time.Minute, now); err != nil || ok {
		t.Errorf("fourth take: got %v, %v; want over the limit", ok, err)
	}
}
