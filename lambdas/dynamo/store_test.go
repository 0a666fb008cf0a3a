package dynamo_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dispatchrelay/dispatch-relay/lambdas/dynamo"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay/relaytest"
	"github.com/dispatchrelay/dispatch-relay/test/dynalite"
)

func newClient(t *testing.T, endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	t.Helper()
	client, err := dynamo.NewClient(t.Context(), endpoint, optFns...)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return client
}

// TestStore runs the contract suite on one dynalite server, with a fresh
// table for every subtest.
func TestStore(t *testing.T) {
	client := newClient(t, dynalite.Start(t))
	var tables atomic.Int64
	relaytest.TestStore(t, func(t *testing.T) relay.Store {
		table := fmt.Sprintf("relay-%d", tables.Add(1))
		if err := dynamo.CreateTable(t.Context(), client, table); err != nil {
			t.Fatalf("create table: %v", err)
		}
		return dynamo.New(client, table)
	})
}

func TestCreateTableTwice(t *testing.T) {
	client := newClient(t, dynalite.Start(t))
	for i := range 2 {
		if err := dynamo.CreateTable(t.Context(), client, "relay"); err != nil {
			t.Fatalf("create %d: got %v, want nil", i+1, err)
		}
	}
	if err := dynamo.New(client, "relay").Ping(t.Context()); err != nil {
		t.Errorf("ping: got %v, want nil", err)
	}
}

// TestDirectoryStore runs the directory contract suite on dynalite.
func TestDirectoryStore(t *testing.T) {
	client := newClient(t, dynalite.Start(t))
	var tables atomic.Int64
	relaytest.TestDirectoryStore(t, func(t *testing.T) relaytest.DirectoryStore {
		table := fmt.Sprintf("dir-%d", tables.Add(1))
		if err := dynamo.CreateTable(t.Context(), client, table); err != nil {
			t.Fatalf("create table: %v", err)
		}
		return dynamo.New(client, table)
	})
}

// TestCounter runs the Counter contract on dynalite.
func TestCounter(t *testing.T) {
	client := newClient(t, dynalite.Start(t))
	var tables atomic.Int64
	relaytest.TestCounter(t, func(t *testing.T) relay.Counter {
		table := fmt.Sprintf("seq-%d", tables.Add(1))
		if err := dynamo.CreateTable(t.Context(), client, table); err != nil {
			t.Fatalf("create table: %v", err)
		}
		return dynamo.New(client, table)
	})
}
