package dynamo_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/dynamo"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay/relaytest"
	"github.com/dispatchrelay/dispatch-relay/test/dynalite"
)

// TestRelayLister runs the listing contract on gsi2, a fresh table per subtest.
func TestRelayLister(t *testing.T) {
	client := newClient(t, dynalite.Start(t))
	var tables atomic.Int64
	relaytest.TestRelayLister(t, func(t *testing.T) relaytest.ListingStore {
		table := fmt.Sprintf("list-%d", tables.Add(1))
		if err := dynamo.CreateTable(t.Context(), client, table); err != nil {
			t.Fatalf("create table: %v", err)
		}
		return dynamo.New(client, table)
	})
}
