package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// scheduleZone is the time zone of the availability tests' tenant: not the
// machine's, so every rule is read in the tenant's zone.
const scheduleZone = "America/New_York"

// scheduled writes a data file for tenant a with tenant settings and
// per-operator lines added (YAML, indented as in tenants.yaml), computed by
// the caller from the current time, and returns its path.
func scheduled(t *testing.T, tenant string, ops map[string]string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `tenants:
  - id: a
    name: QuickDumpNow
    numbers: ["%s"]
    ack_timeout: 2s
    chain: [sergio_main, sergio_backup, emergency]
    fallback: {name: Office A, phone: "%s"}
    two_way: true
    timezone: %s
`, numA, officeA, scheduleZone)
	b.WriteString(tenant)
	b.WriteString("    operators:\n")
	for _, o := range []struct{ id, name, phone string }{
		{"sergio_main", "Sergio", sergioMain}, {"sergio_backup", "Sergio (backup)", sergioBackup}, {"emergency", "Emergency", emergency},
	} {
		fmt.Fprintf(&b, "      - id: %s\n        name: %s\n        phone: \"%s\"\n%s", o.id, o.name, o.phone, ops[o.id])
	}
	fmt.Fprintf(&b, `    customers:
      - {id: cust_9012, name: Bayside Builders, phone: "%s"}
`, bayside)
	path := filepath.Join(t.TempDir(), "scheduled.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// local is now in the tenant's zone, shifted by d.
func local(t *testing.T, d time.Duration) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(scheduleZone)
	if err != nil {
		t.Fatal(err)
	}
	return time.Now().Add(d).In(loc)
}

func day(t time.Time) string { return strings.ToLower(t.Weekday().String()[:3]) }

// TestOffShiftOperatorSkippedAtOnce: an operator whose shift is another day
// and one on vacation are skipped without an ack window, each audited.
func TestOffShiftOperatorSkippedAtOnce(t *testing.T) {
	t.Parallel()
	other := local(t, 48*time.Hour)
	today := local(t, 0)
	data := scheduled(t, "", map[string]string{
		"sergio_main": fmt.Sprintf("        shifts:\n          - {days: [%s], from: \"00:00\", to: \"24:00\"}\n", day(other)),
		"sergio_backup": fmt.Sprintf("        overrides:\n          - {from: \"%s\", to: \"%s\", mode: off}\n",
			today.AddDate(0, 0, -1).Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly)),
	})
	s := start(t, setup{Data: data})
	sent := time.Now()
	w := s.text(bayside, numA, "where is my dumpster")
	m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]
	if m.To != emergency {
		t.Fatalf("first text to %s, want emergency %s (the others are off)", m.To, emergency)
	}
	if took := time.Since(sent); took > ackWindow {
		t.Errorf("first text after %s, want at once (no window spent on the skipped)", took)
	}
	recs := s.waitAudit(w.Sid, "skipped", "routed")
	var skips []string
	for _, r := range only(recs, "skipped") {
		skips = append(skips, r.RoutedToOperator+":"+r.RoutingReason)
	}
	slices.Sort(skips) // a step's events are written at once, in any order
	if want := "sergio_backup:operator_off_shift,sergio_main:operator_off_shift"; strings.Join(skips, ",") != want {
		t.Errorf("skips %v, want %s", skips, want)
	}
}

