package relaytest

import (
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// testThreads checks the pointer to a phone's latest relay: absent is
// NotFound, a later relay wins, an older one never overrides it, a repeat
// is harmless, and tenants and phones are apart.
func testThreads(t *testing.T, newStore func(t *testing.T) relay.Store) {
	type set struct {
		tenant, phone, relay string
		at                   time.Duration
	}
	const phone = "+15552220001"
	cases := []struct {
		name string
		sets []set
		want map[string]string // tenant → relay id, "" for NotFound
	}{
		{"none", nil, map[string]string{"ta": ""}},
		{"one", []set{{"ta", phone, "SM1", 0}}, map[string]string{"ta": "SM1"}},
		{"later wins", []set{{"ta", phone, "SM1", 0}, {"ta", phone, "SM2", time.Second}}, map[string]string{"ta": "SM2"}},
		{"older never overrides", []set{{"ta", phone, "SM2", time.Second}, {"ta", phone, "SM1", 0}}, map[string]string{"ta": "SM2"}},
		{"repeat is harmless", []set{{"ta", phone, "SM1", 0}, {"ta", phone, "SM1", 0}}, map[string]string{"ta": "SM1"}},
		{"per tenant", []set{{"ta", phone, "SM1", 0}}, map[string]string{"ta": "SM1", "tb": ""}},
		{"per phone", []set{{"ta", "+15552220002", "SM1", 0}}, map[string]string{"ta": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			for i, x := range c.sets {
				if err := s.SetLatestRelay(t.Context(), x.tenant, x.phone, x.relay, t0.Add(x.at)); err != nil {
					t.Fatalf("set %d: %v", i, err)
				}
			}
			for tenant, want := range c.want {
				got, err := s.LatestRelay(t.Context(), tenant, phone)
				switch {
				case want == "" && !relay.IsKind(err, relay.NotFound):
					t.Errorf("tenant %s: got %q, %v; want NotFound", tenant, got, err)
				case want != "" && (err != nil || got != want):
					t.Errorf("tenant %s: got %q, %v; want %q", tenant, got, err, want)
				}
			}
		})
	}
}
