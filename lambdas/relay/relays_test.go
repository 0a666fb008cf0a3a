package relay_test

import (
	"slices"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var lt0 = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

func rl(id string, minute int) relay.Relay {
	return relay.Relay{ID: id, TenantID: "t", Status: relay.StatusPending, ReceivedAt: lt0.Add(time.Duration(minute) * time.Minute)}
}

func cursorAt(r relay.Relay) string { return relay.EncodeRelayCursor(relay.PositionOf(r)) }

func TestMergePages(t *testing.T) {
	tests := []struct {
		name     string
		pages    []relay.RelayPage
		limit    int
		want     []string
		wantNext string
	}{
		{"interleaved, all there", []relay.RelayPage{
			{Relays: []relay.Relay{rl("a3", 3), rl("a1", 1)}},
			{Relays: []relay.Relay{rl("b2", 2)}},
		}, 5, []string{"a3", "b2", "a1"}, ""},
		{"cut at the limit", []relay.RelayPage{
			{Relays: []relay.Relay{rl("a3", 3), rl("a1", 1)}},
			{Relays: []relay.Relay{rl("b2", 2)}},
		}, 2, []string{"a3", "b2"}, cursorAt(rl("b2", 2))},
		{"one tenant has more", []relay.RelayPage{
			{Relays: []relay.Relay{rl("a3", 3), rl("a2", 2)}, Next: cursorAt(rl("a2", 2))},
			{},
		}, 2, []string{"a3", "a2"}, cursorAt(rl("a2", 2))},
		{"a page cut by a scan budget bounds the merge", []relay.RelayPage{
			{Relays: []relay.Relay{rl("a5", 5)}, Next: cursorAt(rl("a4", 4))},
			{Relays: []relay.Relay{rl("b6", 6), rl("b3", 3), rl("b1", 1)}},
		}, 5, []string{"b6", "a5"}, cursorAt(rl("a4", 4))},
		{"nothing", []relay.RelayPage{{}, {}}, 5, []string{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := relay.MergePages(tc.pages, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, r := range got.Relays {
				ids = append(ids, r.ID)
			}
			if !slices.Equal(ids, tc.want) || got.Next != tc.wantNext {
				t.Errorf("got %v next %q, want %v next %q", ids, got.Next, tc.want, tc.wantNext)
			}
		})
	}
}

func TestNextFailover(t *testing.T) {
	sent := relay.Relay{Status: relay.StatusPending, AckTimeout: time.Minute,
		Attempts: []relay.Attempt{{N: 1, CreatedAt: lt0}}}
	accepted := sent
	accepted.Attempts = []relay.Attempt{{N: 1, CreatedAt: lt0, Outbound: relay.Outbound{SentAt: lt0.Add(2 * time.Second)}}}
	acked := sent
	acked.Status = relay.StatusAcked
	for _, tc := range []struct {
		name string
		r    relay.Relay
		want time.Time
	}{
		{"window after the attempt while on its way", sent, lt0.Add(time.Minute)},
		{"window after Twilio accepted", accepted, lt0.Add(62 * time.Second)},
		{"closed relay waits for nothing", acked, time.Time{}},
		{"no attempt yet", relay.Relay{Status: relay.StatusPending}, time.Time{}},
	} {
		if got := tc.r.NextFailover(); !got.Equal(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
