package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var _ relay.RelayLister = (*Store)(nil)

// needles are byte strings every stored relay that matches q contains: the
// store writes relays with encoding/json, which spells a field exactly one
// way, so a relay without them cannot match and is not decoded. A relay
// with them is decoded and checked in full (a body quoting a needle has its
// quotes escaped, so it is no false match either).
func needles(q relay.RelayQuery) [][]byte {
	field := func(name, v string) []byte {
		b, _ := json.Marshal(v)
		return append([]byte(`"`+name+`":`), b...)
	}
	out := [][]byte{field("tenant_id", q.TenantID)}
	if q.Status != "" {
		out = append(out, field("status", string(q.Status)))
	}
	if q.CustomerID != "" {
		out = append(out, field("customer_id", q.CustomerID))
	}
	if q.Operator != "" {
		out = append(out, field("operator_id", q.Operator))
	}
	return out
}

// ListRelays answers a relay listing by scanning the relays bucket in one
// read transaction, decoding only the relays that can match. The dev server
// keeps thousands of relays at most, so a scan per dashboard poll costs a few
// milliseconds (docs/benchmarks.md) and needs no index to keep.
func (s *Store) ListRelays(ctx context.Context, q relay.RelayQuery) (relay.RelayPage, error) {
	if err := q.Validate(); err != nil {
		return relay.RelayPage{}, fmt.Errorf("list relays: %w", err)
	}
	need := needles(q)
	var all []relay.Relay
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bRelays).ForEach(func(_, v []byte) error {
			for _, n := range need {
				if !bytes.Contains(v, n) {
					return nil
				}
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
