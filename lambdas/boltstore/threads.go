package boltstore

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// thread points at a phone's latest relay in a tenant.
type thread struct {
	RelayID string    `json:"relay_id"`
	At      time.Time `json:"at"`
}

// LatestRelay returns the id of the phone's latest relay in the tenant.
func (s *Store) LatestRelay(ctx context.Context, tenantID, phone string) (string, error) {
	var cur thread
	var ok bool
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		ok, err = get(tx.Bucket(bThreads), key(tenantID, phone), &cur)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("get thread in %s: %w", tenantID, err)
	}
	if !ok {
		return "", notFound("thread")
	}
	return cur.RelayID, nil
}

// SetLatestRelay points the phone's thread at relayID unless a later relay holds it.
func (s *Store) SetLatestRelay(ctx context.Context, tenantID, phone, relayID string, at time.Time) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bThreads)
		var cur thread
		if ok, err := get(b, key(tenantID, phone), &cur); err != nil || (ok && cur.At.After(at)) {
			return err
		}
		return put(b, key(tenantID, phone), thread{RelayID: relayID, At: at})
	})
	if err != nil {
		return fmt.Errorf("set thread in %s: %w", tenantID, err)
	}
	return nil
}
