package relay_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestOperatorUnavailable(t *testing.T) {
	la := mustLoc(t, "America/Los_Angeles")
	weekdays := []relay.Shift{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "07:00", To: "17:00"}}
	nights := []relay.Shift{{Days: []string{"Friday", "sat"}, From: "22:00", To: "06:00"}}
	sundays := []relay.Shift{{Days: []string{"sun"}, From: "07:00", To: "17:00"}}
	tests := []struct {
		name string
		op   relay.Availability
		off  bool // inactive
		now  string
		want string
	}{
		{name: "no shifts is always on", now: "2026-11-29T11:00:00Z"},
		{name: "inactive", off: true, now: "2026-11-24T17:00:00Z", want: relay.ReasonInactive},
		{name: "paused", op: relay.Availability{PausedUntil: utc("2026-11-24T18:00:00Z")}, now: "2026-11-24T17:00:00Z", want: relay.ReasonPaused},
		{name: "pause over", op: relay.Availability{PausedUntil: utc("2026-11-24T16:00:00Z")}, now: "2026-11-24T17:00:00Z"},
		{name: "weekday shift, tuesday 09:00 local", op: relay.Availability{Shifts: weekdays}, now: "2026-11-24T17:00:00Z"},
		{name: "weekday shift, tuesday 18:00 local", op: relay.Availability{Shifts: weekdays}, now: "2026-11-25T02:00:00Z", want: relay.ReasonOffShift},
		{name: "weekday shift ends at to", op: relay.Availability{Shifts: weekdays}, now: "2026-11-25T01:00:00Z", want: relay.ReasonOffShift},
		{name: "weekday shift starts at from", op: relay.Availability{Shifts: weekdays}, now: "2026-11-24T15:00:00Z"},
		{name: "weekday shift on saturday", op: relay.Availability{Shifts: weekdays}, now: "2026-11-28T17:00:00Z", want: relay.ReasonOffShift},
		// Midnight: a friday-night shift runs into saturday morning.
		{name: "night shift friday 23:00", op: relay.Availability{Shifts: nights}, now: "2026-11-28T07:00:00Z"},
		{name: "night shift saturday 03:00", op: relay.Availability{Shifts: nights}, now: "2026-11-28T11:00:00Z"},
		{name: "night shift sunday 05:59", op: relay.Availability{Shifts: nights}, now: "2026-11-29T13:59:00Z"},
		{name: "night shift saturday 07:00", op: relay.Availability{Shifts: nights}, now: "2026-11-28T15:00:00Z", want: relay.ReasonOffShift},
		{name: "night shift friday 03:00 (thursday not listed)", op: relay.Availability{Shifts: nights}, now: "2026-11-27T11:00:00Z", want: relay.ReasonOffShift},
		{name: "night shift monday 03:00 (sunday not listed)", op: relay.Availability{Shifts: nights}, now: "2026-11-30T11:00:00Z", want: relay.ReasonOffShift},
		// Spring forward, Sunday 2026-03-08: 07:30 PDT is 14:30Z (PST would say 06:30).
		{name: "spring forward 07:30 PDT on", op: relay.Availability{Shifts: sundays}, now: "2026-03-08T14:30:00Z"},
		{name: "spring forward 06:30 PDT off", op: relay.Availability{Shifts: sundays}, now: "2026-03-08T13:30:00Z", want: relay.ReasonOffShift},
		{name: "spring forward night shift 05:30 PDT on", op: relay.Availability{Shifts: []relay.Shift{{Days: []string{"sat"}, From: "22:00", To: "06:00"}}}, now: "2026-03-08T12:30:00Z"},
		{name: "spring forward night shift 06:30 PDT off", op: relay.Availability{Shifts: []relay.Shift{{Days: []string{"sat"}, From: "22:00", To: "06:00"}}}, now: "2026-03-08T13:30:00Z", want: relay.ReasonOffShift},
		// Fall back, Sunday 2026-11-01: 06:30 PST is 14:30Z (PDT would say 07:30).
		{name: "fall back 06:30 PST off", op: relay.Availability{Shifts: sundays}, now: "2026-11-01T14:30:00Z", want: relay.ReasonOffShift},
		{name: "fall back 07:30 PST on", op: relay.Availability{Shifts: sundays}, now: "2026-11-01T15:30:00Z"},
		{name: "fall back 16:59 PST on", op: relay.Availability{Shifts: sundays}, now: "2026-11-02T00:59:00Z"},
		{name: "fall back 17:00 PST off", op: relay.Availability{Shifts: sundays}, now: "2026-11-02T01:00:00Z", want: relay.ReasonOffShift},
		// Overrides: dates in the tenant's zone, the last one inclusive.
		{name: "vacation first minute", op: relay.Availability{Overrides: []relay.Override{{From: "2026-12-24", To: "2026-12-26", Mode: "off"}}}, now: "2026-12-24T08:00:00Z", want: relay.ReasonOffShift},
		{name: "vacation before its first day (local)", op: relay.Availability{Overrides: []relay.Override{{From: "2026-12-24", To: "2026-12-26", Mode: "off"}}}, now: "2026-12-24T07:59:00Z"},
		{name: "vacation last evening", op: relay.Availability{Overrides: []relay.Override{{From: "2026-12-24", To: "2026-12-26", Mode: "off"}}}, now: "2026-12-27T07:30:00Z", want: relay.ReasonOffShift},
		{name: "vacation over", op: relay.Availability{Overrides: []relay.Override{{From: "2026-12-24", To: "2026-12-26", Mode: "off"}}}, now: "2026-12-27T08:00:00Z"},
		{name: "swap on beats the shifts", op: relay.Availability{Shifts: weekdays, Overrides: []relay.Override{{From: "2026-11-28", To: "2026-11-28", Mode: "on"}}}, now: "2026-11-28T17:00:00Z"},
		{name: "override by RFC 3339 times", op: relay.Availability{Overrides: []relay.Override{{From: "2026-11-24T16:00:00Z", To: "2026-11-24T18:00:00Z", Mode: "off"}}}, now: "2026-11-24T17:59:59Z", want: relay.ReasonOffShift},
		{name: "override RFC 3339 end is exclusive", op: relay.Availability{Overrides: []relay.Override{{From: "2026-11-24T16:00:00Z", To: "2026-11-24T18:00:00Z", Mode: "off"}}}, now: "2026-11-24T18:00:00Z"},
		{name: "pause beats a swap", op: relay.Availability{PausedUntil: utc("2026-11-28T18:00:00Z"), Overrides: []relay.Override{{From: "2026-11-28", To: "2026-11-28", Mode: "on"}}}, now: "2026-11-28T17:00:00Z", want: relay.ReasonPaused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := relay.Operator{ID: "x", Active: !tt.off, Availability: tt.op}
			if got := op.Unavailable(utc(tt.now), la); got != tt.want {
				t.Errorf("Unavailable(%s = %s local): got %q, want %q", tt.now, utc(tt.now).In(la).Format("Mon 15:04 MST"), got, tt.want)
			}
		})
	}
}

