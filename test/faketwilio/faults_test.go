package faketwilio_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

func TestFaultPlan(t *testing.T) {
	msg := url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}}
	tests := []struct {
		name       string
		plan       faketwilio.FaultPlan
		wantStatus int
		wantStored int
		check      func(faketwilio.FaultStats) bool
	}{
		{"none", faketwilio.FaultPlan{}, http.StatusCreated, 1, func(s faketwilio.FaultStats) bool { return s.Total() == 0 }},
		{"throttle", faketwilio.FaultPlan{Throttle: 1}, http.StatusTooManyRequests, 0,
			func(s faketwilio.FaultStats) bool { return s.Throttle == 1 }},
		{"server error", faketwilio.FaultPlan{ServerError: 1}, http.StatusInternalServerError, 0,
			func(s faketwilio.FaultStats) bool { return s.ServerError == 1 }},
		{"unavailable", faketwilio.FaultPlan{Unavailable: 1}, http.StatusServiceUnavailable, 0,
			func(s faketwilio.FaultStats) bool { return s.Unavailable == 1 }},
		{"hang refused", faketwilio.FaultPlan{HangRefused: 1, Hang: 50 * time.Millisecond}, http.StatusGatewayTimeout, 0,
			func(s faketwilio.FaultStats) bool { return s.HangRefused == 1 }},
		{"hang accepted", faketwilio.FaultPlan{HangAccepted: 1, Hang: 50 * time.Millisecond}, http.StatusCreated, 1,
			func(s faketwilio.FaultStats) bool { return s.HangAccepted == 1 }},
		{"slow", faketwilio.FaultPlan{Slow: 1, Latency: 20 * time.Millisecond}, http.StatusCreated, 1,
			func(s faketwilio.FaultStats) bool { return s.Slow == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketwilio.Start(t)
			if err := srv.SetFaults(tt.plan); err != nil {
				t.Fatalf("SetFaults: %v", err)
			}
			start := time.Now()
			status, _ := create(t, srv, msg)
			if status != tt.wantStatus {
				t.Errorf("status: got %d, want %d", status, tt.wantStatus)
			}
			if got := len(srv.Messages()); got != tt.wantStored {
				t.Errorf("stored messages: got %d, want %d", got, tt.wantStored)
			}
			if st := srv.FaultStats(); !tt.check(st) {
				t.Errorf("fault stats: got %+v", st)
			}
			if tt.plan.Hang > 0 && time.Since(start) < tt.plan.Hang {
				t.Errorf("answered after %s, want at least the hang %s", time.Since(start), tt.plan.Hang)
			}
			if tt.wantStored == 1 && srv.Messages()[0].AcceptedAt.IsZero() {
				t.Error("AcceptedAt is zero")
			}
		})
	}
}

func TestFaultPlanValidate(t *testing.T) {
	tests := []struct {
		name    string
		plan    faketwilio.FaultPlan
		wantErr string
	}{
		{"shares over one", faketwilio.FaultPlan{Throttle: 0.6, ServerError: 0.6}, "add up to"},
		{"negative", faketwilio.FaultPlan{Slow: -0.1}, "not between 0 and 1"},
		{"fine", faketwilio.FaultPlan{Throttle: 0.5, Slow: 0.5}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketwilio.Start(t)
			err := srv.SetFaults(tt.plan)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("SetFaults: got %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestClearFailuresClearsFaultPlan keeps ClearFailures the one reset.
func TestClearFailuresClearsFaultPlan(t *testing.T) {
	srv := faketwilio.Start(t)
	if err := srv.SetFaults(faketwilio.FaultPlan{ServerError: 1}); err != nil {
		t.Fatal(err)
	}
	srv.ClearFailures()
	if status, _ := create(t, srv, url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}}); status != http.StatusCreated {
		t.Errorf("after ClearFailures: got %d, want 201", status)
	}
}