// TestAwayAndBackByText: an operator's AWAY 2h is confirmed and skips them
// at once; BACK puts them first again.
func TestAwayAndBackByText(t *testing.T) {
	t.Parallel()
	s := start(t, setup{Data: scheduled(t, "", nil)})
	if got := s.text(sergioMain, numA, "AWAY 2h").TwiML(t); !strings.Contains(got, "You are away until") {
		t.Errorf("AWAY 2h answered %q, want a confirmation with the time", got)
	}
	var op struct {
		PausedUntil time.Time `json:"paused_until"`
	}
	s.mustCall("GET", "/api/operators/sergio_main?tenant=a", adminToken, nil, 200, &op)
	if d := time.Until(op.PausedUntil); d < 119*time.Minute || d > 121*time.Minute {
		t.Errorf("after AWAY 2h: paused_until %s, want two hours from now", op.PausedUntil)
	}
	w := s.text(bayside, numA, "first")
	if m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]; m.To != sergioBackup {
		t.Errorf("while away: texted %s, want the backup %s", m.To, sergioBackup)
	}
	recs := s.waitAudit(w.Sid, "skipped")
	if r := only(recs, "skipped")[0]; r.RoutedToOperator != "sergio_main" || r.RoutingReason != "operator_paused" {
		t.Errorf("skip %s:%s, want sergio_main:operator_paused", r.RoutedToOperator, r.RoutingReason)
	}
	s.text(sergioBackup, numA, "OK")
	if got := s.text(sergioMain, numA, "back").TwiML(t); !strings.Contains(got, "Welcome back") {
		t.Errorf("BACK answered %q, want a welcome", got)
	}
	s.text(stranger, numA, "second")
	msgs := waitMessages(t, s.Fake, 2, 5*time.Second)
	if msgs[1].To != sergioMain {
		t.Errorf("after BACK: texted %s, want sergio_main %s", msgs[1].To, sergioMain)
	}
	var back struct {
		PausedUntil string `json:"paused_until"`
	}
	s.mustCall("GET", "/api/operators/sergio_main?tenant=a", adminToken, nil, 200, &back)
	if back.PausedUntil != "" {
		t.Errorf("after BACK: paused_until %q, want none", back.PausedUntil)
	}
}

// quietHours is a tenant's quiet_hours block from now+from to now+to in
// the tenant's zone, to the second.
func quietHours(t *testing.T, from, to time.Duration, mode string) string {
	return fmt.Sprintf("    quiet_hours: {from: \"%s\", to: \"%s\", mode: %s}\n"+
		"    after_hours_reply: We are closed; we will text you back in the morning.\n"+
		"    urgent_keywords: [urgent, flood]\n",
		local(t, from).Format(time.TimeOnly), local(t, to).Format(time.TimeOnly), mode)
}

// TestQuietHoursHoldSurvivesRestartAndReleases: a text in quiet hours is
// answered with the after-hours reply, held (through a restart of the dev
// server) and relayed when quiet hours end; an urgent text is not held.
func TestQuietHoursHoldSurvivesRestartAndReleases(t *testing.T) {
	t.Parallel()
	const quietLeft = 6 * time.Second
	end := time.Now().Add(quietLeft).Truncate(time.Second)
	data := scheduled(t, quietHours(t, -time.Hour, quietLeft, "hold"), nil)
	first := start(t, setup{Data: data})
	w := first.text(bayside, numA, "need a pickup tomorrow")
	if got := w.TwiML(t); !strings.Contains(got, "we will text you back in the morning") {
		t.Errorf("held text answered %q, want the after-hours reply", got)
	}
	urgent := first.text(stranger, numA, "FLOOD at the yard")
	if m := waitMessages(t, first.Fake, 1, 5*time.Second)[0]; m.To != sergioMain || !strings.Contains(m.Body, "FLOOD") {
		t.Errorf("urgent text: got %s %q, want it relayed to sergio_main at once", m.To, m.Body)
	}
	first.waitAudit(urgent.Sid, "quiet_hours_bypassed", "routed")
	if got := first.text(sergioMain, numA, "OK").TwiML(t); !strings.Contains(got, "Confirmed") {
		t.Errorf("ack of the urgent text answered %q", got)
	}
	first.waitAudit(w.Sid, "held_quiet_hours")
	if err := first.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	second := start(t, setup{Data: data, StateDir: first.StateDir, Addr: first.Addr, Fake: first.Fake})
	if time.Now().After(end) {
		t.Fatalf("the restart outlasted quiet hours; the test proves nothing")
	}
	msgs := waitMessages(t, first.Fake, 2, quietLeft+5*time.Second)
	at := time.Now()
	if m := msgs[1]; m.To != sergioMain || !strings.Contains(m.Body, "need a pickup tomorrow") {
		t.Errorf("released text: got %s %q, want the held text to sergio_main", m.To, m.Body)
	}
	if late := at.Sub(end); late < -500*time.Millisecond || late > 2*time.Second {
		t.Errorf("released %s after quiet hours ended, want within −0.5 s … +2 s", late.Round(time.Millisecond))
	}
	recs := second.waitAudit(w.Sid, "held_quiet_hours", "released", "routed")
	if got := events(recs); strings.Join(got, ",") != "held_quiet_hours,released,routed" {
		t.Errorf("audit of the held relay: %v, want held_quiet_hours, released, routed", got)
	}
}