func TestQuietHoursWindow(t *testing.T) {
	tests := []struct {
		name, tz, from, to, now string
		want                    bool
		end                     string
	}{
		{name: "evening", tz: "America/Los_Angeles", from: "21:00", to: "07:00", now: "2026-11-25T06:00:00Z", want: true, end: "2026-11-25T15:00:00Z"},
		{name: "early morning", tz: "America/Los_Angeles", from: "21:00", to: "07:00", now: "2026-11-25T14:00:00Z", want: true, end: "2026-11-25T15:00:00Z"},
		{name: "at the end", tz: "America/Los_Angeles", from: "21:00", to: "07:00", now: "2026-11-25T15:00:00Z"},
		{name: "midday", tz: "America/Los_Angeles", from: "21:00", to: "07:00", now: "2026-11-25T20:00:00Z"},
		{name: "at the start", tz: "America/Los_Angeles", from: "21:00", to: "07:00", now: "2026-11-25T05:00:00Z", want: true, end: "2026-11-25T15:00:00Z"},
		{name: "same-day window", tz: "UTC", from: "12:00", to: "13:00", now: "2026-11-25T12:30:00Z", want: true, end: "2026-11-25T13:00:00Z"},
		// The night the clocks spring forward is an hour shorter...
		{name: "spring forward night", tz: "America/Los_Angeles", from: "21:00", to: "07:00", now: "2026-03-08T06:00:00Z", want: true, end: "2026-03-08T14:00:00Z"},
		// ...and the night they fall back an hour longer.
		{name: "fall back night", tz: "America/Los_Angeles", from: "21:00", to: "07:00", now: "2026-11-01T05:00:00Z", want: true, end: "2026-11-01T15:00:00Z"},
		{name: "unset time zone is UTC", tz: "", from: "21:00", to: "07:00", now: "2026-11-25T22:00:00Z", want: true, end: "2026-11-26T07:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := relay.Tenant{Schedule: relay.Schedule{Timezone: tt.tz, QuietHours: &relay.QuietHours{From: tt.from, To: tt.to, Mode: relay.QuietHold}}}
			got, end := tn.Quiet(utc(tt.now))
			if got != tt.want {
				t.Fatalf("Quiet(%s): got %v, want %v", tt.now, got, tt.want)
			}
			if tt.want && !end.Equal(utc(tt.end)) {
				t.Errorf("quiet hours end: got %s, want %s", end.UTC().Format(time.RFC3339), tt.end)
			}
		})
	}
}

