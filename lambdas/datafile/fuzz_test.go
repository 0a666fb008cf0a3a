package datafile_test

import (
	"context"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// FuzzParse feeds the data-file loader arbitrary YAML and JSON: no panic,
// every refusal an Invalid error with a message, and whatever Parse accepts
// loads into a store.
func FuzzParse(f *testing.F) {
	f.Add([]byte(seed), false)
	f.Add([]byte(`{"tenants":[{"id":"t","name":"T","numbers":["+15550000001"],"ack_timeout":"2s","chain":["a"],`+
		`"operators":[{"id":"a","name":"A","phone":"+15550000011"}]}]}`), true)
	f.Add([]byte("tenants:\n  - id: x\n    ack_timeout: forever\n"), false)
	f.Add([]byte("tenants: [{id: a, numbers: [\"+1\"], chain: [nobody]}]"), false)
	f.Add([]byte(`{"tenants":[{"id":"a","unknown":1}]}`), true)
	f.Add([]byte("&a [*a, *a]"), false)
	f.Fuzz(func(t *testing.T, b []byte, isJSON bool) {
		file, err := datafile.Parse(b, isJSON)
		if err != nil {
			if !relay.IsKind(err, relay.Invalid) {
				t.Fatalf("Parse refused with %v (kind %s), want kind Invalid", err, relay.KindOf(err))
			}
			if relay.MessageOf(err) == "" {
				t.Fatal("Parse refused without saying what was wrong")
			}
			return
		}
		if err := datafile.Load(context.Background(), memstore.New(), file); err != nil {
			t.Fatalf("Parse accepted a file that does not load: %v", err)
		}
	})
}
