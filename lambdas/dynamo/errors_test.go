package dynamo_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dispatchrelay/dispatch-relay/lambdas/dynamo"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// TestErrorKinds answers the store's requests with DynamoDB's error
// responses and checks the relay Kind each becomes.
func TestErrorKinds(t *testing.T) {
	getRelay := func(ctx context.Context, s *dynamo.Store) error { _, err := s.Relay(ctx, "SM1"); return err }
	createRelay := func(ctx context.Context, s *dynamo.Store) error {
		return s.CreateRelay(ctx, &relay.Relay{ID: "SM1", TenantID: "ta"})
	}
	cases := []struct {
		name   string
		status int
		errTyp string // DynamoDB's __type; empty sends no body
		call   func(ctx context.Context, s *dynamo.Store) error
		want   relay.Kind
	}{
		{"throughput exceeded", 400, "ProvisionedThroughputExceededException", getRelay, relay.Transient},
		{"throttled", 400, "ThrottlingException", getRelay, relay.Transient},
		{"request limit", 400, "RequestLimitExceeded", getRelay, relay.Transient},
		{"internal server error", 500, "InternalServerError", getRelay, relay.Transient},
		{"unavailable without body", 503, "", getRelay, relay.Transient},
		{"missing table", 400, "ResourceNotFoundException", getRelay, relay.Internal},
		{"validation", 400, "ValidationException", getRelay, relay.Internal},
		{"access denied", 400, "AccessDeniedException", createRelay, relay.Internal},
		{"condition failed", 400, "ConditionalCheckFailedException", createRelay, relay.Conflict},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.WriteHeader(c.status)
				if c.errTyp != "" {
					fmt.Fprintf(w, `{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"test"}`, c.errTyp)
				}
			}))
			t.Cleanup(srv.Close)
			s := dynamo.New(newClient(t, srv.URL, noRetries), "relay")
			err := c.call(t.Context(), s)
			if err == nil {
				t.Fatalf("got no error, want kind %v", c.want)
			}
			if got := relay.KindOf(err); got != c.want {
				t.Errorf("got kind %v (%v), want %v", got, err, c.want)
			}
			if !strings.Contains(err.Error(), "SM1") {
				t.Errorf("got %q, want the relay id in the context", err)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	err := dynamo.New(newClient(t, url, noRetries), "relay").Ping(t.Context())
	if got := relay.KindOf(err); err == nil || got != relay.Transient {
		t.Errorf("got %v (kind %v), want a transient error", err, got)
	}
}

func TestNewClientEndpoint(t *testing.T) {
	cases := []struct {
		name     string
		endpoint string
		ok       bool
	}{
		{"http url", "http://127.0.0.1:4567", true},
		{"empty", "", false},
		{"host only", "127.0.0.1:4567", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := dynamo.NewClient(t.Context(), c.endpoint)
			if got := err == nil; got != c.ok {
				t.Errorf("got error %v, want ok %v", err, c.ok)
			}
		})
	}
}

func noRetries(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }
