// Package racetest races the relay's transitions — ack, timer escalation,
// delivery failure, PASS — against the real stores: DynamoDB (on dynalite)
// and the dev server's bbolt file. Each round must end with exactly one
// outcome: never two escalations of one step, never an ack lost to a racer.
package racetest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/boltstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/dynamo"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/test/dynalite"
)

type sender struct {
	mu  sync.Mutex
	to  map[string]int
	seq atomic.Int64
}

func (s *sender) Send(_ context.Context, m relay.Message) (relay.Sent, error) {
	s.mu.Lock()
	s.to[m.To]++
	s.mu.Unlock()
	return relay.Sent{Sid: fmt.Sprintf("SM%032d", s.seq.Add(1)), Status: "queued"}, nil
}

// Lookup finds nothing: the race tests never lose a send's answer.
func (s *sender) Lookup(context.Context, relay.Message, time.Time) (relay.Sent, bool, error) {
	return relay.Sent{}, false, nil
}

type nopTimer struct{}

func (nopTimer) Schedule(context.Context, relay.Tick) error { return nil }

type audit struct {
	mu     sync.Mutex
	events map[string]map[string]int // relay → event → count
	seen   map[string]bool           // event ids: a rewrite of one event is stored once
}

func (a *audit) Record(_ context.Context, e relay.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = map[string]bool{}
	}
	if a.seen[e.ID] {
		return nil
	}
	a.seen[e.ID] = true
	if a.events[e.MessageSid] == nil {
		a.events[e.MessageSid] = map[string]int{}
	}
	a.events[e.MessageSid][e.Event]++
	return nil
}

const (
	number = "+16195550100"
	first  = "+16195550111"
	second = "+16195550112"
)

func seed(t *testing.T, st relay.Store) {
	t.Helper()
	ctx := context.Background()
	for _, err := range []error{
		st.PutTenant(ctx, relay.Tenant{ID: "qdn", Name: "QuickDumpNow", Numbers: []string{number},
			AckTimeout: time.Minute, Chain: []string{"a", "b", "c"}}),
		st.PutOperator(ctx, relay.Operator{TenantID: "qdn", ID: "a", Name: "A", Phone: first, Active: true}),
		st.PutOperator(ctx, relay.Operator{TenantID: "qdn", ID: "b", Name: "B", Phone: second, Active: true}),
		st.PutOperator(ctx, relay.Operator{TenantID: "qdn", ID: "c", Name: "C", Phone: "+16195550113", Active: true}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// race runs rounds of racing transitions on fresh relays in st.
func race(t *testing.T, st relay.Store, rounds int) {
	seed(t, st)
	var clock atomic.Int64
	clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	snd, aud := &sender{to: map[string]int{}}, &audit{events: map[string]map[string]int{}}
	svc := &relay.Service{Store: st, Sender: snd, Timer: nopTimer{}, Audit: aud, Now: now, Log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	outcomes := map[string]int{}
	for i := range rounds {
		clock.Add(int64(10 * time.Minute)) // fresh pacing slots and reply codes each round
		sid := fmt.Sprintf("SM%032d", 900000+i)
		if _, err := svc.HandleInbound(ctx, relay.Inbound{MessageSid: sid, From: fmt.Sprintf("+1619%07d", 2000000+i), To: number, Body: "race"}); err != nil {
			t.Fatalf("round %d inbound: %v", i, err)
		}
		r, err := st.Relay(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		clock.Add(int64(61 * time.Second))
		var wg sync.WaitGroup
		run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
		for k := range 2 {
			run(func() {
				_ = svc.HandleTick(ctx, relay.Tick{Kind: relay.TickAckTimeout, TenantID: "qdn", RelayID: sid, Attempt: 1, Due: now()})
			})
			run(func() { _, _ = svc.Ack(ctx, "qdn", sid, relay.Actor{Name: "dash"}) })
			run(func() {
				_ = svc.HandleDelivery(ctx, relay.DeliveryUpdate{TenantID: "qdn", RelayID: sid, Attempt: 1,
					MessageSid: r.Attempts[0].MessageSid, Status: "undelivered"})
			})
			run(func() {
				// The operator texts PASS, as Twilio would deliver it.
				_, _ = svc.HandleInbound(ctx, relay.Inbound{MessageSid: fmt.Sprintf("SM%032d", 500000+2*i+k),
					From: first, To: number, Body: "PASS"})
			})
		}
		wg.Wait()
		got, err := st.Relay(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		// The first step can be left at most once: a second attempt exists at
		// most once and nothing went further than the second operator.
		if len(got.Attempts) > 2 {
			t.Fatalf("round %d: %d attempts (%s), want at most one escalation", i, len(got.Attempts), got.Status)
		}
		ev := aud.events[sid]
		switch got.Status {
		case relay.StatusAcked:
			if ev[relay.EventAcked] != 1 {
				t.Fatalf("round %d: %d ack events, want 1", i, ev[relay.EventAcked])
			}
		case relay.StatusPending:
			if len(got.Attempts) != 2 || ev[relay.EventAcked] != 0 {
				t.Fatalf("round %d: pending with %d attempts and %d acks", i, len(got.Attempts), ev[relay.EventAcked])
			}
		default:
			t.Fatalf("round %d: status %s", i, got.Status)
		}
		if ev[relay.EventForwarded] > 1 {
			t.Fatalf("round %d: %d forwards audited, want at most 1", i, ev[relay.EventForwarded])
		}
		outcomes[fmt.Sprintf("%s/%d", got.Status, len(got.Attempts))]++
	}
	snd.mu.Lock()
	defer snd.mu.Unlock()
	if snd.to[second] > rounds {
		t.Errorf("second operator texted %d times in %d rounds, want at most one each", snd.to[second], rounds)
	}
	t.Logf("outcomes over %d rounds: %v", rounds, outcomes)
}

func TestRacesOnBolt(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	race(t, st, 150)
}

func TestRacesOnDynamoDB(t *testing.T) {
	ctx := context.Background()
	client, err := dynamo.NewClient(ctx, dynalite.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamo.CreateTable(ctx, client, "race"); err != nil {
		t.Fatal(err)
	}
	race(t, dynamo.New(client, "race"), 40)
}
