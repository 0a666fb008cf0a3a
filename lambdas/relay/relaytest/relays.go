package relaytest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// ListingStore is a Store that also lists relays.
type ListingStore interface {
	relay.Store
	relay.RelayLister
}

// TestRelayLister runs the contract suite of relay.RelayLister: tenant
// scope, newest-first order, each filter, a status change moving a relay
// between filters, cursors that page through everything exactly once, and
// Invalid for bad queries. newStore returns a fresh, empty store.
func TestRelayLister(t *testing.T, newStore func(t *testing.T) ListingStore) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, s ListingStore)
	}{
		{"empty tenant lists nothing", func(t *testing.T, s ListingStore) {
			page := mustList(t, s, relay.RelayQuery{TenantID: "ta"})
			if page.Relays == nil || len(page.Relays) != 0 || page.Next != "" {
				t.Errorf("got %d relays (nil %v), next %q; want an empty, non-nil list and no next", len(page.Relays), page.Relays == nil, page.Next)
			}
		}},
		{"newest first, one tenant only", func(t *testing.T, s ListingStore) {
			seedListing(t, s)
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "ta"}), "SM6", "SM5", "SM4b", "SM4a", "SM3", "SM2", "SM1")
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "tb"}), "SMb1")
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "tz"}))
		}},
		{"status filter", func(t *testing.T, s ListingStore) {
			seedListing(t, s)
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "ta", Status: relay.StatusPending}), "SM6", "SM4b", "SM4a", "SM1")
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "ta", Status: relay.StatusAcked}), "SM5", "SM2")
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "ta", Status: relay.StatusExhausted}), "SM3")
		}},
		{"a status change moves the relay between filters", func(t *testing.T, s ListingStore) {
			seedListing(t, s)
			r, err := s.Relay(t.Context(), "SM4a")
			if err != nil {
				t.Fatalf("get SM4a: %v", err)
			}
			r.Status, r.AckedBy, r.AckedAt = relay.StatusAcked, "op1", t0.Add(time.Hour)
			mustUpdate(t, s, &r)
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "ta", Status: relay.StatusPending}), "SM6", "SM4b", "SM1")
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "ta", Status: relay.StatusAcked}), "SM5", "SM4a", "SM2")
			page := mustList(t, s, relay.RelayQuery{TenantID: "ta", Status: relay.StatusAcked, Limit: 2})
			if got := page.Relays[1]; got.AckedBy != "op1" || got.Version != 2 {
				t.Errorf("listed SM4a acked by %q version %d, want op1 version 2 (the stored relay)", got.AckedBy, got.Version)
			}
		}},
		{"customer, operator and since filters", func(t *testing.T, s ListingStore) {
			seedListing(t, s)
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "ta", CustomerID: "c2"}), "SM5", "SM3")
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "ta", Operator: "op2"}), "SM6", "SM3")
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "ta", Since: t0.Add(4 * time.Minute)}), "SM6", "SM5", "SM4b", "SM4a")
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "ta", Status: relay.StatusPending, Operator: "op1", Since: t0.Add(2 * time.Minute)}), "SM4b", "SM4a")
		}},
		{"expired relays are not listed", func(t *testing.T, s ListingStore) {
			old := relay.Relay{ID: "SMold", TenantID: "ta", Status: relay.StatusAcked, ReceivedAt: time.Now().Add(-48 * time.Hour),
				ExpiresAt: time.Now().Add(-time.Hour)}
			mustCreate(t, s, &old)
			live := relay.Relay{ID: "SMlive", TenantID: "ta", Status: relay.StatusAcked, ReceivedAt: time.Now().Add(-47 * time.Hour),
				ExpiresAt: time.Now().Add(time.Hour)}
			mustCreate(t, s, &live)
			wantIDs(t, mustList(t, s, relay.RelayQuery{TenantID: "ta"}), "SMlive")
		}},
		{"cursors page through everything once", func(t *testing.T, s ListingStore) {
			seedListing(t, s)
			for _, q := range []relay.RelayQuery{
				{TenantID: "ta", Limit: 1},
				{TenantID: "ta", Limit: 2},
				{TenantID: "ta", Limit: 3, Status: relay.StatusPending},
				{TenantID: "ta", Limit: 2, Operator: "op1"},
			} {
				var got []string
				for i := 0; ; i++ {
					if i > 10 {
						t.Fatalf("%+v: more than 10 pages", q)
					}
					page := mustList(t, s, q)
					if len(page.Relays) > q.Limit {
						t.Fatalf("%+v: got a page of %d", q, len(page.Relays))
					}
					for _, r := range page.Relays {
						got = append(got, r.ID)
					}
					if page.Next == "" {
						break
					}
					q.Cursor = page.Next
				}
				q.Cursor, q.Limit = "", 0
				want := relayIDs(mustList(t, s, q))
				if !slices.Equal(got, want) {
					t.Errorf("%+v: paged %v, want %v", q, got, want)
				}
			}
		}},
		{"bad queries are invalid", func(t *testing.T, s ListingStore) {
			for _, q := range []relay.RelayQuery{
				{},
				{TenantID: "ta", Status: "open"},
				{TenantID: "ta", Limit: relay.MaxRelayPage + 1},
				{TenantID: "ta", Limit: -1},
				{TenantID: "ta", Cursor: "not-a-cursor!"},
				{TenantID: "ta", Cursor: "cjE6eDpTTTE"}, // "r1:x:SM1"
			} {
				_, err := s.ListRelays(t.Context(), q)
				if relay.KindOf(err) != relay.Invalid {
					t.Errorf("%+v: got %v, want an Invalid error", q, err)
				}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
	}
}

// seedListing stores seven relays of tenant ta (two received at the same
// instant, so ids break the tie) and one of tenant tb.
func seedListing(t *testing.T, s ListingStore) {
	t.Helper()
	mk := func(id, tenant, customer string, st relay.Status, minute int, ops ...string) {
		r := relay.Relay{ID: id, TenantID: tenant, CustomerID: customer, CustomerName: "Customer " + customer,
			Body: "text of " + id, Status: st, ReceivedAt: t0.Add(time.Duration(minute) * time.Minute),
			UpdatedAt: t0.Add(time.Duration(minute) * time.Minute), ExpiresAt: t0.Add(90 * 24 * time.Hour)}
		for i, op := range ops {
			r.Attempts = append(r.Attempts, relay.Attempt{N: i + 1, OperatorID: op,
				CreatedAt: r.ReceivedAt, Outbound: relay.Outbound{Delivery: relay.DeliverySent}})
		}
		mustCreate(t, s, &r)
	}
	mk("SM1", "ta", "c1", relay.StatusPending, 1, "op1")
	mk("SM2", "ta", "c1", relay.StatusAcked, 2, "op1")
	mk("SM3", "ta", "c2", relay.StatusExhausted, 3, "op1", "op2")
	mk("SM4a", "ta", "c1", relay.StatusPending, 4, "op1")
	mk("SM4b", "ta", "c1", relay.StatusPending, 4, "op1")
	mk("SM5", "ta", "c2", relay.StatusAcked, 5, "op3")
	mk("SM6", "ta", "c3", relay.StatusPending, 6, "op2")
	mk("SMb1", "tb", "c1", relay.StatusPending, 7, "op1")
}

func mustList(t *testing.T, s relay.RelayLister, q relay.RelayQuery) relay.RelayPage {
	t.Helper()
	page, err := s.ListRelays(t.Context(), q)
	if err != nil {
		t.Fatalf("list %+v: %v", q, err)
	}
	return page
}

func relayIDs(p relay.RelayPage) []string {
	out := []string{}
	for _, r := range p.Relays {
		out = append(out, r.ID)
	}
	return out
}

func wantIDs(t *testing.T, p relay.RelayPage, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := relayIDs(p); !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	if p.Next != "" {
		t.Errorf("next = %q after %s, want none", p.Next, fmt.Sprint(want))
	}
}
