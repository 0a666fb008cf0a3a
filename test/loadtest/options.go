// Package loadtest is the relay's proof harness: it starts the dev server
// binary on a fresh state directory with a generated two-tenant data file,
// plays Twilio with test/faketwilio, posts signed customer webhooks at a
// target rate (with concurrent duplicates and forgeries), answers a share
// of forwards with operator "OK" replies and a share with "undelivered"
// status callbacks, optionally injects Twilio faults and SIGKILLs the
// server mid-load, waits for every relay to settle, and reconciles three
// sources: what it sent, what the fake Twilio accepted, and the audit log
// (GET /api/sms/audit), plus the relays as the store left them.
// docs/reliability.md defines every counter of the summary line.
//
// It only ever talks to loopback addresses, and the request count and run
// time are bounded.
package loadtest

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

// Bounds on a run, so that a typo cannot turn into a flood.
const (
	MaxCount       = 100_000
	MaxConcurrency = 256
	MaxRate        = 5_000
)

// Options configure one run. Shares are fractions of Count.
type Options struct {
	// Count is the number of customer webhooks posted: unique texts,
	// duplicate copies and forgeries together.
	Count int
	// Rate is webhooks per second (0 means as fast as Concurrency allows).
	Rate float64
	// Concurrency bounds webhooks in flight.
	Concurrency int
	// DuplicateShare of Count are extra copies (same MessageSid, same
	// signature) of a valid text, posted concurrently with it.
	DuplicateShare float64
	// ForgedShare of Count carry a signature made with the wrong token.
	ForgedShare float64
	// AckShare of the unique valid texts get an operator "OK" reply to
	// their first forward, within half the window.
	AckShare float64
	// UndeliveredShare of the unique valid texts get an "undelivered"
	// status callback for their first forward.
	UndeliveredShare float64
	// LateAckShare of the unique valid texts get their "OK" within 150 ms
	// of the window's end, racing the escalation timer.
	LateAckShare float64
	// Window is every tenant's ack_timeout.
	Window time.Duration
	// Customers is the number of customers per tenant.
	Customers int
	// Kills is how many times the dev server is SIGKILLed mid-load and
	// restarted on the same state directory.
	Kills int
	// SettleKills is how many times it is SIGKILLed after the load, while
	// failovers are pending (half a window apart).
	SettleKills int
	// Faults is the fake Twilio's fault plan.
	Faults faketwilio.FaultPlan
	// Settle bounds the wait for every relay to settle after the load.
	Settle time.Duration
	// Devserver is a built dev server binary; "" builds ./lambdas/cmd/devserver.
	Devserver string
	// Seed makes the run's choices repeatable (0 picks one from the clock).
	Seed uint64
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// KeepDir keeps the work directory (data file, state, server log).
	KeepDir bool
}

// Defaults finish within a minute on two cores.
func Defaults() Options {
	return Options{
		Count: 1000, Rate: 60, Concurrency: 16,
		DuplicateShare: 0.2, ForgedShare: 0.05, AckShare: 0.5, UndeliveredShare: 0.05, LateAckShare: 0.05,
		Window: 2 * time.Second, Customers: 200, Settle: 40 * time.Second,
	}
}

// ChaosDefaults are Defaults with Twilio faults on a fifth of the sends
// and one SIGKILL of the dev server mid-load.
func ChaosDefaults() Options {
	o := Defaults()
	o.Count, o.Rate, o.Concurrency = 600, 40, 8
	o.Kills, o.SettleKills = 1, 1
	o.Settle = 75 * time.Second
	o.Faults = faketwilio.FaultPlan{Throttle: 0.04, ServerError: 0.04, Unavailable: 0.04,
		HangRefused: 0.01, HangAccepted: 0.02, Slow: 0.05, Latency: 800 * time.Millisecond, Hang: 11 * time.Second}
	return o
}

// Environment variables read by FromEnv (LOADTEST_* for loadtest and chaos alike).
const (
	EnvCount        = "LOADTEST_COUNT"
	EnvRate         = "LOADTEST_RATE"
	EnvConcurrency  = "LOADTEST_CONCURRENCY"
	EnvDuplicate    = "LOADTEST_DUP_SHARE"
	EnvForged       = "LOADTEST_FORGED_SHARE"
	EnvAck          = "LOADTEST_ACK_SHARE"
	EnvUndelivered  = "LOADTEST_UNDELIVERED_SHARE"
	EnvLateAck      = "LOADTEST_LATE_ACK_SHARE"
	EnvSettleKills  = "LOADTEST_SETTLE_KILLS"
	EnvWindow       = "LOADTEST_WINDOW"
	EnvCustomers    = "LOADTEST_CUSTOMERS"
	EnvKills        = "LOADTEST_KILLS"
	EnvSettle       = "LOADTEST_SETTLE"
	EnvSeed         = "LOADTEST_SEED"
	EnvDevserver    = "LOADTEST_DEVSERVER"
	EnvKeep         = "LOADTEST_KEEP"
	EnvFault429     = "CHAOS_429_SHARE"
	EnvFault500     = "CHAOS_500_SHARE"
	EnvFault503     = "CHAOS_503_SHARE"
	EnvFaultHang    = "CHAOS_HANG_SHARE"
	EnvFaultHangAcc = "CHAOS_HANG_ACCEPTED_SHARE"
	EnvFaultSlow    = "CHAOS_SLOW_SHARE"
	EnvFaultLatency = "CHAOS_LATENCY"
	EnvFaultHangFor = "CHAOS_HANG"
)

