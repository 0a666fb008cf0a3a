package boltstore_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/boltstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay/relaytest"
)

func TestRelayLister(t *testing.T) {
	relaytest.TestRelayLister(t, func(t *testing.T) relaytest.ListingStore {
		s := open(t, filepath.Join(t.TempDir(), "relay.db"))
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	})
}

// BenchmarkListRelays5000 is one dashboard poll on a dev server holding 5,000
// relays of which 50 are open (docs/benchmarks.md).
func BenchmarkListRelays5000(b *testing.B) {
	s, err := boltstore.Open(filepath.Join(b.TempDir(), "relay.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now().Add(-time.Hour)
	for i := range 5000 {
		st := relay.StatusAcked
		if i%100 == 0 {
			st = relay.StatusPending
		}
		r := relay.Relay{ID: fmt.Sprintf("SM%032d", i), TenantID: "qdn", CustomerID: "c1", Status: st, Body: "need a pickup",
			ReceivedAt: t0.Add(time.Duration(i) * time.Millisecond),
			Attempts:   []relay.Attempt{{N: 1, OperatorID: "op1", CreatedAt: t0, Outbound: relay.Outbound{Delivery: relay.DeliveryDelivered}}}}
		if err := s.CreateRelay(b.Context(), &r); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		page, err := s.ListRelays(b.Context(), relay.RelayQuery{TenantID: "qdn", Status: relay.StatusPending, Limit: 100})
		if err != nil || len(page.Relays) != 50 {
			b.Fatalf("got %d, %v", len(page.Relays), err)
		}
	}
}