func TestUrgentKeywords(t *testing.T) {
	tn := relay.Tenant{Schedule: relay.Schedule{UrgentKeywords: []string{"urgent", "Emergency", "flood", "gas leak"}}}
	tests := []struct {
		body string
		want bool
	}{
		{"URGENT: bin on fire", true},
		{"there is a flood!", true},
		{"Gas  leak at the gate", true},
		{"emergency.", true},
		{"floods of thanks", false},
		{"no rush", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			if got := tn.Urgent(tt.body); got != tt.want {
				t.Errorf("Urgent(%q): got %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

func TestAvailabilityValidation(t *testing.T) {
	tests := []struct {
		name   string
		op     relay.Availability
		sched  relay.Schedule
		fields []string
	}{
		{name: "good", op: relay.Availability{Shifts: []relay.Shift{{Days: []string{"mon"}, From: "22:00", To: "06:00"}},
			Overrides: []relay.Override{{From: "2026-12-24", To: "2026-12-26T10:00:00Z", Mode: "off"}}},
			sched: relay.Schedule{Timezone: "Europe/Berlin", QuietHours: &relay.QuietHours{From: "21:00", To: "07:00", Mode: "on_call_only"}, ChainStrategy: "round_robin"}},
		{name: "bad shift", op: relay.Availability{Shifts: []relay.Shift{{Days: []string{"mon", "funday"}, From: "7am", To: "25:00"}}},
			fields: []string{"shifts[0].days[1]", "shifts[0].from", "shifts[0].to"}},
		{name: "bad day range", op: relay.Availability{Shifts: []relay.Shift{{Days: []string{"mon-xyz", "weekdays"}, From: "07:00", To: "17:00"}}},
			fields: []string{"shifts[0].days[0]"}},
		{name: "empty shift", op: relay.Availability{Shifts: []relay.Shift{{From: "07:00", To: "07:00"}}},
			fields: []string{"shifts[0].days", "shifts[0].to"}},
		{name: "bad override", op: relay.Availability{Overrides: []relay.Override{{From: "Dec 24", To: "2026-12-20", Mode: "maybe"}, {From: "2026-12-26", To: "2026-12-24", Mode: "off"}}},
			fields: []string{"overrides[0].from", "overrides[0].mode", "overrides[1].to"}},
		{name: "bad schedule", sched: relay.Schedule{Timezone: "Mars/Olympus", QuietHours: &relay.QuietHours{From: "9pm", To: "07:00", Mode: "sleep"},
			UrgentKeywords: []string{" "}, ChainStrategy: "random"},
			fields: []string{"timezone", "quiet_hours.from", "quiet_hours.mode", "urgent_keywords[0]", "chain_strategy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range append(tt.op.Problems(), tt.sched.Problems()...) {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("bad fields: got %v, want %v", got, tt.fields)
			}
			// The same problems come back from the entities' Validate.
			op := relay.Operator{ID: "o", Name: "O", Phone: "+16195550111", Availability: tt.op}
			tn := relay.Tenant{ID: "t", Name: "T", Numbers: []string{"+16195550100"}, Chain: []string{"o"}, Schedule: tt.sched}
			err := errors.Join(op.Validate(), tn.Validate())
			if (err != nil) != (len(tt.fields) > 0) {
				t.Errorf("Validate: got %v, want errors on %v", err, tt.fields)
			}
			for _, f := range tt.fields {
				if err == nil || !strings.Contains(err.Error(), f+":") {
					t.Errorf("Validate: %v does not name %s", err, f)
				}
			}
		})
	}
}

// setOperator changes one of the harness's operators.
func (h *harness) setOperator(id string, change func(o *relay.Operator)) {
	h.t.Helper()
	o, err := h.store.Operator(context.Background(), "qdn", id)
	must(h.t, err)
	change(&o)
	must(h.t, h.store.PutOperator(context.Background(), o))
}

// reasonsOf lists operator:reason of evs, sorted: a step's events are
// written at once, in any order.
func reasonsOf(evs []relay.AuditEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.RoutedToOperator+":"+e.RoutingReason)
	}
	slices.Sort(out)
	return out
}

func TestUnavailableOperatorsAreSkippedAtOnce(t *testing.T) {
	// The harness's clock is Tuesday 2026-11-24 09:00 UTC.
	weekend := []relay.Shift{{Days: []string{"sat", "sun"}, From: "00:00", To: "24:00"}}
	tests := []struct {
		name      string
		setup     func(h *harness)
		wantTo    string
		wantSkips []string
	}{
		{name: "off shift", setup: func(h *harness) { h.setOperator("sergio_main", func(o *relay.Operator) { o.Shifts = weekend }) },
			wantTo: backPhone, wantSkips: []string{"sergio_main:operator_off_shift"}},
		{name: "paused", setup: func(h *harness) {
			h.setOperator("sergio_main", func(o *relay.Operator) { o.PausedUntil = h.clock.Now().Add(time.Hour) })
		}, wantTo: backPhone, wantSkips: []string{"sergio_main:operator_paused"}},
		{name: "inactive", setup: func(h *harness) { h.setOperator("sergio_main", func(o *relay.Operator) { o.Active = false }) },
			wantTo: backPhone, wantSkips: []string{"sergio_main:operator_inactive"}},
		{name: "opted out", setup: func(h *harness) {
			must(h.t, h.store.SetOptOut(context.Background(), "qdn", mainPhone, true, h.clock.Now()))
		}, wantTo: backPhone, wantSkips: []string{"sergio_main:operator_opted_out"}},
		{name: "on vacation", setup: func(h *harness) {
			h.setOperator("sergio_main", func(o *relay.Operator) {
				o.Overrides = []relay.Override{{From: "2026-11-23", To: "2026-11-27", Mode: "off"}}
			})
		}, wantTo: backPhone, wantSkips: []string{"sergio_main:operator_off_shift"}},
		{name: "two skipped", setup: func(h *harness) {
			h.setOperator("sergio_main", func(o *relay.Operator) { o.Shifts = weekend })
			h.setOperator("sergio_backup", func(o *relay.Operator) { o.PausedUntil = relay.AwayIndefinitely })
		}, wantTo: emergPhone, wantSkips: []string{"sergio_backup:operator_paused", "sergio_main:operator_off_shift"}},
		{name: "pause over", setup: func(h *harness) {
			h.setOperator("sergio_main", func(o *relay.Operator) { o.PausedUntil = h.clock.Now().Add(-time.Second) })
		}, wantTo: mainPhone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.setup(h)
			start := h.clock.Now()
			res := h.text(custPhone, qdnNumber, "need a pickup")
			sent := h.sender.sent()
			if len(sent) != 1 || sent[0].To != tt.wantTo {
				t.Fatalf("sent %+v, want one text to %s", sent, tt.wantTo)
			}
			if at := h.sender.at[0]; !at.Equal(start) {
				t.Errorf("first text at %s, want at once (%s)", at, start)
			}
			if got := reasonsOf(h.audit.of(relay.EventSkipped)); strings.Join(got, ",") != strings.Join(tt.wantSkips, ",") {
				t.Errorf("skip events: got %v, want %v", got, tt.wantSkips)
			}
			for _, e := range h.audit.of(relay.EventSkipped) {
				if e.MessageSid != res.RelayID || e.TenantID != "qdn" {
					t.Errorf("skip event %+v: want relay %s of qdn", e, res.RelayID)
				}
			}
		})
	}
}

func TestNobodyAvailableGoesToFallback(t *testing.T) {
	tests := []struct {
		name      string
		reply     string
		auto      string
		wantReply string
	}{
		{name: "unavailable reply", reply: "Nobody can take your message now; the office will call.", auto: "Thanks!",
			wantReply: "Nobody can take your message now; the office will call."},
		{name: "no unavailable reply keeps the auto reply", auto: "Thanks!", wantReply: "Thanks!"},
		{name: "no replies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.setTenant(func(tn *relay.Tenant) { tn.UnavailableReply, tn.AutoReply = tt.reply, tt.auto })
			for _, id := range []string{"sergio_main", "sergio_backup", "emergency"} {
				h.setOperator(id, func(o *relay.Operator) { o.PausedUntil = relay.AwayIndefinitely })
			}
			res := h.text(custPhone, qdnNumber, "need a pickup")
			if res.Reply != tt.wantReply {
				t.Errorf("reply %q, want %q", res.Reply, tt.wantReply)
			}
			sent := h.sender.sent()
			if len(sent) != 1 || sent[0].To != officePh {
				t.Fatalf("sent %+v, want only the fallback", sent)
			}
			r := h.relay(res.RelayID)
			if r.Status != relay.StatusExhausted {
				t.Errorf("status %s, want exhausted", r.Status)
			}
			if n := len(h.audit.of(relay.EventSkipped)); n != 3 {
				t.Errorf("%d skip events, want 3 (one per operator, not per pass)", n)
			}
			if len(h.audit.of(relay.EventExhausted)) != 1 || len(h.audit.of(relay.EventFallback)) != 1 {
				t.Errorf("want one exhausted and one fallback event")
			}
		})
	}
}

