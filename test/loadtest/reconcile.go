package loadtest

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

// Result is a reconciled run. docs/reliability.md defines each counter.
type Result struct {
	Sent, Accepted, Forwarded, Duplicates, Forged           int
	Lost, Double, Stuck, ForgedAccepted, Escalated, Exhaust int
	P50, P99                                                time.Duration
	RPS                                                     float64
	FailoverLateP99                                         time.Duration
	RSSMB                                                   float64

	// Details beyond the summary line.
	Unanswered   int // valid texts no post of which got 200 and that left no relay
	AckUnsent    int // relays acknowledged by an operator who never received them
	AckRefused   int // "OK" replies answered with something other than a confirmation
	AckSilent    int // "OK" replies answered with an empty TwiML (no confirmation)
	AckDropped   int // "OK" replies confirmed whose relay the store does not hold acknowledged by the replier
	SentAfterAck int // relays forwarded to a later attempt after an "OK" to an earlier one was confirmed
	AuditMissing int // forwards at Twilio, or terminal states, without their audit event
	ShortWindow  int // timeout failovers that gave the operator less than the window
	PacedPending int // relays whose next text still waited for a retry at the end (paced_pending)
	FollowUps    int // texts that joined their customer's open relay (threads)
	Dropped      int // relays that moved past a step that never reached Twilio
	MinGap       time.Duration
	Timeouts     int // timeout failovers measured for lateness
	Kills        int
	Faults       faketwilio.FaultStats
	Elapsed      time.Duration
	Seed         uint64
	// Examples name a few relays behind each nonzero defect counter.
	Examples map[string][]string
}

