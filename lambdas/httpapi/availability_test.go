package httpapi_test

import (
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
)

// TestDirectoryAvailability: the tenant's schedule and the operators'
// availability go through the Directory API as the data file names them,
// every bad field named, and both directions match openapi.json.
func TestDirectoryAvailability(t *testing.T) {
	e := newDirEnv(t)
	a := tok("qdn", httpapi.RoleAdmin)
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     []string
	}{
		{"operator with shifts", "PUT", "/api/operators/nina",
			`{"name":"Nina","phone":"+16195550120","on_call":true,"paused_until":"2026-12-07T10:00:00Z",
			  "shifts":[{"days":["mon","fri"],"from":"22:00","to":"06:00"}],
			  "overrides":[{"from":"2026-12-24","to":"2026-12-26","mode":"off"}]}`, 201,
			[]string{`"shifts":[{"days":["mon","fri"],"from":"22:00","to":"06:00"}]`, `"on_call":true`,
				`"paused_until":"2026-12-07T10:00:00Z"`, `"mode":"off"`}},
		{"read back", "GET", "/api/operators/nina", "", 200, []string{`"from":"22:00"`, `"on_call":true`}},
		{"bad availability names every field", "PUT", "/api/operators/nina",
			`{"name":"Nina","phone":"+16195550120","shifts":[{"days":["someday"],"from":"7am","to":"17:00"}],
			  "overrides":[{"from":"tomorrow","to":"2026-12-26","mode":"maybe"}]}`, 400,
			[]string{"shifts[0].days[0]:", "shifts[0].from:", "overrides[0].from:", "overrides[0].mode:"}},
		{"null paused_until ends the pause", "PUT", "/api/operators/nina", `{"name":"Nina","phone":"+16195550120","paused_until":null}`, 200,
			[]string{`"id":"nina"`}},
		{"bad paused_until", "PUT", "/api/operators/nina", `{"name":"Nina","phone":"+16195550120","paused_until":"soon"}`, 400,
			[]string{`\"soon\"`}},
		{"tenant schedule", "PUT", "/api/tenant",
			`{"name":"QuickDumpNow","numbers":["+16195550100"],"chain":["main","backup"],"timezone":"America/Los_Angeles",
			  "quiet_hours":{"from":"21:00","to":"07:00","mode":"hold"},"after_hours_reply":"We open at 7.",
			  "unavailable_reply":"Nobody is free.","urgent_keywords":["flood"],"chain_strategy":"round_robin"}`, 200,
			[]string{`"timezone":"America/Los_Angeles"`, `"quiet_hours":{"from":"21:00","to":"07:00","mode":"hold"}`,
				`"urgent_keywords":["flood"]`, `"chain_strategy":"round_robin"`}},
		{"broadcast", "PUT", "/api/tenant",
			`{"name":"QuickDumpNow","numbers":["+16195550100"],"chain":["main","backup"],"chain_strategy":"broadcast","broadcast_size":2}`, 200,
			[]string{`"chain_strategy":"broadcast"`, `"broadcast_size":2`}},
		{"bad broadcast size", "PUT", "/api/tenant",
			`{"name":"QuickDumpNow","numbers":["+16195550100"],"chain":["main"],"chain_strategy":"broadcast","broadcast_size":11}`, 400,
			[]string{"broadcast_size:"}},
		{"bad tenant schedule names every field", "PUT", "/api/tenant",
			`{"name":"QuickDumpNow","numbers":["+16195550100"],"chain":["main"],"timezone":"Mars/Base",
			  "quiet_hours":{"from":"21:00","to":"21:00","mode":"snooze"},"chain_strategy":"random"}`, 400,
			[]string{"timezone:", "quiet_hours.to:", "quiet_hours.mode:", "chain_strategy:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.call(t, tt.method, tt.path, a, tt.body)
			if got.status != tt.status {
				t.Fatalf("%s %s: got %d %s, want %d", tt.method, tt.path, got.status, got.body, tt.status)
			}
			for _, w := range tt.want {
				if !strings.Contains(got.body, w) {
					t.Errorf("body %s does not contain %s", got.body, w)
				}
			}
		})
	}
}
