package dynamo

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/test/dynalite"
)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	client, err := NewClient(t.Context(), dynalite.Start(t))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := CreateTable(t.Context(), client, "relay"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return New(client, "relay")
}

var listT0 = time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)

// TestListRelaysBudget proves that a filter matching little ends a page at
// the scan budget with a cursor that continues, and paging still finds all.
func TestListRelaysBudget(t *testing.T) {
	s := newTestStore(t)
	old := relayScanBudget
	relayScanBudget = 3
	t.Cleanup(func() { relayScanBudget = old })
	var want []string
	for i := range 10 {
		st := relay.StatusAcked
		customer := "c1"
		if i%4 == 0 {
			customer = "c2"
		}
		if i%3 == 0 {
			st = relay.StatusPending
		}
		r := relay.Relay{ID: fmt.Sprintf("SM%02d", i), TenantID: "ta", CustomerID: customer, Status: st,
			ReceivedAt: listT0.Add(time.Duration(i) * time.Minute)}
		if err := s.CreateRelay(t.Context(), &r); err != nil {
			t.Fatalf("create: %v", err)
		}
		if customer == "c2" {
			want = append([]string{r.ID}, want...)
		}
	}
	q := relay.RelayQuery{TenantID: "ta", CustomerID: "c2", Limit: 2}
	var got []string
	pages := 0
	for ; pages < 20; pages++ {
		page, err := s.ListRelays(t.Context(), q)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, r := range page.Relays {
			got = append(got, r.ID)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged %v in %d pages, want %v", got, pages+1, want)
	}
	if pages < 2 {
		t.Errorf("%d pages, want the budget to cut pages short", pages+1)
	}
}

// TestBackfillRelayIndex writes relay items as the code before gsi2 did
// and checks that the backfill makes them listable, once.
func TestBackfillRelayIndex(t *testing.T) {
	s := newTestStore(t)
	for i := range 3 {
		r := relay.Relay{ID: fmt.Sprintf("SMold%d", i), TenantID: "ta", Status: relay.StatusPending,
			ReceivedAt: listT0.Add(time.Duration(i) * time.Second)}
		item, err := relayItem(r, 1)
		if err != nil {
			t.Fatal(err)
		}
		delete(item, attrGSI2PK)
		delete(item, attrGSI2SK)
		if _, err := s.client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
			t.Fatalf("put legacy item: %v", err)
		}
	}
	fresh := relay.Relay{ID: "SMnew", TenantID: "ta", Status: relay.StatusAcked, ReceivedAt: listT0.Add(time.Hour)}
	if err := s.CreateRelay(t.Context(), &fresh); err != nil {
		t.Fatal(err)
	}
	list := func() []string {
		page, err := s.ListRelays(t.Context(), relay.RelayQuery{TenantID: "ta"})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		var ids []string
		for _, r := range page.Relays {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if got := list(); !slices.Equal(got, []string{"SMnew"}) {
		t.Errorf("before backfill listed %v, want [SMnew]", got)
	}
	for i, want := range []int{3, 0} {
		n, err := s.BackfillRelayIndex(t.Context())
		if err != nil || n != want {
			t.Errorf("backfill run %d: got %d, %v; want %d, nil", i+1, n, err, want)
		}
	}
	if got, want := list(), []string{"SMnew", "SMold2", "SMold1", "SMold0"}; !slices.Equal(got, want) {
		t.Errorf("after backfill listed %v, want %v", got, want)
	}
}