// TestQuietHoursOnCallOnly: during on_call_only quiet hours only the
// on-call operator is texted; the others are skipped at once.
func TestQuietHoursOnCallOnly(t *testing.T) {
	t.Parallel()
	data := scheduled(t, quietHours(t, -time.Hour, time.Hour, "on_call_only"),
		map[string]string{"emergency": "        on_call: true\n"})
	s := start(t, setup{Data: data})
	w := s.text(bayside, numA, "need a pickup")
	if m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]; m.To != emergency {
		t.Errorf("texted %s, want the on-call operator %s", m.To, emergency)
	}
	var skips []string
	for _, r := range only(s.waitAudit(w.Sid, "skipped", "routed"), "skipped") {
		skips = append(skips, r.RoutedToOperator+":"+r.RoutingReason)
	}
	slices.Sort(skips)
	if want := "sergio_backup:operator_not_on_call,sergio_main:operator_not_on_call"; strings.Join(skips, ",") != want {
		t.Errorf("skips %v, want %s", skips, want)
	}
}

// TestRoundRobinOverThreeRelays: with chain_strategy round_robin, three
// relays start at three different operators; the fourth starts over.
func TestRoundRobinOverThreeRelays(t *testing.T) {
	t.Parallel()
	s := start(t, setup{Data: scheduled(t, "    chain_strategy: round_robin\n", nil)})
	var got []string
	for i, from := range []string{bayside, stranger, "+16195557001", "+16195557002"} {
		w := s.text(from, numA, fmt.Sprintf("relay %d", i+1))
		m := waitMessages(t, s.Fake, i+1, 5*time.Second)[i]
		got = append(got, m.To)
		if reply := s.text(m.To, numA, "OK").TwiML(t); !strings.Contains(reply, "Confirmed") {
			t.Errorf("relay %d: ack answered %q", i+1, reply)
		}
		s.waitAudit(w.Sid, "routed", "acked")
	}
	if want := []string{sergioMain, sergioBackup, emergency, sergioMain}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("first operator per relay: got %v, want %v", got, want)
	}
}

