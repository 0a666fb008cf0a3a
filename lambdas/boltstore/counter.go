package boltstore

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var _ relay.Counter = (*Store)(nil)

// bSequences holds Counter sequences: (tenant, name) → sequence.
var bSequences = []byte("sequences")

// sequence is one Counter sequence and the numbers its recent tokens got.
type sequence struct {
	N      int64            `json:"n"`
	Tokens map[string]int64 `json:"tokens"`
}

// Next returns the sequence's next number, or the number token got before.
func (s *Store) Next(ctx context.Context, tenantID, name, token string) (int64, error) {
	if tenantID == "" || name == "" || token == "" {
		return 0, fmt.Errorf("next of %s: %w", name, invalid("a counter needs a tenant, a name and a token"))
	}
	var got int64
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bSequences)
		if err != nil {
			return err
		}
		k := key(tenantID, name)
		var q sequence
		if _, err := get(b, k, &q); err != nil {
			return err
		}
		if n, ok := q.Tokens[token]; ok {
			got = n
			return nil
		}
		if q.Tokens == nil {
			q.Tokens = map[string]int64{}
		}
		q.N++
		q.Tokens[token], got = q.N, q.N
		for t, n := range q.Tokens {
			if n <= q.N-2*relay.CounterMemory {
				delete(q.Tokens, t)
			}
		}
		return put(b, k, q)
	})
	if err != nil {
		return 0, fmt.Errorf("next of %s in %s: %w", name, tenantID, err)
	}
	return got, nil
}
