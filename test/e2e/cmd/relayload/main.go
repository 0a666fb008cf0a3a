// Command relayload posts signed inbound-SMS webhooks to a dev server on
// this machine and reports throughput and latency, for docs/benchmarks.md:
//
//	relayload -url http://127.0.0.1:8080/api/sms/incoming -token <auth or sandbox token> -n 2000 -c 16
//
// Each request is a new text (a new MessageSid) from a number made of
// -from-prefix and a counter, to -to, signed as Twilio signs webhooks
// (https://www.twilio.com/docs/usage/webhooks/webhooks-security). It only
// talks to loopback addresses, and both the request count and the run time
// are bounded.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

// Bounds on a run, so that a typo cannot turn into a flood.
const (
	maxRequests    = 100_000
	maxConcurrency = 256
	maxDuration    = 10 * time.Minute
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "relayload:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	url        string
	token      string
	state      string
	n, c       int
	to         string
	fromPrefix string
	body       string
	duration   time.Duration
	timeout    time.Duration
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("relayload", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080/api/sms/incoming", "webhook URL of a dev server on this machine (the URL it verifies signatures against)")
	fs.StringVar(&o.token, "token", "", "auth token that signs: TWILIO_AUTH_TOKEN or the sandbox token (default: from -state's dev.json)")
	fs.StringVar(&o.state, "state", ".state", "dev server state dir whose dev.json names the sandbox token, when -token is empty")
	fs.IntVar(&o.n, "n", 1000, fmt.Sprintf("number of webhooks to post (at most %d)", maxRequests))
	fs.IntVar(&o.c, "c", 8, fmt.Sprintf("concurrent requests (at most %d)", maxConcurrency))
	fs.StringVar(&o.to, "to", "+16195550100", "tenant number texted (the webhook's To)")
	fs.StringVar(&o.fromPrefix, "from-prefix", "+1619557", "senders are this prefix plus a counter, padded to an 11-digit number")
	fs.StringVar(&o.body, "body", "load test: need a pickup", "message text")
	fs.DurationVar(&o.duration, "duration", time.Minute, fmt.Sprintf("stop after this long even if -n is not reached (at most %s)", maxDuration))
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of one request")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var bad []string
	if err := loopbackOnly(o.url); err != nil {
		bad = append(bad, err.Error())
	}
	if o.n < 1 || o.n > maxRequests {
		bad = append(bad, fmt.Sprintf("-n must be 1..%d", maxRequests))
	}
	if o.c < 1 || o.c > maxConcurrency {
		bad = append(bad, fmt.Sprintf("-c must be 1..%d", maxConcurrency))
	}
	if o.duration <= 0 || o.duration > maxDuration {
		bad = append(bad, fmt.Sprintf("-duration must be more than 0 and at most %s", maxDuration))
	}
	if o.timeout <= 0 {
		bad = append(bad, "-timeout must be positive")
	}
	if !e164(o.to) {
		bad = append(bad, "-to must be an E.164 number like +16195550100")
	}
	if _, err := fromNumber(o.fromPrefix, 0); err != nil {
		bad = append(bad, err.Error())
	}
	if len(bad) > 0 {
		return o, errors.New(strings.Join(bad, "; "))
	}
	return o, nil
}

// loopbackOnly refuses any URL that does not name this machine: the tool
// is for local benchmarks, never for someone else's server.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q is not an http(s) URL", raw)
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url %q is not on a loopback address (127.0.0.1, ::1 or localhost); relayload only loads local servers", raw)
}

