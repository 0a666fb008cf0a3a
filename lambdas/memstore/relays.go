package memstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var _ relay.RelayLister = (*Store)(nil)

// ListRelays answers a relay listing by scanning every relay: the memory
// store holds a test's worth of them.
func (s *Store) ListRelays(_ context.Context, q relay.RelayQuery) (relay.RelayPage, error) {
	if err := q.Validate(); err != nil {
		return relay.RelayPage{}, fmt.Errorf("list relays: %w", err)
	}
	s.mu.Lock()
	all := make([]relay.Relay, 0, len(s.relays))
	for _, b := range s.relays {
		var r relay.Relay
		if err := json.Unmarshal(b, &r); err != nil {
			s.mu.Unlock()
			return relay.RelayPage{}, fmt.Errorf("list relays: %w", relay.Wrap(relay.Internal, err, "stored relay is not valid"))
		}
		if r.TenantID == q.TenantID {
			all = append(all, r)
		}
	}
	s.mu.Unlock()
	return relay.SelectRelays(all, q, time.Now())
}