func TestAvailabilityIsCheckedWhenEachStepStarts(t *testing.T) {
	h := newHarness(t)
	h.text(custPhone, qdnNumber, "need a pickup")
	// After the relay started, the backup's shift ends and they go away.
	h.setOperator("sergio_backup", func(o *relay.Operator) { o.PausedUntil = h.clock.Now().Add(10 * time.Minute) })
	h.advance(61 * time.Second)
	sent := h.sender.sent()
	if len(sent) != 2 || sent[1].To != emergPhone {
		t.Fatalf("sent %+v, want main then emergency", sent)
	}
	if got := reasonsOf(h.audit.of(relay.EventSkipped)); strings.Join(got, ",") != "sergio_backup:operator_paused" {
		t.Errorf("skips %v, want the backup paused", got)
	}
}

func TestAwayAndBackByText(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantReply string
		wantUntil func(now time.Time) time.Time
	}{
		{name: "away for two hours", body: "AWAY 2h", wantReply: "You are away until Tue Nov 24 11:00 UTC",
			wantUntil: func(now time.Time) time.Time { return now.Add(2 * time.Hour) }},
		{name: "away lower case minutes", body: "away 30m", wantReply: "You are away until Tue Nov 24 09:30 UTC",
			wantUntil: func(now time.Time) time.Time { return now.Add(30 * time.Minute) }},
		{name: "away a day", body: "Away 1d", wantReply: "You are away until Wed Nov 25 09:00 UTC",
			wantUntil: func(now time.Time) time.Time { return now.Add(24 * time.Hour) }},
		{name: "away bare hours", body: "AWAY 3", wantReply: "You are away until Tue Nov 24 12:00 UTC",
			wantUntil: func(now time.Time) time.Time { return now.Add(3 * time.Hour) }},
		{name: "away until back", body: "AWAY", wantReply: "no new messages until you text BACK",
			wantUntil: func(time.Time) time.Time { return relay.AwayIndefinitely }},
		{name: "away in words", body: "away 1 hour 30 min", wantReply: "You are away until Tue Nov 24 10:30 UTC",
			wantUntil: func(now time.Time) time.Time { return now.Add(90 * time.Minute) }},
		{name: "bad duration", body: "AWAY 2 weeks", wantReply: `"2 weeks" is not a time`,
			wantUntil: func(time.Time) time.Time { return time.Time{} }},
		{name: "too long", body: "AWAY 100d", wantReply: `"100d" is not a time`,
			wantUntil: func(time.Time) time.Time { return time.Time{} }},
		{name: "back", body: "back", wantReply: "Welcome back",
			wantUntil: func(time.Time) time.Time { return time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.name == "back" {
				h.setOperator("sergio_main", func(o *relay.Operator) { o.PausedUntil = relay.AwayIndefinitely })
			}
			now := h.clock.Now()
			res := h.text(mainPhone, qdnNumber, tt.body)
			if !strings.Contains(res.Reply, tt.wantReply) {
				t.Errorf("reply %q, want it to contain %q", res.Reply, tt.wantReply)
			}
			op, err := h.store.Operator(context.Background(), "qdn", "sergio_main")
			must(t, err)
			if want := tt.wantUntil(now); !op.PausedUntil.Equal(want) {
				t.Errorf("paused_until %s, want %s", op.PausedUntil, want)
			}
			if len(h.sender.sent()) != 0 {
				t.Errorf("AWAY/BACK sent %d texts, want none", len(h.sender.sent()))
			}
			changes := h.audit.of(relay.EventDirectoryChange)
			if !strings.Contains(tt.wantReply, "is not a time") && (len(changes) != 1 || changes[0].Actor != "sergio_main") {
				t.Errorf("directory changes %+v, want one by sergio_main", changes)
			}
		})
	}
}