func e164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, r := range s[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// fromNumber is the i-th sender: the prefix and i, zero-padded to 11
// digits in all, wrapping when the counter outgrows its digits.
func fromNumber(prefix string, i int) (string, error) {
	digits := strings.TrimPrefix(prefix, "+")
	if !strings.HasPrefix(prefix, "+") || digits == "" || strings.Trim(digits, "0123456789") != "" || digits[0] == '0' {
		return "", fmt.Errorf("-from-prefix %q must be + and digits", prefix)
	}
	width := 11 - len(digits)
	if width < 1 {
		return "", fmt.Errorf("-from-prefix %q leaves no digit for the counter (at most 10 digits)", prefix)
	}
	mod := int(math.Pow10(width))
	return fmt.Sprintf("%s%0*d", prefix, width, i%mod), nil
}

// sandboxToken reads the sandbox token a dev server wrote to <state>/dev.json.
func sandboxToken(state string) (string, error) {
	b, err := os.ReadFile(filepath.Join(state, "dev.json"))
	if err != nil {
		return "", fmt.Errorf("no -token and no dev server state: %w", err)
	}
	var info struct {
		SandboxAuth string `json:"sandbox_auth_token"`
	}
	if err := json.Unmarshal(b, &info); err != nil || info.SandboxAuth == "" {
		return "", fmt.Errorf("no -token and %s names no sandbox token", filepath.Join(state, "dev.json"))
	}
	return info.SandboxAuth, nil
}

// result is one request's outcome.
type result struct {
	status  int
	latency time.Duration
	err     error
}

// report sums up a run.
type report struct {
	sent, ok  int
	statuses  map[int]int
	errors    int
	firstErr  error
	elapsed   time.Duration
	latencies []time.Duration // of answered requests, sorted
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	if o.token == "" {
		if o.token, err = sandboxToken(o.state); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	rep := load(ctx, o)
	writeReport(out, o, rep)
	if rep.ok == 0 {
		return fmt.Errorf("no request succeeded (first error: %v)", rep.firstErr)
	}
	return nil
}

// load posts o.n webhooks from o.c workers until done or ctx ends.
func load(ctx context.Context, o options) report {
	client := &http.Client{Timeout: o.timeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: o.c, MaxConnsPerHost: o.c, IdleConnTimeout: 30 * time.Second}}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	results := make(chan result, o.c)
	var wg sync.WaitGroup
	start := time.Now()
	for range o.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= o.n {
					return
				}
				results <- post(ctx, client, o, i)
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	rep := report{statuses: map[int]int{}}
	for r := range results {
		rep.sent++
		switch {
		case r.err != nil:
			rep.errors++
			if rep.firstErr == nil {
				rep.firstErr = r.err
			}
			continue
		case r.status >= 200 && r.status < 300:
			rep.ok++
		}
		rep.statuses[r.status]++
		rep.latencies = append(rep.latencies, r.latency)
	}
	rep.elapsed = time.Since(start)
	sort.Slice(rep.latencies, func(i, j int) bool { return rep.latencies[i] < rep.latencies[j] })
	return rep
}

// post sends the i-th webhook, signed, and times it until the answer's body
// is read.
func post(ctx context.Context, client *http.Client, o options, i int) result {
	from, _ := fromNumber(o.fromPrefix, i)
	sid := newSid()
	form := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {"AC" + strings.Repeat("0", 32)},
		"From": {from}, "To": {o.to}, "Body": {o.body}, "NumMedia": {"0"}, "NumSegments": {"1"},
		"SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, strings.NewReader(form.Encode()))
	if err != nil {
		return result{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(o.token, o.url, form))
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return result{err: err}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return result{status: resp.StatusCode, latency: time.Since(start), err: err}
}

func newSid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "SM" + hex.EncodeToString(b[:])
}

// percentile is the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func writeReport(w io.Writer, o options, r report) {
	fmt.Fprintf(w, "relayload: %d webhooks to %s (To %s), concurrency %d\n", o.n, o.url, o.to, o.c)
	fmt.Fprintf(w, "  sent        %d in %s\n", r.sent, r.elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  ok (2xx)    %d\n", r.ok)
	codes := make([]int, 0, len(r.statuses))
	for c := range r.statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	for _, c := range codes {
		if c < 200 || c > 299 {
			fmt.Fprintf(w, "  status %d  %d\n", c, r.statuses[c])
		}
	}
	if r.errors > 0 {
		fmt.Fprintf(w, "  errors      %d (first: %v)\n", r.errors, r.firstErr)
	}
	if r.elapsed > 0 {
		fmt.Fprintf(w, "  throughput  %.1f requests/s\n", float64(r.sent)/r.elapsed.Seconds())
	}
	if len(r.latencies) > 0 {
		ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
		fmt.Fprintf(w, "  latency     p50 %s  p95 %s  p99 %s  max %s\n", ms(percentile(r.latencies, 50)),
			ms(percentile(r.latencies, 95)), ms(percentile(r.latencies, 99)), ms(r.latencies[len(r.latencies)-1]))
	}
}