// Failed reports whether a guarantee was broken: lost, double, stuck or
// forged_accepted is not zero.
func (r Result) Failed() bool {
	return r.Lost != 0 || r.Double != 0 || r.Stuck != 0 || r.ForgedAccepted != 0
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// Line is the one-line summary: prefix ("loadtest" or "chaos") and the counters.
func (r Result) Line(prefix string) string {
	return fmt.Sprintf("%s: sent=%d accepted=%d forwarded=%d duplicates=%d forged=%d lost=%d double=%d stuck=%d "+
		"forged_accepted=%d escalated=%d exhausted=%d p50_ms=%s p99_ms=%s rps=%.1f failover_late_p99_ms=%s rss_mb=%.1f",
		prefix, r.Sent, r.Accepted, r.Forwarded, r.Duplicates, r.Forged, r.Lost, r.Double, r.Stuck,
		r.ForgedAccepted, r.Escalated, r.Exhaust, ms(r.P50), ms(r.P99), r.RPS, ms(r.FailoverLateP99), r.RSSMB)
}

// Detail is the line before the summary with the counters beyond it.
func (r Result) Detail(prefix string) string {
	return fmt.Sprintf("%s-detail: follow_ups=%d paced_pending=%d dropped=%d unanswered=%d ack_unsent=%d ack_refused=%d ack_silent=%d ack_dropped=%d sent_after_ack=%d audit_missing=%d "+
		"short_window=%d min_gap_ms=%s timeout_failovers=%d kills=%d twilio_faults=%d (429=%d 500=%d 503=%d hang=%d hang_accepted=%d slow=%d) seed=%d",
		prefix, r.FollowUps, r.PacedPending, r.Dropped, r.Unanswered, r.AckUnsent, r.AckRefused, r.AckSilent, r.AckDropped, r.SentAfterAck, r.AuditMissing, r.ShortWindow, ms(r.MinGap), r.Timeouts,
		r.Kills, r.Faults.Total(), r.Faults.Throttle, r.Faults.ServerError, r.Faults.Unavailable, r.Faults.HangRefused,
		r.Faults.HangAccepted, r.Faults.Slow, r.Seed)
}

// ExampleLines name up to three relays per nonzero counter, for debugging.
func (r Result) ExampleLines(prefix string) []string {
	keys := make([]string, 0, len(r.Examples))
	for k := range r.Examples {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s-example: %s %s", prefix, k, strings.Join(r.Examples[k], " ")))
	}
	return out
}

func (r *Result) example(kind, what string) {
	if r.Examples == nil {
		r.Examples = map[string][]string{}
	}
	if len(r.Examples[kind]) < 3 {
		r.Examples[kind] = append(r.Examples[kind], what)
	}
}

// percentile is the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// earlyTolerance is how much earlier than its due time the relay may act on
// an ack timer (it handles ticks up to 500 ms early) plus measuring slop.
const earlyTolerance = 600 * time.Millisecond

// reconcile compares what was sent, what the fake Twilio accepted, what the
// audit holds and what the store says.
func (h *harness) reconcile(msgs []faketwilio.Message, events []relay.AuditEvent, relays map[string]relay.Relay) Result {
	h.mu.Lock()
	defer h.mu.Unlock()
	var res Result
	lat := append([]time.Duration(nil), h.latencies...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.P50, res.P99 = percentile(lat, 50), percentile(lat, 99)

	byRelay := map[string][]forward{}
	for _, m := range msgs {
		f := parseForward(m)
		byRelay[f.relay] = append(byRelay[f.relay], f)
	}
	evs := map[string][]relay.AuditEvent{}
	auditedSid := map[string]bool{}
	followUpAudited := map[string]bool{}
	for _, e := range events {
		if e.Event == relay.EventFollowUp && e.OutboundSid != "" {
			followUpAudited[e.OutboundSid] = true
		}
		evs[e.MessageSid] = append(evs[e.MessageSid], e)
		if e.OutboundSid != "" && (e.Event == relay.EventRouted || e.Event == relay.EventForwarded || e.Event == relay.EventFallback) {
			auditedSid[e.OutboundSid] = true
		}
	}
	noteOf := map[string]string{} // follow-up's inbound sid → the relay holding its note
	for id, r := range relays {
		for _, n := range r.Notes {
			if n.Kind == relay.NoteFollowUp {
				noteOf[n.InboundSid] = id
			}
		}
	}
	var late []time.Duration
	res.MinGap = time.Duration(math.MaxInt64)
	for _, x := range h.order {
		res.Sent += x.copies
		if x.forged {
			res.Forged++
			for _, s := range x.statuses {
				if s >= 200 && s < 300 {
					res.ForgedAccepted++
					res.example("forged_accepted", x.sid)
				}
			}
			if len(byRelay[x.sid]) > 0 || len(evs[x.sid]) > 0 {
				res.ForgedAccepted++
				res.example("forged_accepted", x.sid)
			}
			continue
		}
		res.Duplicates += x.copies - 1
		r, stored := relays[x.sid]
		if !x.answered && !stored {
			res.Unanswered++
			continue
		}
		res.Accepted++
		if host, ok := noteOf[x.sid]; ok || (stored && r.Status == relay.StatusJoined) {
			// A follow-up: it joined its customer's open relay as a note
			// (the relay holds the note; the record under its own sid is
			// only an index, which a crash may leave unwritten).
			if !ok {
				host = r.JoinedTo
			}
			h.followUp(&res, x.sid, host, relays, followUpAudited)
			continue
		}
		t := h.dir.Tenants[x.tenant]
		fws := byRelay[x.sid]
		sort.Slice(fws, func(i, j int) bool { return fws[i].AcceptedAt.Before(fws[j].AcceptedAt) })

		perAttempt := map[int]int{}
		firstOf := map[int]forward{}
		phones := map[string]bool{}
		operatorAttempts := map[int]bool{}
		fallbackTexted := false
		for _, f := range fws {
			perAttempt[f.attempt]++
			if _, ok := firstOf[f.attempt]; !ok {
				firstOf[f.attempt] = f
			}
			if f.To == t.Fallback {
				fallbackTexted = true
			} else {
				phones[f.To] = true
				operatorAttempts[f.attempt] = true
			}
			// A relay with a retry still due when the run ended has not
			// recorded its last answer yet: that retry looks the text up and
			// audits it (it is counted in paced_pending instead).
			if !auditedSid[f.Sid] && !(stored && retryDue(r, h.end)) {
				res.AuditMissing++
				res.example("audit_missing", fmt.Sprintf("%s/attempt%d", x.sid, f.attempt))
			}
		}
		for n, c := range perAttempt {
			if c > 1 {
				res.Double += c - 1
				res.example("double", fmt.Sprintf("%s/attempt%d×%d", x.sid, n, c))
			}
		}
		if len(operatorAttempts) > 0 {
			res.Forwarded++
		}
		if len(operatorAttempts) > 1 {
			res.Escalated++
		}
		if len(operatorAttempts) == 0 && !fallbackTexted {
			res.Lost++
			res.example("lost", x.sid)
		}

		// The relay's end as the store and the audit tell it.
		terminal := map[string]relay.AuditEvent{}
		failedAttempt := map[int]bool{}
		for _, e := range evs[x.sid] {
			switch e.Event {
			case relay.EventAcked, relay.EventExhausted:
				terminal[e.Event] = e
			case relay.EventSendError, relay.EventDelivery:
				failedAttempt[e.Attempt] = true
			}
		}
		status := r.Status
		if !stored {
			status = ""
		}
		switch {
		case status != relay.StatusAcked && len(r.Attempts) > 0 && strandedAttempt(r.Attempts[len(r.Attempts)-1], h.end):
			// Its last step never reached Twilio and never will: a step
			// skipped unsent or a cut-off send nobody resumed, nothing after it.
			res.Stuck++
			res.example("stuck", fmt.Sprintf("%s(%s,attempt%d)", x.sid, status, len(r.Attempts)))
			if status == relay.StatusExhausted {
				res.Exhaust++
				if _, ok := terminal[relay.EventExhausted]; !ok {
					res.AuditMissing++
				}
			}
		case status != relay.StatusAcked && retryDue(r, h.end):
			// Still waiting for a retry when the run ended: late, not
			// stuck (failover_late_p99_ms shows how late).
			res.PacedPending++
			if status == relay.StatusExhausted {
				res.Exhaust++
			}
		case status == relay.StatusExhausted:
			res.Exhaust++
			if _, ok := terminal[relay.EventExhausted]; !ok {
				res.AuditMissing++
				res.example("audit_missing", x.sid+"/exhausted")
			}
		case status == relay.StatusAcked:
			if _, ok := terminal[relay.EventAcked]; !ok {
				res.AuditMissing++
				res.example("audit_missing", x.sid+"/acked")
			}
			// Only an operator who received the relay may acknowledge it.
			if op := r.AckedBy; op != "" && !strings.HasPrefix(op, "api:") {
				got := false
				for p := range phones {
					if t.Operators[p] == op {
						got = true
					}
				}
				if !got {
					res.AckUnsent++
					res.example("ack_unsent", x.sid+"/"+op)
				}
			}
		case !stored && len(terminal) > 0:
			// No store record to compare with; the audit says it ended.
		default:
			res.Stuck++
			res.example("stuck", fmt.Sprintf("%s(%s)", x.sid, status))
		}
		for i, a := range r.Attempts {
			if i < len(r.Attempts)-1 && strandedAttempt(a, h.end) {
				// A step the relay moved past without ever texting it.
				res.Dropped++
				res.example("dropped", fmt.Sprintf("%s/attempt%d", x.sid, a.N))
				break
			}
		}
		if x.ackConfirmed {
			// A confirmed "OK" ends the relay: nothing may go out after it.
			for n := range perAttempt {
				if n > x.ackAttempt && operatorAttempts[n] {
					res.SentAfterAck++
					res.example("sent_after_ack", fmt.Sprintf("%s/attempt%d>%d", x.sid, n, x.ackAttempt))
					break
				}
			}
		}
		if x.ackConfirmed && stored && !(r.Status == relay.StatusAcked && r.AckedBy == x.ackBy) {
			res.AckDropped++
			res.example("ack_dropped", x.sid+"/"+x.ackBy)
		}
		switch {
		case x.ackSilent:
			res.AckSilent++
			res.example("ack_silent", x.sid)
		case x.ackPosted && !x.ackConfirmed && !x.lateAck: // a late "OK" may lose to the timer
			res.AckRefused++
			res.example("ack_refused", x.sid)
		}

		// Failover lateness: timeout transitions only (no ack asked, the
		// attempt not failed), measured at the fake Twilio.
		if x.ack || x.undeliv {
			continue // acknowledged or failed attempts are not timeouts
		}
		for n := 1; ; n++ {
			a, okA := firstOf[n]
			b, okB := firstOf[n+1]
			if !okA || !okB {
				break
			}
			if failedAttempt[n] || a.To == t.Fallback {
				continue
			}
			gap := b.AcceptedAt.Sub(a.AcceptedAt)
			late = append(late, gap-h.o.Window)
			res.Timeouts++
			res.MinGap = min(res.MinGap, gap)
			if gap < h.o.Window-earlyTolerance {
				res.ShortWindow++
				res.example("short_window", fmt.Sprintf("%s/attempt%d:%sms", x.sid, n, ms(gap)))
			}
		}
	}
	if res.MinGap == time.Duration(math.MaxInt64) {
		res.MinGap = 0
	}
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	res.FailoverLateP99 = percentile(late, 99)
	return res
}

// strandedAttempt reports whether an attempt is still waiting to reach
// Twilio (an intent being dispatched or waiting for a retry, with no message
// sid) when the run ended. A retry still due (or less than 2 s past) is
// late, not stranded.
func strandedAttempt(a relay.Attempt, end time.Time) bool {
	if a.MessageSid != "" || (a.Delivery == relay.DeliveryRetry && a.RetryAt.After(end.Add(-2*time.Second))) {
		return false
	}
	switch a.Delivery {
	case relay.DeliveryDispatching, relay.DeliveryRetry:
		return true
	}
	return false
}

// retryDue reports whether an attempt still waits for a retry that was
// not due yet when the run ended.
func retryDue(r relay.Relay, end time.Time) bool {
	for _, a := range r.Attempts {
		if a.MessageSid == "" && a.Delivery == relay.DeliveryRetry && a.RetryAt.After(end.Add(-2*time.Second)) {
			return true
		}
	}
	return false
}

// followUp reconciles a text that joined its customer's open relay: its
// note must have reached Twilio (or still be on its way with a retry due)
// and be audited as follow_up.
func (h *harness) followUp(res *Result, sid, host string, relays map[string]relay.Relay, audited map[string]bool) {
	res.FollowUps++
	target, ok := relays[host]
	var note *relay.Note
	for i := range target.Notes {
		if target.Notes[i].InboundSid == sid {
			note = &target.Notes[i]
		}
	}
	switch {
	case !ok || note == nil:
		res.Lost++
		res.example("lost", sid+"(follow-up of "+host+")")
	case note.MessageSid == "" && note.Delivery == relay.DeliveryRetry && note.RetryAt.After(h.end.Add(-2*time.Second)):
		res.PacedPending++
	case note.MessageSid == "" && note.Owed():
		res.Stuck++
		res.example("stuck", sid+"(follow-up)")
	case note.MessageSid != "" && !audited[note.MessageSid]:
		res.AuditMissing++
		res.example("audit_missing", sid+"/follow_up")
	}
}
