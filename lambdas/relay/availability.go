package relay

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Availability is when an operator can be texted: weekly shifts in the
// tenant's time zone, dated overrides, a pause (AWAY) and the on-call flag.
// It is embedded in Operator, so its fields sit beside the operator's own in
// JSON, the data file and the Directory API.
type Availability struct {
	// Shifts are weekly windows in the tenant's time zone; none means always on.
	Shifts []Shift `json:"shifts,omitempty" yaml:"shifts,omitempty"`
	// Overrides are dated periods off (vacation) or on (a swap) that beat the shifts.
	Overrides []Override `json:"overrides,omitempty" yaml:"overrides,omitempty"`
	// PausedUntil skips the operator until then (AWAY by text, or the API).
	PausedUntil time.Time `json:"paused_until,omitzero" yaml:"paused_until,omitempty"`
	// OnCall marks who is texted during quiet hours in on_call_only mode.
	OnCall bool `json:"on_call,omitempty" yaml:"on_call,omitempty"`
}

// Shift is a weekly window: on each of Days (mon..sun or full names,
// ranges like mon-fri, weekdays, weekends, daily), from From to To (HH:MM
// or HH:MM:SS, the tenant's wall clock). A window whose To is not after From crosses
// midnight: it starts on the listed day and ends on the next.
type Shift struct {
	Days []string `json:"days" yaml:"days"`
	From string   `json:"from" yaml:"from"`
	To   string   `json:"to" yaml:"to"`
}

// Override modes.
const (
	OverrideOff = "off"
	OverrideOn  = "on"
)

// Override is a dated period that beats the shifts: Mode "off" (vacation)
// or "on" (covering a swap). From and To are dates (YYYY-MM-DD, in the
// tenant's time zone, To inclusive) or RFC 3339 times (To exclusive).
type Override struct {
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
	Mode string `json:"mode" yaml:"mode"`
}

// Reasons a chain step skips an operator without texting them.
const (
	ReasonOffShift  = "operator_off_shift"
	ReasonPaused    = "operator_paused"
	ReasonInactive  = "operator_inactive"
	ReasonOptedOut  = "operator_opted_out"
	ReasonNotOnCall = "operator_not_on_call"
)

// EventSkipped is the audit event of an operator a step passed over.
const EventSkipped = "skipped"

// AwayIndefinitely is PausedUntil for an operator who texted AWAY without a
// duration: away until they text BACK.
var AwayIndefinitely = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// weekday reads "mon", "Monday", "MON" and so on.
func weekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 3 {
		return 0, false
	}
	d, ok := weekdays[s[:3]]
	if !ok {
		return 0, false
	}
	if full := strings.ToLower(d.String()); len(s) > 3 && s != full {
		return 0, false
	}
	return d, true
}

// days reads one entry of a shift's days: a day ("mon", "Monday"), a range
// ("mon-fri", "fri-mon" wraps), "weekdays", "weekends" or "daily".
func days(s string) ([]time.Weekday, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "weekdays":
		return []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, true
	case "weekends", "weekend":
		return []time.Weekday{time.Saturday, time.Sunday}, true
	case "daily", "every day", "everyday", "all":
		return []time.Weekday{0, 1, 2, 3, 4, 5, 6}, true
	}
	if from, to, ok := strings.Cut(s, "-"); ok {
		a, ok1 := weekday(from)
		b, ok2 := weekday(to)
		if !ok1 || !ok2 {
			return nil, false
		}
		out := []time.Weekday{a}
		for d := a; d != b; {
			d = (d + 1) % 7
			out = append(out, d)
		}
		return out, true
	}
	d, ok := weekday(s)
	return []time.Weekday{d}, ok
}

// clock reads "HH:MM" or "HH:MM:SS" (00:00-24:00) as seconds after midnight.
func clock(s string) (int, bool) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 2 || len(parts) > 3 || len(parts[0]) == 0 || len(parts[0]) > 2 {
		return 0, false
	}
	v := [3]int{}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (i > 0 && (len(p) != 2 || n > 59)) {
			return 0, false
		}
		v[i] = n
	}
	secs := v[0]*3600 + v[1]*60 + v[2]
	if secs > 24*3600 {
		return 0, false
	}
	return secs, true
}

// secondOfDay is t's wall-clock seconds after midnight.
func secondOfDay(t time.Time) int { return t.Hour()*3600 + t.Minute()*60 + t.Second() }

// covers reports whether the shift includes the wall-clock time local.
func (sh Shift) covers(local time.Time) bool {
	from, ok1 := clock(sh.From)
	to, ok2 := clock(sh.To)
	if !ok1 || !ok2 {
		return false
	}
	m := secondOfDay(local)
	on := func(d time.Weekday) bool {
		for _, s := range sh.Days {
			ds, _ := days(s)
			for _, w := range ds {
				if w == d {
					return true
				}
			}
		}
		return false
	}
	today, yesterday := local.Weekday(), (local.Weekday()+6)%7
	if from < to {
		return on(today) && m >= from && m < to
	}
	// Crosses midnight: the evening of a listed day or the morning after one.
	return (on(today) && m >= from) || (on(yesterday) && m < to)
}

