package datafile_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

const scheduled = `
tenants:
  - id: qdn
    name: QuickDumpNow
    numbers: ["+16195550100"]
    chain: [day, night]
    timezone: America/Los_Angeles
    quiet_hours: {from: "21:00", to: "07:00", mode: on_call_only}
    after_hours_reply: We open at 7.
    unavailable_reply: Nobody is free right now.
    urgent_keywords: [urgent, flood]
    chain_strategy: round_robin
    operators:
      - id: day
        name: Day
        phone: "+16195550111"
        shifts:
          - {days: [mon, tue, wed, thu, fri], from: "07:00", to: "17:00"}
        overrides:
          - {from: "2026-12-24", to: "2026-12-26", mode: off}
      - id: night
        name: Night
        phone: "+16195550112"
        on_call: true
        paused_until: 2026-12-07T10:00:00Z
        shifts:
          - {days: [fri, sat], from: "22:00", to: "06:00"}
`

func TestScheduleAndAvailabilityLoad(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		json bool
	}{
		{"yaml", scheduled, false},
		{"json", `{"tenants":[{"id":"qdn","name":"QuickDumpNow","numbers":["+16195550100"],"chain":["day","night"],
		  "timezone":"America/Los_Angeles","quiet_hours":{"from":"21:00","to":"07:00","mode":"on_call_only"},
		  "after_hours_reply":"We open at 7.","unavailable_reply":"Nobody is free right now.",
		  "urgent_keywords":["urgent","flood"],"chain_strategy":"round_robin",
		  "operators":[{"id":"day","name":"Day","phone":"+16195550111",
		    "shifts":[{"days":["mon","tue","wed","thu","fri"],"from":"07:00","to":"17:00"}],
		    "overrides":[{"from":"2026-12-24","to":"2026-12-26","mode":"off"}]},
		   {"id":"night","name":"Night","phone":"+16195550112","on_call":true,"paused_until":"2026-12-07T10:00:00Z",
		    "shifts":[{"days":["fri","sat"],"from":"22:00","to":"06:00"}]}]}]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := datafile.Parse([]byte(tc.data), tc.json)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			st := memstore.New()
			if err := datafile.Load(context.Background(), st, f); err != nil {
				t.Fatalf("Load: %v", err)
			}
			ten, err := st.Tenant(context.Background(), "qdn")
			if err != nil {
				t.Fatal(err)
			}
			want := relay.Schedule{Timezone: "America/Los_Angeles",
				QuietHours:      &relay.QuietHours{From: "21:00", To: "07:00", Mode: "on_call_only"},
				AfterHoursReply: "We open at 7.", UnavailableReply: "Nobody is free right now.",
				UrgentKeywords: []string{"urgent", "flood"}, ChainStrategy: "round_robin"}
			if !reflect.DeepEqual(ten.Schedule, want) {
				t.Errorf("schedule: got %+v, want %+v", ten.Schedule, want)
			}
			day, _ := st.Operator(context.Background(), "qdn", "day")
			night, _ := st.Operator(context.Background(), "qdn", "night")
			if len(day.Shifts) != 1 || len(day.Shifts[0].Days) != 5 || day.Shifts[0].To != "17:00" ||
				len(day.Overrides) != 1 || day.Overrides[0].Mode != "off" {
				t.Errorf("day operator: got %+v", day.Availability)
			}
			if !night.OnCall || !night.PausedUntil.Equal(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)) {
				t.Errorf("night operator: got %+v", night.Availability)
			}
		})
	}
}

func TestScheduleValidationNamesFields(t *testing.T) {
	bad := strings.NewReplacer(
		"America/Los_Angeles", "Nowhere/Land",
		`mode: on_call_only`, `mode: snooze`,
		`from: "07:00", to: "17:00"`, `from: "7am", to: "17:00"`,
		`mode: off}`, `mode: maybe}`,
		`[fri, sat]`, `[fri, caturday]`,
	).Replace(scheduled)
	_, err := datafile.Parse([]byte(bad), false)
	if err == nil {
		t.Fatal("Parse accepted bad schedules")
	}
	for _, want := range []string{
		"tenants[0].timezone:", "tenants[0].quiet_hours.mode:", "tenants[0].operators[0].shifts[0].from:",
		"tenants[0].operators[0].overrides[0].mode:", "tenants[0].operators[1].shifts[0].days[1]:",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestQuotedPausedUntilAndDefaultQuietMode(t *testing.T) {
	data := strings.Replace(scheduled, "paused_until: 2026-12-07T10:00:00Z", `paused_until: "2026-12-07T10:00:00Z"`, 1)
	data = strings.Replace(data, "mode: on_call_only}", "}", 1)
	f, err := datafile.Parse([]byte(data), false)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := f.Tenants[0].Operators[1].PausedUntil; !got.Equal(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("quoted paused_until: got %s", got)
	}
}
