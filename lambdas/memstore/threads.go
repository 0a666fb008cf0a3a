package memstore

import (
	"context"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// thread points at a phone's latest relay in a tenant.
type thread struct {
	relayID string
	at      time.Time
}

// LatestRelay returns the id of the phone's latest relay in the tenant.
func (s *Store) LatestRelay(_ context.Context, tenantID, phone string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	th, ok := s.threads[key(tenantID, phone)]
	if !ok {
		return "", notFound("thread", relay.MaskPhone(phone))
	}
	return th.relayID, nil
}

// SetLatestRelay points the phone's thread at relayID unless a later relay holds it.
func (s *Store) SetLatestRelay(_ context.Context, tenantID, phone, relayID string, at time.Time) error {
	if tenantID == "" || phone == "" || relayID == "" {
		return invalid("thread needs a tenant, a phone and a relay")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.threads == nil {
		s.threads = map[string]thread{}
	}
	k := key(tenantID, phone)
	if cur, ok := s.threads[k]; ok && cur.at.After(at) {
		return nil
	}
	s.threads[k] = thread{relayID: relayID, at: at}
	return nil
}