// TestBroadcastSecondOKIsTold: a broadcast texts two operators at once; the
// first OK wins, the other is texted who took it, and their own OK is
// answered with who has it.
func TestBroadcastSecondOKIsTold(t *testing.T) {
	t.Parallel()
	s := start(t, setup{Data: scheduled(t, "    chain_strategy: broadcast\n    broadcast_size: 2\n", nil)})
	sent := time.Now()
	w := s.text(bayside, numA, "need a pickup")
	msgs := waitMessages(t, s.Fake, 2, 5*time.Second)
	got := []string{msgs[0].To, msgs[1].To}
	slices.Sort(got)
	if want := []string{sergioMain, sergioBackup}; !slices.Equal(got, want) {
		t.Fatalf("texted %v, want %v at once", got, want)
	}
	if took := time.Since(sent); took > ackWindow {
		t.Errorf("both texted after %s, want at once", took)
	}
	if reply := s.text(sergioBackup, numA, "1 OK").TwiML(t); !strings.Contains(reply, "Confirmed") {
		t.Fatalf("first OK answered %q, want Confirmed", reply)
	}
	notice := waitMessages(t, s.Fake, 3, 5*time.Second)[2]
	if notice.To != sergioMain || !strings.Contains(notice.Body, "taken by Sergio (backup)") {
		t.Errorf("notice: got %s %q, want sergio_main told Sergio (backup) took it", notice.To, notice.Body)
	}
	if reply := s.text(sergioMain, numA, "OK").TwiML(t); !strings.Contains(reply, "already taken by Sergio (backup)") {
		t.Errorf("second OK answered %q, want who took it", reply)
	}
	recs := s.waitAudit(w.Sid, "acked")
	if acked := only(recs, "acked"); len(acked) != 1 || acked[0].RoutedToOperator != "sergio_backup" {
		t.Errorf("acked records %+v, want one by sergio_backup", acked)
	}
	noMoreMessages(t, s.Fake, 3, ackWindow+time.Second)
}

// TestAvailabilityRecheckedEachStep: an operator who goes AWAY while the
// relay waits on someone else is skipped when the relay reaches them.
func TestAvailabilityRecheckedEachStep(t *testing.T) {
	t.Parallel()
	s := start(t, setup{Data: scheduled(t, "", nil)})
	w := s.text(bayside, numA, "where is my dumpster")
	if m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]; m.To != sergioMain {
		t.Fatalf("first text to %s, want sergio_main", m.To)
	}
	if got := s.text(sergioBackup, numA, "away 1h").TwiML(t); !strings.Contains(got, "You are away") {
		t.Fatalf("AWAY answered %q", got)
	}
	if m := waitMessages(t, s.Fake, 2, ackWindow+5*time.Second)[1]; m.To != emergency {
		t.Errorf("after the window: texted %s, want emergency %s (the backup went away)", m.To, emergency)
	}
	recs := s.waitAudit(w.Sid, "skipped")
	if r := only(recs, "skipped")[0]; r.RoutedToOperator != "sergio_backup" || r.RoutingReason != "operator_paused" {
		t.Errorf("skip %s:%s, want sergio_backup:operator_paused", r.RoutedToOperator, r.RoutingReason)
	}
}

// TestNobodyAvailable: with every operator off, the fallback is texted at
// once and the customer gets the unavailable reply.
func TestNobodyAvailable(t *testing.T) {
	t.Parallel()
	other := day(local(t, 72*time.Hour))
	off := fmt.Sprintf("        shifts:\n          - {days: [%s], from: \"00:00\", to: \"24:00\"}\n", other)
	data := scheduled(t, "    unavailable_reply: Nobody can take your message right now; the office will call you.\n",
		map[string]string{"sergio_main": off, "sergio_backup": "        paused_until: 9999-12-31T00:00:00Z\n",
			"emergency": "        active: false\n"})
	s := start(t, setup{Data: data})
	sent := time.Now()
	w := s.text(bayside, numA, "anyone there?")
	if got := w.TwiML(t); !strings.Contains(got, "Nobody can take your message right now") {
		t.Errorf("answered %q, want the unavailable reply", got)
	}
	if m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]; m.To != officeA {
		t.Errorf("texted %s, want the fallback %s", m.To, officeA)
	}
	if took := time.Since(sent); took > ackWindow {
		t.Errorf("fallback after %s, want at once", took)
	}
	var skips []string
	for _, r := range only(s.waitAudit(w.Sid, "skipped", "fallback", "exhausted"), "skipped") {
		skips = append(skips, r.RoutedToOperator+":"+r.RoutingReason)
	}
	slices.Sort(skips)
	if want := "emergency:operator_inactive,sergio_backup:operator_paused,sergio_main:operator_off_shift"; strings.Join(skips, ",") != want {
		t.Errorf("skips %v, want %s", skips, want)
	}
}
