package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var _ relay.RelayLister = (*Store)(nil)

// tenantOnly decodes just enough of a stored relay to skip other tenants'.
type tenantOnly struct {
	TenantID string `json:"tenant_id"`
}

// ListRelays answers a relay listing by scanning the relays bucket in one
// read transaction. The dev server keeps thousands of relays at most, so a
// scan per dashboard poll costs milliseconds and needs no index to keep.
func (s *Store) ListRelays(ctx context.Context, q relay.RelayQuery) (relay.RelayPage, error) {
	if err := q.Validate(); err != nil {
		return relay.RelayPage{}, fmt.Errorf("list relays: %w", err)
	}
	var all []relay.Relay
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bRelays).ForEach(func(_, v []byte) error {
			var t tenantOnly
			if err := json.Unmarshal(v, &t); err != nil {
				return relay.Wrap(relay.Internal, err, "stored relay is not valid")
			}
			if t.TenantID != q.TenantID {
				return nil
			}
			var r relay.Relay
			if err := json.Unmarshal(v, &r); err != nil {
				return relay.Wrap(relay.Internal, err, "stored relay is not valid")
			}
			all = append(all, r)
			return nil
		})
	})
	if err != nil {
		return relay.RelayPage{}, fmt.Errorf("list relays: %w", err)
	}
	return relay.SelectRelays(all, q, time.Now())
}