func TestAwayThenBackRoutes(t *testing.T) {
	h := newHarness(t)
	h.text(mainPhone, qdnNumber, "AWAY 1h")
	h.text(custPhone, qdnNumber, "first")
	h.text(mainPhone, qdnNumber, "BACK")
	h.text("+16195554321", qdnNumber, "second")
	sent := h.sender.sent()
	if len(sent) != 2 || sent[0].To != backPhone || sent[1].To != mainPhone {
		t.Fatalf("sent %+v, want the backup while away, then main again", sent)
	}
}

func TestShiftSecondsAndWholeDay(t *testing.T) {
	tests := []struct {
		name  string
		shift relay.Shift
		now   string
		want  string
	}{
		{"whole day", relay.Shift{Days: []string{"tue"}, From: "00:00", To: "24:00"}, "2026-11-24T23:59:59Z", ""},
		{"whole day ends at midnight", relay.Shift{Days: []string{"tue"}, From: "00:00", To: "24:00"}, "2026-11-25T00:00:00Z", relay.ReasonOffShift},
		{"range mon-fri on tuesday", relay.Shift{Days: []string{"Mon-Fri"}, From: "00:00", To: "24:00"}, "2026-11-24T12:00:00Z", ""},
		{"range mon-fri on saturday", relay.Shift{Days: []string{"mon-fri"}, From: "00:00", To: "24:00"}, "2026-11-28T12:00:00Z", relay.ReasonOffShift},
		{"wrapping range fri-mon on sunday", relay.Shift{Days: []string{"fri-mon"}, From: "00:00", To: "24:00"}, "2026-11-29T12:00:00Z", ""},
		{"wrapping range fri-mon on tuesday", relay.Shift{Days: []string{"fri-mon"}, From: "00:00", To: "24:00"}, "2026-11-24T12:00:00Z", relay.ReasonOffShift},
		{"weekends on saturday", relay.Shift{Days: []string{"weekends"}, From: "08:00", To: "12:00"}, "2026-11-28T09:00:00Z", ""},
		{"weekdays on saturday", relay.Shift{Days: []string{"weekdays"}, From: "08:00", To: "12:00"}, "2026-11-28T09:00:00Z", relay.ReasonOffShift},
		{"daily overnight into tuesday", relay.Shift{Days: []string{"daily"}, From: "22:00", To: "06:00"}, "2026-11-24T05:00:00Z", ""},
		{"seconds, inside", relay.Shift{Days: []string{"tue"}, From: "09:00:10", To: "09:00:20"}, "2026-11-24T09:00:10Z", ""},
		{"seconds, after", relay.Shift{Days: []string{"tue"}, From: "09:00:10", To: "09:00:20"}, "2026-11-24T09:00:20Z", relay.ReasonOffShift},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := relay.Operator{Active: true, Availability: relay.Availability{Shifts: []relay.Shift{tt.shift}}}
			if got := op.Unavailable(utc(tt.now), time.UTC); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAwayWordsInFreeTextAreRelayed(t *testing.T) {
	h := newHarness(t)
	h.text(custPhone, qdnNumber, "where is my driver")
	h.text(mainPhone, qdnNumber, "OK")
	for _, body := range []string{"Away from the truck, back in 10", "back soon"} {
		h.text(mainPhone, qdnNumber, body)
	}
	if got := h.sender.to(custPhone); len(got) != 2 {
		t.Errorf("customer got %d texts, want both free texts relayed", len(got))
	}
	op, err := h.store.Operator(context.Background(), "qdn", "sergio_main")
	must(t, err)
	if !op.PausedUntil.IsZero() {
		t.Errorf("free text paused the operator until %s", op.PausedUntil)
	}
}
