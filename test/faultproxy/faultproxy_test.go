package faultproxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/test/faultproxy"
)

func TestProxy(t *testing.T) {
	tests := []struct {
		name        string
		flavor      faultproxy.Flavor
		plan        faultproxy.Plan
		wantStatus  int
		wantBody    string
		wantApplied int64
	}{
		{"pass through", faultproxy.DynamoDB, faultproxy.Plan{}, http.StatusOK, "backend", 1},
		{"dynamodb throttle", faultproxy.DynamoDB, faultproxy.Plan{Throttle: 1}, http.StatusBadRequest, "ProvisionedThroughputExceededException", 0},
		{"s3 slow down", faultproxy.S3, faultproxy.Plan{Throttle: 1}, http.StatusServiceUnavailable, "<Code>SlowDown</Code>", 0},
		{"dynamodb 500", faultproxy.DynamoDB, faultproxy.Plan{ServerError: 1}, http.StatusInternalServerError, "InternalServerError", 0},
		{"s3 500", faultproxy.S3, faultproxy.Plan{ServerError: 1}, http.StatusInternalServerError, "<Code>InternalError</Code>", 0},
		{"applied then 500", faultproxy.DynamoDB, faultproxy.Plan{AppliedThen500: 1}, http.StatusInternalServerError, "InternalServerError", 1},
		{"delay", faultproxy.S3, faultproxy.Plan{Delay: 1}, http.StatusOK, "backend", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var applied atomic.Int64
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				applied.Add(1)
				_, _ = io.WriteString(w, "backend")
			}))
			defer backend.Close()
			p := faultproxy.Start(t, backend.URL, tt.flavor, tt.plan)
			resp, err := http.Post(p.URL()+"/", "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
			if got := applied.Load(); got != tt.wantApplied {
				t.Errorf("backend saw %d requests, want %d", got, tt.wantApplied)
			}
			if st := p.Stats(); st.Requests != 1 {
				t.Errorf("stats: got %+v, want one request", st)
			}
		})
	}
}

func TestNewRefusesRemoteTargets(t *testing.T) {
	if _, err := faultproxy.New("http://example.com", faultproxy.S3, faultproxy.Plan{}); err == nil {
		t.Error("New accepted a target off loopback")
	}
}
