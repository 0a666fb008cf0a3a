package s3audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// exportData is a morning of tenant qdn: SM1 escalates and is acked by the
// backup, SM2 is never acked, SM3 is routed just before the export's end and
// acked just after, SM4 is a duplicate, and tenant other has its own SM1.
func exportData() []relay.AuditEvent {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	return []relay.AuditEvent{
		{ID: "a1", TenantID: "qdn", Timestamp: at(0), Event: relay.EventRouted, MessageSid: "SM1",
			CustomerID: "cust_5678", CustomerName: "Acme Waste Inc.", OriginalFrom: "+16195551234",
			RoutedToOperator: "sergio_main", RoutingReason: relay.ReasonPrimary, Attempt: 1, Segments: 1},
		{ID: "a2", TenantID: "qdn", Timestamp: at(60 * time.Second), Event: relay.EventForwarded, MessageSid: "SM1",
			CustomerID: "cust_5678", CustomerName: "Acme Waste Inc.", OriginalFrom: "+16195551234",
			RoutedToOperator: "sergio_backup", RoutingReason: relay.ReasonNoAck, Attempt: 2, Segments: 1},
		{ID: "a3", TenantID: "qdn", Timestamp: at(67 * time.Second), Event: relay.EventAcked, MessageSid: "SM1",
			CustomerID: "cust_5678", RoutedToOperator: "sergio_backup", RoutingReason: relay.ReasonAcked,
			Acknowledged: true, AckTimestamp: at(67 * time.Second)},
		{ID: "a4", TenantID: "qdn", Timestamp: at(90 * time.Second), Event: relay.EventAcked, MessageSid: "SM1",
			RoutedToOperator: "sergio_main", RoutingReason: relay.ReasonAcked},
		{ID: "b1", TenantID: "qdn", Timestamp: at(30 * time.Second), Event: relay.EventRouted, MessageSid: "SM2",
			CustomerName: "+1619555****", OriginalFrom: "+16195559876",
			RoutedToOperator: "sergio_main", RoutingReason: relay.ReasonUnknown, Attempt: 1},
		{ID: "b2", TenantID: "qdn", Timestamp: at(31 * time.Second), Event: relay.EventDuplicate, MessageSid: "SM2",
			RoutingReason: relay.ReasonDuplicate},
		{ID: "n1", TenantID: "qdn", Timestamp: at(2 * time.Minute), Event: relay.EventNote, MessageSid: "SM1",
			RoutedToOperator: "sergio_main", RoutingReason: "dashboard", Note: "called the customer"},
		{ID: "c1", TenantID: "qdn", Timestamp: at(59*time.Minute + 50*time.Second), Event: relay.EventRouted, MessageSid: "SM3",
			CustomerID: "cust_5678", CustomerName: "Acme Waste Inc.", OriginalFrom: "+16195551234",
			RoutedToOperator: "sergio_main", RoutingReason: relay.ReasonDefaultChain, Attempt: 1},
		{ID: "c2", TenantID: "qdn", Timestamp: at(60*time.Minute + 5*time.Second), Event: relay.EventAcked, MessageSid: "SM3",
			RoutedToOperator: "sergio_main", RoutingReason: relay.ReasonAcked},
		{ID: "c3", TenantID: "qdn", Timestamp: at(61 * time.Minute), Event: relay.EventRouted, MessageSid: "SM9",
			RoutedToOperator: "sergio_main", RoutingReason: relay.ReasonDefaultChain},
		{ID: "z1", TenantID: "other", Timestamp: at(10 * time.Second), Event: relay.EventAcked, MessageSid: "SM2",
			RoutedToOperator: "x", RoutingReason: relay.ReasonAcked},
		{ID: "z0", TenantID: "qdn", Timestamp: at(-time.Second), Event: relay.EventRouted, MessageSid: "SM0",
			RoutedToOperator: "sergio_main", RoutingReason: relay.ReasonPrimary},
	}
}

