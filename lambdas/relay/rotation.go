package relay

import (
	"context"
	"fmt"
)

// Counter hands out a tenant's sequence numbers, for round-robin chains.
// Next returns 1, 2, 3, ... for successive calls on one (tenant, name). A
// call repeated with the token of an earlier call (an SDK retry of a write
// whose answer was lost, a retried webhook of the same relay) returns that
// call's number again instead of counting twice; stores remember at least
// the last CounterMemory tokens of a sequence.
type Counter interface {
	Next(ctx context.Context, tenantID, name, token string) (int64, error)
}

// CounterMemory is how many recent tokens of a sequence a Counter must
// remember, at least.
const CounterMemory = 32

// rotationName is the Counter sequence round-robin chains turn on.
const rotationName = "chain_rotation"

// rotate returns the tenant's chain turned to start at the relay's turn
// when the tenant's strategy is round robin: the n-th relay of the tenant
// starts at chain[(n-1) % len]. The job's operator, when there is one,
// still comes first (routing puts them before the chain). The relay's id is
// the counter's token, so a retried webhook gets the same turn. Without a
// Counter (a store that has none) the chain stays in order.
func (s *Service) rotate(ctx context.Context, t Tenant, relayID string) ([]string, error) {
	chain := dedupe(t.Chain)
	c, ok := s.Store.(Counter)
	if !ok && t.ChainStrategy == StrategyRoundRobin {
		s.log().WarnContext(ctx, "round robin needs a store with a Counter; the chain stays in order", "tenant", t.ID)
	}
	if t.ChainStrategy != StrategyRoundRobin || len(chain) < 2 || !ok {
		return chain, nil
	}
	n, err := c.Next(ctx, t.ID, rotationName, relayID)
	if err != nil {
		return nil, fmt.Errorf("turn the chain of %s: %w", t.ID, err)
	}
	k := int((n - 1) % int64(len(chain)))
	if k < 0 {
		k += len(chain)
	}
	return append(chain[k:len(chain):len(chain)], chain[:k]...), nil
}

// turn applies the tenant's chain strategy to a new relay's routing: with
// round robin the tenant's chain starts at the relay's turn, after the
// job's operator when there is one.
func (s *Service) turn(ctx context.Context, t Tenant, relayID string, rt routing) (routing, error) {
	if t.ChainStrategy != StrategyRoundRobin {
		return rt, nil
	}
	chain, err := s.rotate(ctx, t, relayID)
	if err != nil {
		return rt, err
	}
	if rt.job.OperatorID != "" && rt.reason == ReasonPrimary {
		chain = dedupe(append([]string{rt.job.OperatorID}, chain...))
	}
	rt.chain = chain
	return rt, nil
}
