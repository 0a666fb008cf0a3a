package memstore_test

import (
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay/relaytest"
)

func TestContract(t *testing.T) {
	relaytest.TestStore(t, func(*testing.T) relay.Store { return memstore.New() })
}

func TestDirectoryStore(t *testing.T) {
	relaytest.TestDirectoryStore(t, func(*testing.T) relaytest.DirectoryStore { return memstore.New() })
}

func TestRelayLister(t *testing.T) {
	relaytest.TestRelayLister(t, func(*testing.T) relaytest.ListingStore { return memstore.New() })
}

func TestCounter(t *testing.T) {
	relaytest.TestCounter(t, func(*testing.T) relay.Counter { return memstore.New() })
}
