package s3audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// AckLookahead is how far past until Export looks for acknowledgements, so
// a message routed just before until still carries the ack that came after.
const AckLookahead = time.Hour

// maintenanceEvents are the events the original maintenance.json held: one
// record per routing decision, and the decisions posted to /api/sms/audit.
var maintenanceEvents = map[string]bool{
	relay.EventRouted:    true,
	relay.EventForwarded: true,
	relay.EventFallback:  true,
	relay.EventNote:      true,
	relay.EventFollowUp:  true, // a customer's follow-up routed to the operator holding the thread
	"":                   true, // records imported from the original file
}

// Export reads a tenant's audit events in [since, until) (a zero bound is
// open) and returns the records of the original system's maintenance.json:
// the routing records in time order, each carrying acknowledged and
// ack_timestamp from its message's acknowledgement. Acknowledgements up to
// AckLookahead after until count.
func Export(ctx context.Context, r relay.AuditReader, tenantID string, since, until time.Time) ([]relay.AuditEvent, error) {
	ackUntil := until
	if !until.IsZero() {
		ackUntil = until.Add(AckLookahead)
	}
	var all []relay.AuditEvent
	q := relay.AuditQuery{TenantID: tenantID, Since: since, Until: ackUntil, Limit: MaxLimit}
	for {
		page, err := r.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("export audit of tenant %s: %w", tenantID, err)
		}
		all = append(all, page.Records...)
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	records := MergeAcks(all)
	if !until.IsZero() {
		n := 0
		for _, e := range records {
			if e.Timestamp.Before(until) {
				records[n] = e
				n++
			}
		}
		records = records[:n]
	}
	return records, nil
}

// MergeAcks returns the maintenance.json records among events, sorted by
// time: routing records and notes, each routing record of a message that
// has an acked event marked acknowledged with the earliest ack's time.
func MergeAcks(events []relay.AuditEvent) []relay.AuditEvent {
	acks := map[string]time.Time{}
	for _, e := range events {
		if e.Event != relay.EventAcked || e.MessageSid == "" {
			continue
		}
		at := e.AckTimestamp
		if at.IsZero() {
			at = e.Timestamp
		}
		if prev, ok := acks[e.MessageSid]; !ok || at.Before(prev) {
			acks[e.MessageSid] = at
		}
	}
	out := make([]relay.AuditEvent, 0, len(events))
	for _, e := range events {
		if !maintenanceEvents[e.Event] {
			continue
		}
		key := e.MessageSid
		if e.RelayID != "" {
			key = e.RelayID // a follow-up is acknowledged with its relay
		}
		if at, ok := acks[key]; ok && key != "" && e.Event != relay.EventNote {
			e.Acknowledged = true
			e.AckTimestamp = at
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Timestamp.Before(out[j].Timestamp) })
	return out
}

// WriteJSON writes records as maintenance.json does: one JSON array, here
// with one record per line so that large exports diff and stream well.
func WriteJSON(w io.Writer, records []relay.AuditEvent) error {
	// A bufio.Writer keeps its first error and returns it from Flush, so
	// only encoding errors need checking on the way.
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for i, e := range records {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode audit event %s: %w", e.ID, relay.Wrap(relay.Internal, err, "bad audit event"))
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		bw.Write(b)
	}
	if len(records) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write maintenance json: %w", err)
	}
	return nil
}