// FromEnv overrides d with the LOADTEST_* and CHAOS_* variables that are
// set, reporting every bad one at once.
func FromEnv(getenv func(string) string, d Options) (Options, error) {
	var bad []string
	num := func(name string, dst *float64) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s=%q is not a number", name, v))
				return
			}
			*dst = f
		}
	}
	integer := func(name string, dst *int) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s=%q is not an integer", name, v))
				return
			}
			*dst = n
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s=%q is not a duration like 2s", name, v))
				return
			}
			*dst = x
		}
	}
	o := d
	integer(EnvCount, &o.Count)
	num(EnvRate, &o.Rate)
	integer(EnvConcurrency, &o.Concurrency)
	num(EnvDuplicate, &o.DuplicateShare)
	num(EnvForged, &o.ForgedShare)
	num(EnvAck, &o.AckShare)
	num(EnvUndelivered, &o.UndeliveredShare)
	num(EnvLateAck, &o.LateAckShare)
	dur(EnvWindow, &o.Window)
	integer(EnvCustomers, &o.Customers)
	integer(EnvKills, &o.Kills)
	integer(EnvSettleKills, &o.SettleKills)
	dur(EnvSettle, &o.Settle)
	if v := strings.TrimSpace(getenv(EnvSeed)); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s=%q is not an unsigned integer", EnvSeed, v))
		}
		o.Seed = n
	}
	if v := strings.TrimSpace(getenv(EnvDevserver)); v != "" {
		o.Devserver = v
	}
	o.KeepDir = o.KeepDir || getenv(EnvKeep) == "1"
	num(EnvFault429, &o.Faults.Throttle)
	num(EnvFault500, &o.Faults.ServerError)
	num(EnvFault503, &o.Faults.Unavailable)
	num(EnvFaultHang, &o.Faults.HangRefused)
	num(EnvFaultHangAcc, &o.Faults.HangAccepted)
	num(EnvFaultSlow, &o.Faults.Slow)
	dur(EnvFaultLatency, &o.Faults.Latency)
	dur(EnvFaultHangFor, &o.Faults.Hang)
	if len(bad) > 0 {
		return o, errors.New(strings.Join(bad, "; "))
	}
	return o, o.Validate()
}

// Validate reports every out-of-range option at once.
func (o Options) Validate() error {
	var bad []string
	if o.Count < 1 || o.Count > MaxCount {
		bad = append(bad, fmt.Sprintf("count must be 1..%d", MaxCount))
	}
	if o.Rate < 0 || o.Rate > MaxRate {
		bad = append(bad, fmt.Sprintf("rate must be 0..%d per second", MaxRate))
	}
	if o.Concurrency < 1 || o.Concurrency > MaxConcurrency {
		bad = append(bad, fmt.Sprintf("concurrency must be 1..%d", MaxConcurrency))
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"duplicate share", o.DuplicateShare}, {"forged share", o.ForgedShare}, {"ack share", o.AckShare},
		{"undelivered share", o.UndeliveredShare}, {"late ack share", o.LateAckShare}} {
		if s.v < 0 || s.v > 1 {
			bad = append(bad, s.name+" must be between 0 and 1")
		}
	}
	if o.DuplicateShare+o.ForgedShare >= 1 {
		bad = append(bad, "duplicate and forged shares leave no unique valid text")
	}
	if o.AckShare+o.UndeliveredShare+o.LateAckShare > 1 {
		bad = append(bad, "ack, undelivered and late ack shares add up to more than 1")
	}
	if o.Window < 500*time.Millisecond || o.Window > 900*time.Second {
		bad = append(bad, "window must be 500ms..900s")
	}
	if o.Customers < 1 || o.Customers > 100_000 {
		bad = append(bad, "customers must be 1..100000")
	}
	if o.Kills < 0 || o.Kills > 10 || o.SettleKills < 0 || o.SettleKills > 10 {
		bad = append(bad, "kills and settle kills must be 0..10")
	}
	if o.Settle <= 0 || o.Settle > 30*time.Minute {
		bad = append(bad, "settle must be more than 0 and at most 30m")
	}
	if err := o.Faults.Validate(); err != nil {
		bad = append(bad, err.Error())
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}