// bounds returns the override's period [start, end) in loc.
func (ov Override) bounds(loc *time.Location) (time.Time, time.Time, error) {
	start, _, err := instant(ov.From, loc, false)
	if err != nil {
		return start, start, fmt.Errorf("from: %w", err)
	}
	end, _, err := instant(ov.To, loc, true)
	if err != nil {
		return start, end, fmt.Errorf("to: %w", err)
	}
	return start, end, nil
}

// instant reads a date (midnight in loc, or the next midnight when end is
// set, so a date range is inclusive) or an RFC 3339 time.
func instant(s string, loc *time.Location, end bool) (time.Time, bool, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		if end {
			d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
		}
		return d, true, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, false, fmt.Errorf("%q is neither a date like 2026-12-24 nor an RFC 3339 time", s)
	}
	return t, false, nil
}

// Location returns the tenant's time zone; UTC when unset or unknown.
func (t Tenant) Location() *time.Location {
	if t.Timezone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(t.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Unavailable reports why the operator cannot be texted at now in loc, or
// "" when they can: inactive, paused, overridden off or off shift. An
// override "on" beats the shifts; no shifts means always on.
func (o Operator) Unavailable(now time.Time, loc *time.Location) string {
	if !o.Active {
		return ReasonInactive
	}
	if o.PausedUntil.After(now) {
		return ReasonPaused
	}
	for _, ov := range o.Overrides {
		start, end, err := ov.bounds(loc)
		if err != nil || now.Before(start) || !now.Before(end) {
			continue
		}
		if strings.EqualFold(ov.Mode, OverrideOff) {
			return ReasonOffShift
		}
		return ""
	}
	if len(o.Shifts) == 0 {
		return ""
	}
	local := now.In(loc)
	for _, sh := range o.Shifts {
		if sh.covers(local) {
			return ""
		}
	}
	return ReasonOffShift
}

// checkAvailability reports every bad availability field of an operator.
func checkAvailability(fe *FieldErrors, a Availability) {
	for i, sh := range a.Shifts {
		p := fmt.Sprintf("shifts[%d]", i)
		if len(sh.Days) == 0 {
			fe.add(p+".days", "at least one day (mon, tue, wed, thu, fri, sat, sun) is required")
		}
		for j, d := range sh.Days {
			if _, ok := days(d); !ok {
				fe.add(fmt.Sprintf("%s.days[%d]", p, j), "%q is not a day like mon or monday, a range like mon-fri, weekdays, weekends or daily", d)
			}
		}
		from, ok1 := clock(sh.From)
		to, ok2 := clock(sh.To)
		if !ok1 {
			fe.add(p+".from", "%q is not a time like 07:00", sh.From)
		}
		if !ok2 {
			fe.add(p+".to", "%q is not a time like 17:00", sh.To)
		}
		if ok1 && ok2 && from == to {
			fe.add(p+".to", "must differ from from (use 00:00 to 24:00 for a whole day)")
		}
	}
	for i, ov := range a.Overrides {
		p := fmt.Sprintf("overrides[%d]", i)
		start, _, err1 := instant(ov.From, time.UTC, false)
		end, _, err2 := instant(ov.To, time.UTC, true)
		if err1 != nil {
			fe.add(p+".from", "%v", err1)
		}
		if err2 != nil {
			fe.add(p+".to", "%v", err2)
		}
		if err1 == nil && err2 == nil && !end.After(start) {
			fe.add(p+".to", "must be after from")
		}
		if m := strings.ToLower(ov.Mode); m != OverrideOff && m != OverrideOn {
			fe.add(p+".mode", "%q must be off or on", ov.Mode)
		}
	}
}

// Problems lists every bad availability field, named as in the data file.
func (a Availability) Problems() FieldErrors {
	var fe FieldErrors
	checkAvailability(&fe, a)
	return fe
}

// unavailable reports why op cannot be texted for r at now ("" when they
// can): inactive, paused, off shift or overridden off, not on call in
// on_call_only quiet hours (unless the text is urgent), or opted out.
func (s *Service) unavailable(ctx context.Context, t Tenant, r *Relay, op Operator, now time.Time) (string, error) {
	if why := op.Unavailable(now, t.Location()); why != "" {
		return why, nil
	}
	if quiet, _ := t.Quiet(now); quiet && t.QuietHours.OnCallOnly() && !r.Urgent && !op.OnCall {
		return ReasonNotOnCall, nil
	}
	out, err := s.operatorOptedOut(ctx, t, op)
	if err != nil {
		return "", err
	}
	if out {
		return ReasonOptedOut, nil
	}
	return "", nil
}

// operatorOptedOut reports whether the operator's phone opted out of the
// tenant's texts (an operator's STOP; Twilio would refuse the send anyway).
func (s *Service) operatorOptedOut(ctx context.Context, t Tenant, op Operator) (bool, error) {
	out, err := s.operatorOut(ctx, t.ID, op.Phone)
	if err != nil {
		return false, fmt.Errorf("check opt-out of operator %s: %w", op.ID, err)
	}
	return out, nil
}

// skipEvent is the audit record of an operator a step passed over.
func (s *Service) skipEvent(r *Relay, op Operator, why, actor string) AuditEvent {
	ev := s.event(r, Attempt{N: len(r.Attempts), OperatorID: op.ID, Reason: why, By: actor})
	ev.Event = EventSkipped
	return ev
}
