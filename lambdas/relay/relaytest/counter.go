package relaytest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// TestCounter runs the relay.Counter contract against the counters
// newCounter returns (fresh and empty for each subtest): numbers 1, 2, 3 per
// (tenant, name), a repeated token answered with its first number (an SDK
// retry or a retried webhook counts once), tenants and names apart, and
// racing callers each getting a number of their own.
func TestCounter(t *testing.T, newCounter func(t *testing.T) relay.Counter) {
	t.Helper()
	t.Run("Sequence", func(t *testing.T) {
		c := newCounter(t)
		ctx := t.Context()
		steps := []struct {
			tenant, name, token string
			want                int64
		}{
			{"ta", "rr", "SM1", 1},
			{"ta", "rr", "SM2", 2},
			{"ta", "rr", "SM1", 1}, // a retry: the first call's number, nothing counted
			{"ta", "rr", "SM3", 3},
			{"tb", "rr", "SM1", 1}, // another tenant has its own sequence
			{"ta", "other", "SM4", 1},
			{"ta", "rr", "SM2", 2},
			{"ta", "rr", "SM5", 4},
		}
		for i, s := range steps {
			got, err := c.Next(ctx, s.tenant, s.name, s.token)
			if err != nil || got != s.want {
				t.Errorf("step %d Next(%s, %s, %s): got %d, %v; want %d", i+1, s.tenant, s.name, s.token, got, err, s.want)
			}
		}
	})
	t.Run("Memory", func(t *testing.T) {
		c := newCounter(t)
		ctx := t.Context()
		for i := 1; i <= 3*relay.CounterMemory; i++ {
			if _, err := c.Next(ctx, "ta", "rr", fmt.Sprintf("tok%d", i)); err != nil {
				t.Fatalf("Next %d: %v", i, err)
			}
		}
		for _, back := range []int{0, relay.CounterMemory / 2, relay.CounterMemory - 1} {
			i := 3*relay.CounterMemory - back
			if got, err := c.Next(ctx, "ta", "rr", fmt.Sprintf("tok%d", i)); err != nil || got != int64(i) {
				t.Errorf("token of %d calls ago: got %d, %v; want %d", back, got, err, i)
			}
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		c := newCounter(t)
		for _, args := range [][3]string{{"", "rr", "t"}, {"ta", "", "t"}, {"ta", "rr", ""}} {
			_, err := c.Next(t.Context(), args[0], args[1], args[2])
			wantKind(t, err, relay.Invalid)
		}
	})
	t.Run("Races", func(t *testing.T) {
		c := newCounter(t)
		ctx := t.Context()
		n := workers
		got := make([]int64, n)
		errs := race(func(i int) error {
			var err error
			got[i], err = c.Next(ctx, "ta", "rr", fmt.Sprintf("SM%d", i))
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("racer %d: %v", i, err)
			}
		}
		slices.Sort(got)
		for i, v := range got {
			if v != int64(i+1) {
				t.Fatalf("racing callers got %v, want each of 1..%d once", got, n)
			}
		}
		// The same token racing itself counts once.
		same := make([]int64, n)
		errs = race(func(i int) error {
			var err error
			same[i], err = c.Next(ctx, "ta", "rr", "SMsame")
			return err
		})
		for i := range same {
			if errs[i] != nil || same[i] != int64(n+1) {
				t.Fatalf("one token from %d callers: got %v (%v), want %d for all", n, same, errs, n+1)
			}
		}
		if next, err := c.Next(ctx, "ta", "rr", "SMafter"); err != nil || next != int64(n+2) {
			t.Errorf("after the racing retries: got %d, %v; want %d", next, err, n+2)
		}
	})
}
