package memstore

import (
	"context"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var _ relay.Counter = (*Store)(nil)

// sequence is one Counter sequence and the numbers its recent tokens got.
type sequence struct {
	n      int64
	tokens map[string]int64
}

// Next returns the sequence's next number, or the number token got before.
func (s *Store) Next(_ context.Context, tenantID, name, token string) (int64, error) {
	if tenantID == "" || name == "" || token == "" {
		return 0, invalid("a counter needs a tenant, a name and a token")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seqs == nil {
		s.seqs = map[string]*sequence{}
	}
	k := key(tenantID, name)
	q := s.seqs[k]
	if q == nil {
		q = &sequence{tokens: map[string]int64{}}
		s.seqs[k] = q
	}
	if n, ok := q.tokens[token]; ok {
		return n, nil
	}
	q.n++
	q.tokens[token] = q.n
	for t, n := range q.tokens {
		if n <= q.n-2*relay.CounterMemory {
			delete(q.tokens, t)
		}
	}
	return q.n, nil
}
