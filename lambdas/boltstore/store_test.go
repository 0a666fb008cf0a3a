package boltstore_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/boltstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay/relaytest"
)

func open(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	relaytest.TestStore(t, func(t *testing.T) relay.Store {
		s := open(t, filepath.Join(t.TempDir(), "relay.db"))
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	})
}

// TestReopen proves that the dev server's state survives a restart.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "relay.db")
	at := time.Date(2031, 1, 2, 3, 4, 5, 6, time.UTC)
	tenant := relay.Tenant{ID: "qdn", Name: "QuickDumpNow", Numbers: []string{"+16195550100"}}
	r := relay.Relay{ID: "SM1", TenantID: "qdn", Body: "need a pickup", Status: relay.StatusPending, ReceivedAt: at}

	s := open(t, path)
	ctx := t.Context()
	if err := s.PutTenant(ctx, tenant); err != nil {
		t.Fatalf("put tenant: %v", err)
	}
	if err := s.CreateRelay(ctx, &r); err != nil {
		t.Fatalf("create relay: %v", err)
	}
	lease := relay.CodeLease{TenantID: "qdn", OperatorID: "op1", Code: 1, RelayID: "SM1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	if err := s.ClaimCode(ctx, lease); err != nil {
		t.Fatalf("claim code: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Errorf("ping after close: got nil, want an error")
	}

	s = open(t, path)
	t.Cleanup(func() { _ = s.Close() })
	cases := []struct {
		name  string
		check func() error
	}{
		{"tenant by number", func() error {
			got, err := s.TenantByNumber(ctx, "+16195550100")
			if err == nil && got.Name != tenant.Name {
				t.Errorf("got tenant %+v, want %+v", got, tenant)
			}
			return err
		}},
		{"relay", func() error {
			got, err := s.Relay(ctx, "SM1")
			if err == nil && (got.Body != r.Body || got.Version != 1) {
				t.Errorf("got relay body %q version %d, want %q version 1", got.Body, got.Version, r.Body)
			}
			return err
		}},
		{"relay id still taken", func() error {
			again := relay.Relay{ID: "SM1", TenantID: "qdn"}
			if err := s.CreateRelay(ctx, &again); relay.KindOf(err) != relay.Conflict {
				t.Errorf("got %v, want a conflict", err)
			}
			return nil
		}},
		{"reply code still held", func() error {
			again := lease
			again.RelayID, again.CreatedAt = "SM2", at.Add(time.Minute)
			if err := s.ClaimCode(ctx, again); relay.KindOf(err) != relay.Conflict {
				t.Errorf("got %v, want a conflict", err)
			}
			return nil
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(); err != nil {
				t.Errorf("got error %v, want nil", err)
			}
		})
	}
}

func TestDirectoryStore(t *testing.T) {
	relaytest.TestDirectoryStore(t, func(t *testing.T) relaytest.DirectoryStore {
		s := open(t, filepath.Join(t.TempDir(), "relay.db"))
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	})
}

// TestCounter runs the Counter contract, and proves a sequence survives a
// restart of the dev server.
func TestCounter(t *testing.T) {
	relaytest.TestCounter(t, func(t *testing.T) relay.Counter {
		s := open(t, filepath.Join(t.TempDir(), "relay.db"))
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
	path := filepath.Join(t.TempDir(), "relay.db")
	s := open(t, path)
	if n, err := s.Next(t.Context(), "t", "rr", "a"); err != nil || n != 1 {
		t.Fatalf("first Next: %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	if n, err := s.Next(t.Context(), "t", "rr", "b"); err != nil || n != 2 {
		t.Errorf("Next after reopen: got %d, %v; want 2", n, err)
	}
}
