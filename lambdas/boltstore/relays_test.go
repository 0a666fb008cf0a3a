package boltstore_test

import (
	"path/filepath"
	"testing"

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
