package relay

import (
	"fmt"
	"strings"
	"time"
	// The Lambda runtime (provided.al2023) has no zoneinfo of its own: the
	// IANA database is embedded so tenants' time zones load everywhere.
	_ "time/tzdata"
	"unicode/utf8"
)

// Schedule is a tenant's time-aware settings: its time zone, quiet hours,
// the replies a customer gets when nobody can answer, and how the chain is
// walked. It is embedded in Tenant, so its fields sit beside the tenant's own
// in JSON, the data file and the Directory API.
type Schedule struct {
	// Timezone is the IANA name every shift, override date and quiet hour is read in; "" means UTC.
	Timezone string `json:"timezone,omitempty" yaml:"timezone,omitempty"`
	// QuietHours, when set, hold relays or text only on-call operators at night.
	QuietHours *QuietHours `json:"quiet_hours,omitempty" yaml:"quiet_hours,omitempty"`
	// AfterHoursReply answers a customer whose text is held for quiet hours.
	AfterHoursReply string `json:"after_hours_reply,omitempty" yaml:"after_hours_reply,omitempty"`
	// UnavailableReply answers a customer when nobody in the chain is available.
	UnavailableReply string `json:"unavailable_reply,omitempty" yaml:"unavailable_reply,omitempty"`
	// UrgentKeywords in a customer's text bypass quiet hours (whole words, any case).
	UrgentKeywords []string `json:"urgent_keywords,omitempty" yaml:"urgent_keywords,omitempty"`
	// ChainStrategy is ordered (default), round_robin or broadcast.
	ChainStrategy string `json:"chain_strategy,omitempty" yaml:"chain_strategy,omitempty"`
	// BroadcastSize is how many operators a broadcast step texts at once
	// (default DefaultBroadcastSize).
	BroadcastSize int `json:"broadcast_size,omitempty" yaml:"broadcast_size,omitempty"`
}

// Quiet-hours modes.
const (
	// QuietHold answers the customer and starts the relay when quiet hours end.
	QuietHold = "hold"
	// QuietOnCallOnly texts only operators flagged on_call during quiet hours.
	QuietOnCallOnly = "on_call_only"
)

// Chain strategies.
const (
	StrategyOrdered    = "ordered"
	StrategyRoundRobin = "round_robin"
	StrategyBroadcast  = "broadcast"
)

// QuietHours is a nightly window (HH:MM or HH:MM:SS in the tenant's time zone; it may
// cross midnight) and what happens to customers' texts during it.
type QuietHours struct {
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
	// Mode is QuietHold (the default when empty) or QuietOnCallOnly.
	Mode string `json:"mode,omitempty" yaml:"mode,omitempty"`
}

// OnCallOnly reports whether quiet hours text on-call operators instead of
// holding texts.
func (q *QuietHours) OnCallOnly() bool { return q != nil && q.Mode == QuietOnCallOnly }

// Audit reasons and statuses of quiet hours.
const (
	// StatusHeld is a relay waiting for quiet hours to end.
	StatusHeld Status = "held"
	// EventHeld records a relay held for quiet hours; EventReleased its
	// start. Both are also the events' routing_reason.
	EventHeld     = "held_quiet_hours"
	EventReleased = "released"
	// EventBypass records an urgent text relayed during quiet hours.
	EventBypass = "quiet_hours_bypassed"
	// OutcomeHeld answers an inbound text held for quiet hours.
	OutcomeHeld Outcome = "held"
	// ReasonUrgent marks a relay whose urgent keyword bypassed quiet hours.
	ReasonUrgent = "urgent_keyword"
)

// Quiet reports whether now falls in the tenant's quiet hours and, if so,
// when they end.
func (t Tenant) Quiet(now time.Time) (bool, time.Time) {
	q := t.QuietHours
	if q == nil {
		return false, time.Time{}
	}
	from, ok1 := clock(q.From)
	to, ok2 := clock(q.To)
	if !ok1 || !ok2 || from == to {
		return false, time.Time{}
	}
	loc := t.Location()
	local := now.In(loc)
	m := secondOfDay(local)
	in := (from < to && m >= from && m < to) || (from > to && (m >= from || m < to))
	if !in {
		return false, time.Time{}
	}
	end := time.Date(local.Year(), local.Month(), local.Day(), to/3600, to/60%60, to%60, 0, loc)
	if !end.After(now) {
		end = time.Date(local.Year(), local.Month(), local.Day()+1, to/3600, to/60%60, to%60, 0, loc)
	}
	return true, end
}

// Urgent reports whether body holds one of the tenant's urgent keywords as
// a whole word (or phrase), in any case.
func (t Tenant) Urgent(body string) bool {
	words := " " + strings.Join(strings.FieldsFunc(strings.ToLower(body), notWordRune), " ") + " "
	for _, k := range t.UrgentKeywords {
		k = strings.Join(strings.FieldsFunc(strings.ToLower(k), notWordRune), " ")
		if k != "" && strings.Contains(words, " "+k+" ") {
			return true
		}
	}
	return false
}

func notWordRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > utf8.RuneSelf)
}

// checkSchedule reports every bad schedule field of a tenant.
func checkSchedule(fe *FieldErrors, s Schedule) {
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "Local" {
			fe.add("timezone", "%q is not an IANA time zone like America/Los_Angeles", s.Timezone)
		}
	}
	if q := s.QuietHours; q != nil {
		from, ok1 := clock(q.From)
		to, ok2 := clock(q.To)
		if !ok1 {
			fe.add("quiet_hours.from", "%q is not a time like 21:00", q.From)
		}
		if !ok2 {
			fe.add("quiet_hours.to", "%q is not a time like 07:00", q.To)
		}
		if ok1 && ok2 && from == to {
			fe.add("quiet_hours.to", "must differ from from")
		}
		if q.Mode != "" && q.Mode != QuietHold && q.Mode != QuietOnCallOnly {
			fe.add("quiet_hours.mode", "%q must be hold or on_call_only", q.Mode)
		}
	}
	for _, r := range [][2]string{{"after_hours_reply", s.AfterHoursReply}, {"unavailable_reply", s.UnavailableReply}} {
		if !utf8.ValidString(r[1]) || utf8.RuneCountInString(r[1]) > maxReply {
			fe.add(r[0], "must be text of at most %d characters", maxReply)
		}
	}
	for i, k := range s.UrgentKeywords {
		if strings.TrimSpace(k) == "" || utf8.RuneCountInString(k) > 64 {
			fe.add(fmt.Sprintf("urgent_keywords[%d]", i), "must be a word or phrase of 1-64 characters")
		}
	}
	switch s.ChainStrategy {
	case "", StrategyOrdered, StrategyRoundRobin, StrategyBroadcast:
	default:
		fe.add("chain_strategy", "%q must be ordered, round_robin or broadcast", s.ChainStrategy)
	}
	if s.BroadcastSize < 0 || s.BroadcastSize > MaxBroadcastSize {
		fe.add("broadcast_size", "%d must be between 1 and %d", s.BroadcastSize, MaxBroadcastSize)
	}
}
