package loadtest

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// strict reports whether the assertions blocked on issue 13 are enforced.
// strict: the exactly-once invariants hold since issue 13; RELAY_CHAOS_STRICT=0 only logs them.
func strict() bool { return os.Getenv("RELAY_CHAOS_STRICT") != "0" }

// TestChaosShort is the short chaos run of `make test`: Twilio faults and a
// SIGKILL of the dev server mid-load, then the full reconciliation. Forged
// webhooks must never be accepted. The zero-loss invariants (lost, double,
// stuck, acks of relays never sent, missing audit, operators given less
// than the window) do not hold before issue 13 ("Exactly once") lands: they
// are logged and the test skipped when RELAY_CHAOS_STRICT=0.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos is not short")
	}
	o := ChaosDefaults()
	o.Count, o.Rate, o.Concurrency, o.Customers = 150, 50, 8, 40
	o.Window, o.Settle = time.Second, 30*time.Second
	o.Faults.HangRefused, o.Faults.Hang = 0, 11*time.Second
	if testing.Verbose() {
		o.Log = os.Stderr
	}
	res, err := Run(t.Context(), o)
	if err != nil {
		t.Fatalf("chaos run: %v", err)
	}
	t.Log(res.Detail("chaos"))
	t.Log(res.Line("chaos"))
	for _, l := range res.ExampleLines("chaos") {
		t.Log(l)
	}
	if res.ForgedAccepted != 0 {
		t.Errorf("forged_accepted = %d, want 0", res.ForgedAccepted)
	}
	if res.Kills != o.Kills+o.SettleKills {
		t.Errorf("kills = %d, want %d", res.Kills, o.Kills+o.SettleKills)
	}
	if res.Accepted == 0 || res.Faults.Total() == 0 {
		t.Errorf("nothing exercised: accepted=%d twilio faults=%d", res.Accepted, res.Faults.Total())
	}
	var blocked []string
	for _, c := range []struct {
		name string
		n    int
	}{
		{"lost", res.Lost}, {"double", res.Double}, {"stuck", res.Stuck}, {"ack_unsent", res.AckUnsent},
		{"audit_missing", res.AuditMissing}, {"short_window", res.ShortWindow}, {"ack_dropped", res.AckDropped},
		{"dropped", res.Dropped}, {"sent_after_ack", res.SentAfterAck},
	} {
		if c.n == 0 {
			continue
		}
		msg := fmt.Sprintf("%s = %d, want 0", c.name, c.n)
		if strict() {
			t.Error(msg)
		}
		blocked = append(blocked, msg)
	}
	if len(blocked) > 0 && !strict() {
		t.Skipf("blocked on issue 13: %v (RELAY_CHAOS_STRICT=0 only logs these)", blocked)
	}
}

// TestOptionsFromEnv checks the knobs: every bad variable is reported at once.
func TestOptionsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
		check   func(Options) bool
	}{
		{"defaults", nil, false, func(o Options) bool { return o.Count == Defaults().Count }},
		{"count and window", map[string]string{EnvCount: "10000", EnvWindow: "3s"}, false,
			func(o Options) bool { return o.Count == 10000 && o.Window == 3*time.Second }},
		{"fault shares", map[string]string{EnvFault500: "0.1", EnvFault429: "0.05"}, false,
			func(o Options) bool { return o.Faults.ServerError == 0.1 && o.Faults.Throttle == 0.05 }},
		{"not a number", map[string]string{EnvRate: "fast"}, true, nil},
		{"count too large", map[string]string{EnvCount: "1000000"}, true, nil},
		{"shares leave nothing", map[string]string{EnvDuplicate: "0.6", EnvForged: "0.5"}, true, nil},
		{"faults above one", map[string]string{EnvFault500: "0.7", EnvFault503: "0.7"}, true, nil},
		{"window too short", map[string]string{EnvWindow: "10ms"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := FromEnv(func(k string) string { return tt.env[k] }, Defaults())
			if (err != nil) != tt.wantErr {
				t.Fatalf("FromEnv: got err %v, want error %v", err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(o) {
				t.Errorf("FromEnv: got %+v", o)
			}
		})
	}
}