func TestExport(t *testing.T) {
	forEachBucket(t, func(t *testing.T, b Bucket) {
		l := New(b)
		ctx := context.Background()
		for _, e := range exportData() {
			if err := l.Record(ctx, e); err != nil {
				t.Fatalf("Record: %v", err)
			}
		}
		got, err := Export(ctx, l, "qdn", t0, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("Export: %v", err)
		}
		type row struct {
			id    string
			acked bool
			ackAt time.Time
		}
		want := []row{
			{"a1", true, t0.Add(67 * time.Second)},
			{"b1", false, time.Time{}},
			{"a2", true, t0.Add(67 * time.Second)},
			{"n1", false, time.Time{}},
			{"c1", true, t0.Add(60*time.Minute + 5*time.Second)},
		}
		if len(got) != len(want) {
			t.Fatalf("got records %q, want %d", ids(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.ID != w.id || g.Acknowledged != w.acked || !g.AckTimestamp.Equal(w.ackAt) {
				t.Errorf("record %d: got %s acknowledged %v at %v, want %s %v at %v",
					i, g.ID, g.Acknowledged, g.AckTimestamp, w.id, w.acked, w.ackAt)
			}
		}

		var buf bytes.Buffer
		if err := WriteJSON(&buf, got); err != nil {
			t.Fatalf("WriteJSON: %v", err)
		}
		golden := filepath.Join("testdata", "maintenance.json")
		if *update {
			if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		wantJSON, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("read golden file (run go test -update): %v", err)
		}
		if !bytes.Equal(buf.Bytes(), wantJSON) {
			t.Errorf("got maintenance.json\n%s\nwant\n%s", buf.Bytes(), wantJSON)
		}
	})
}

func TestWriteJSONSeedSchema(t *testing.T) {
	// Readers of the original file see the nine seed fields with their names.
	var buf bytes.Buffer
	records := MergeAcks(exportData())
	if err := WriteJSON(&buf, records); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rows); err != nil {
		t.Fatalf("output is not a JSON array: %v", err)
	}
	if len(rows) != len(records) {
		t.Fatalf("got %d rows, want %d", len(rows), len(records))
	}
	seed := []string{"timestamp", "message_sid", "customer_id", "customer_name", "original_from",
		"routed_to_operator", "routing_reason", "acknowledged", "ack_timestamp"}
	for i, r := range rows {
		for _, k := range seed {
			if _, ok := r[k]; !ok {
				t.Errorf("row %d: missing field %q", i, k)
			}
		}
		if i > 0 && rows[i-1]["timestamp"].(string) > r["timestamp"].(string) {
			t.Errorf("row %d: got timestamp %v after %v, want time order", i, r["timestamp"], rows[i-1]["timestamp"])
		}
	}

	buf.Reset()
	if err := WriteJSON(&buf, nil); err != nil || buf.String() != "[]\n" {
		t.Errorf("empty export: got %q (err %v), want %q", buf.String(), err, "[]\n")
	}
	if err := WriteJSON(failingWriter{}, records); err == nil {
		t.Errorf("WriteJSON to a failing writer: got nil error, want one")
	}
}

func TestMergeAcksKeepsOtherMessagesApart(t *testing.T) {
	events := []relay.AuditEvent{
		{ID: "r1", Timestamp: t0, Event: relay.EventRouted, MessageSid: "SM1"},
		{ID: "r2", Timestamp: t0.Add(time.Second), Event: relay.EventRouted, MessageSid: "SM2"},
		{ID: "r3", Timestamp: t0.Add(2 * time.Second), Event: relay.EventFallback, MessageSid: "SM2"},
		{ID: "k2", Timestamp: t0.Add(3 * time.Second), Event: relay.EventAcked, MessageSid: "SM2"},
		{ID: "r0", Timestamp: t0.Add(-time.Second), Event: relay.EventRouted},
		{ID: "k0", Timestamp: t0.Add(4 * time.Second), Event: relay.EventAcked},
	}
	got := MergeAcks(events)
	if want := []string{"r0", "r1", "r2", "r3"}; !slices.Equal(ids(got), want) {
		t.Fatalf("got %q, want %q", ids(got), want)
	}
	wantAcked := []bool{false, false, true, true}
	for i, e := range got {
		if e.Acknowledged != wantAcked[i] {
			t.Errorf("%s: got acknowledged %v, want %v", e.ID, e.Acknowledged, wantAcked[i])
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
