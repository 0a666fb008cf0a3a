package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Operator availability by text: "AWAY" pauses the operator until they
// text "BACK"; "AWAY 2h" (or 30m, 1h30m, 2d; a bare number is hours) pauses
// them for that long. A paused operator is skipped at once by every chain.

// maxAway bounds a timed AWAY.
const maxAway = 90 * 24 * time.Hour

// Audit reasons of an operator's AWAY and BACK.
const (
	ReasonAway = "operator_away"
	ReasonBack = "operator_back"
)

// awayCommand reads AWAY [duration] or BACK; ok is false for any other
// text, including "Away from the truck" (free text for the customer). For
// AWAY, d is the pause (0 means until BACK); bad reports a duration that
// starts like one but could not be read ("AWAY 2 weeks").
func awayCommand(body string) (away bool, d time.Duration, bad string, ok bool) {
	f := strings.Fields(strings.TrimRight(strings.TrimSpace(body), ".!"))
	if len(f) == 0 {
		return false, 0, "", false
	}
	switch strings.ToUpper(f[0]) {
	case "BACK":
		return false, 0, "", len(f) == 1
	case "AWAY":
	default:
		return false, 0, "", false
	}
	if len(f) == 1 {
		return true, 0, "", true
	}
	arg := strings.Join(f[1:], " ")
	if c := arg[0]; c < '0' || c > '9' {
		return false, 0, "", false
	}
	d, err := parseAway(arg)
	if err != nil {
		return true, 0, arg, true
	}
	return true, d, "", true
}

var awayPart = regexp.MustCompile(`^\s*(\d+(?:\.\d+)?)\s*([a-z]*)`)

// parseAway reads 2h, 30m, 1h30m, 2 hours, 90 min, 1d or a bare number of
// hours.
func parseAway(s string) (time.Duration, error) {
	rest := strings.ToLower(strings.TrimSpace(s))
	var d time.Duration
	for rest != "" {
		m := awayPart.FindStringSubmatch(rest)
		if m == nil {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: %w", s, err)
		}
		var unit time.Duration
		switch m[2] {
		case "", "h", "hr", "hrs", "hour", "hours":
			unit = time.Hour
		case "m", "min", "mins", "minute", "minutes":
			unit = time.Minute
		case "d", "day", "days":
			unit = 24 * time.Hour
		default:
			return 0, fmt.Errorf("%q: unknown unit %q", s, m[2])
		}
		d += time.Duration(n * float64(unit))
		rest = strings.TrimSpace(rest[len(m[0]):])
	}
	if d < time.Minute || d > maxAway {
		return 0, fmt.Errorf("away for %s: must be between 1m and %s", d, maxAway)
	}
	return d, nil
}

// operatorAway handles an operator's AWAY or BACK text; handled is false
// for any other text. The pause is stored on the operator (a conditional
// write, audited as a directory change) and confirmed by text. A retried
// webhook sets the same pause again, harmlessly.
func (s *Service) operatorAway(ctx context.Context, t Tenant, op Operator, in Inbound) (string, bool, error) {
	away, d, bad, ok := awayCommand(in.Body)
	if !ok {
		return "", false, nil
	}
	if bad != "" {
		return fmt.Sprintf("%q is not a time like 2h, 30m or 1d. Text AWAY, AWAY 2h or BACK.", bad), true, nil
	}
	now := s.now()
	until, reason := time.Time{}, ReasonBack
	if away {
		until, reason = AwayIndefinitely, ReasonAway
		if d > 0 {
			until = now.Add(d).Truncate(time.Second)
		}
	}
	if err := s.setPause(ctx, t, op.ID, until, reason); err != nil {
		return "", true, err
	}
	switch {
	case !away:
		return "Welcome back: you will get new messages again.", true, nil
	case d == 0:
		return "You are away: no new messages until you text BACK.", true, nil
	}
	return fmt.Sprintf("You are away until %s: no new messages until then. Text BACK to return sooner.",
		until.In(t.Location()).Format("Mon Jan 2 15:04 MST")), true, nil
}

// operatorWriter is the conditional write the stores offer (DirectoryWriter).
type operatorWriter interface {
	ReplaceOperator(ctx context.Context, o Operator, prev *Operator) error
}

// setPause stores the operator's paused_until, re-reading on a lost race,
// flushes the routing cache and audits the change.
func (s *Service) setPause(ctx context.Context, t Tenant, id string, until time.Time, reason string) error {
	for i := 0; ; i++ {
		cur, err := s.Store.Operator(ctx, t.ID, id)
		if err != nil {
			return fmt.Errorf("read operator %s: %w", id, err)
		}
		next := cur
		next.PausedUntil = until
		if w, ok := s.Store.(operatorWriter); ok {
			err = w.ReplaceOperator(ctx, next, &cur)
		} else {
			err = s.Store.PutOperator(ctx, next)
		}
		if IsKind(err, Conflict) && i < updateRetries {
			continue
		}
		if err != nil {
			return fmt.Errorf("pause operator %s: %w", id, err)
		}
		if f, ok := s.Directory.(interface{ Flush() }); ok {
			f.Flush()
		}
		e := AuditEvent{TenantID: t.ID, Event: EventDirectoryChange, Kind: KindOperator, EntityID: id,
			Actor: id, RoutingReason: reason, RoutedToOperator: id}
		e.Before, _ = json.Marshal(cur.Doc())
		e.After, _ = json.Marshal(next.Doc())
		s.record(ctx, e)
		s.log().InfoContext(ctx, "operator availability changed by text", "tenant", t.ID, "operator", id,
			"reason", reason, "until", until)
		return nil
	}
}
