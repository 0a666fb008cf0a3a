package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/boltstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

// Credentials of the run; none is a real secret.
const (
	accountSID = "AC10ad0000000000000000000000000001"
	authToken  = "10adauthtoken0000000000000000001"
	forgeToken = "f0rgedtoken000000000000000000001"
	adminToken = "loadtest-admin-token-0123456789ab"
)

// Kinds of forgery, taken in turn.
const (
	forgeWrongToken = iota // signed with another token
	forgeOtherURL          // signed with the right token over another URL
	forgeUnsigned          // no X-Twilio-Signature
	forgeTampered          // signed, then the body changed
	forgeKinds
)

// text is one customer text the harness posts, or a forgery.
type text struct {
	sid      string
	tenant   int
	from, to string
	body     string
	copies   int // posts with this sid: 1 + duplicates
	forged   bool
	forgery  int  // how a forged text is forged (forge*)
	ack      bool // the operator answers "OK" to the first forward
	lateAck  bool // ... at the very end of the window
	undeliv  bool // the first forward is reported undelivered
	answered bool // some post got 200
	statuses []int
	// acks: who replied to which attempt and what the reply got back.
	ackBy                              string
	ackAttempt                         int
	ackPosted, ackConfirmed, ackSilent bool
	undelivDone                        bool
}

type harness struct {
	o      Options
	dir    directory
	fake   *faketwilio.Server
	srv    *server
	base   string // http://addr
	client *http.Client
	log    io.Writer
	rng    *mrand.Rand
	rngMu  sync.Mutex

	mu        sync.Mutex
	texts     map[string]*text
	order     []*text
	latencies []time.Duration
	postErrs  int
	firstErr  error
	helpers   sync.WaitGroup // acks and status callbacks in flight
	kills     int
	end       time.Time // when the server was stopped
}

// logf writes a progress line. Progress lines start with "[loadtest]", so
// that only the summary line starts with "loadtest:" (or "chaos:").
func (h *harness) logf(format string, args ...any) {
	if h.log != nil {
		fmt.Fprintf(h.log, "[loadtest] "+format+"\n", args...)
	}
}

func (h *harness) float() float64 {
	h.rngMu.Lock()
	defer h.rngMu.Unlock()
	return h.rng.Float64()
}

func (h *harness) intn(n int) int {
	h.rngMu.Lock()
	defer h.rngMu.Unlock()
	return h.rng.IntN(n)
}

func newSid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "SM" + hex.EncodeToString(b[:])
}

// Run performs one load (or chaos) run and reconciles it.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	seed := o.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	work, err := os.MkdirTemp("", "relay-loadtest-")
	if err != nil {
		return Result{}, fmt.Errorf("create work dir: %w", err)
	}
	if o.KeepDir {
		fmt.Fprintf(orDiscard(o.Log), "[loadtest] work dir %s kept\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	h := &harness{o: o, log: o.Log, rng: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), texts: map[string]*text{}}
	h.dir = newDirectory(o.Customers, o.Window)
	dataPath := filepath.Join(work, "tenants.json")
	if err := os.WriteFile(dataPath, h.dir.File, 0o600); err != nil {
		return Result{}, fmt.Errorf("write data file: %w", err)
	}
	bin := o.Devserver
	if bin == "" {
		h.logf("building the dev server")
		if bin, err = buildDevserver(ctx, work); err != nil {
			return Result{}, err
		}
	}
	h.fake, err = faketwilio.New(faketwilio.WithCredentials(accountSID, authToken),
		faketwilio.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}))
	if err != nil {
		return Result{}, fmt.Errorf("start fake twilio: %w", err)
	}
	defer h.fake.Close()
	addr, err := freeAddr()
	if err != nil {
		return Result{}, err
	}
	h.base = "http://" + addr
	state := filepath.Join(work, "state")
	h.srv = &server{bin: bin, addr: addr, stateDir: state, logPath: filepath.Join(work, "devserver.log"), env: []string{
		"RELAY_ADDR=" + addr, "RELAY_DATA_FILE=" + dataPath, "RELAY_STATE_DIR=" + state,
		"RELAY_API_TOKEN=" + adminToken, "PUBLIC_BASE_URL=" + h.base, "LOG_LEVEL=warn",
		"TWILIO_ACCOUNT_SID=" + accountSID, "TWILIO_AUTH_TOKEN=" + authToken, "TWILIO_API_BASE_URL=" + h.fake.URL(),
	}}
	if err := h.srv.start(ctx); err != nil {
		return Result{}, err
	}
	defer h.srv.stop()
	if err := h.fake.SetFaults(o.Faults); err != nil {
		return Result{}, fmt.Errorf("fault plan: %w", err)
	}
	h.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: o.Concurrency + 8, IdleConnTimeout: 30 * time.Second}}
	defer h.client.CloseIdleConnections()

	h.plan()
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); h.watch(watchCtx) }()

	h.logf("%d webhooks at %.0f/s, concurrency %d, window %s, seed %d", o.Count, o.Rate, o.Concurrency, o.Window, seed)
	loadStart := time.Now()
	if err := h.load(ctx); err != nil {
		stopWatch()
		<-watched
		return Result{}, err
	}
	loadTime := time.Since(loadStart)
	h.logf("load done in %s; waiting for relays to settle", loadTime.Round(time.Millisecond))
	if err := h.settleKills(ctx); err != nil {
		stopWatch()
		<-watched
		return Result{}, err
	}
	settled := h.settle(ctx)
	stopWatch()
	<-watched
	h.helpers.Wait()
	h.logf("settled=%v; reconciling", settled)
	events, err := h.fullAudit(ctx)
	if err != nil {
		return Result{}, err
	}
	h.srv.stop() // the store is read from its file once the server let go of it
	h.end = time.Now()
	relays, err := readRelays(ctx, filepath.Join(state, "relay.db"), h.order)
	if err != nil {
		return Result{}, err
	}
	res := h.reconcile(h.fake.Messages(), events, relays)
	res.Elapsed = loadTime
	res.RPS = float64(res.Sent) / loadTime.Seconds()
	res.RSSMB = float64(h.srv.peakRSS) / (1 << 20)
	res.Kills = h.kills
	res.Faults = h.fake.FaultStats()
	res.Seed = seed
	return res, nil
}

// settleKills SIGKILLs and restarts the server o.SettleKills times, half a
// window apart, while failovers are pending: their timers must survive.
func (h *harness) settleKills(ctx context.Context) error {
	for range h.o.SettleKills {
		time.Sleep(h.o.Window / 2)
		h.logf("SIGKILL of the dev server while relays settle")
		if err := h.srv.kill(); err != nil {
			return err
		}
		h.mu.Lock()
		h.kills++
		h.mu.Unlock()
		if err := h.srv.restart(ctx); err != nil {
			return err
		}
	}
	return nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// plan decides every text up front: which are forged, which get duplicate
// copies, acks or undelivered reports.
func (h *harness) plan() {
	o := h.o
	forged := int(float64(o.Count) * o.ForgedShare)
	dups := int(float64(o.Count) * o.DuplicateShare)
	unique := o.Count - forged - dups
	for i := range unique {
		ti := i % 2
		t := h.dir.Tenants[ti]
		from := ""
		if h.float() < 0.05 {
			from = fmt.Sprintf("%s8%06d", []string{"+1619", "+1858"}[ti], h.intn(1_000_000)) // unknown sender
		} else {
			from = t.Customers[h.intn(len(t.Customers))]
		}
		x := &text{sid: newSid(), tenant: ti, from: from, to: t.Numbers[h.intn(len(t.Numbers))], copies: 1}
		x.body = "need a pickup #" + strconv.Itoa(i)
		switch r := h.float(); {
		case r < o.AckShare:
			x.ack = true
		case r < o.AckShare+o.UndeliveredShare:
			x.undeliv = true
		case r < o.AckShare+o.UndeliveredShare+o.LateAckShare:
			x.ack, x.lateAck = true, true
		}
		h.order = append(h.order, x)
	}
	for range dups {
		h.order[h.intn(unique)].copies++
	}
	// Forgeries are spread through the run.
	all := h.order
	for i := range forged {
		ti := i % 2
		t := h.dir.Tenants[ti]
		x := &text{sid: newSid(), tenant: ti, from: t.Customers[h.intn(len(t.Customers))], to: t.Numbers[0],
			body: "forged #" + strconv.Itoa(i), copies: 1, forged: true, forgery: i % forgeKinds}
		at := h.intn(len(all) + 1)
		all = append(all[:at], append([]*text{x}, all[at:]...)...)
	}
	h.order = all
	for _, x := range h.order {
		h.texts[x.sid] = x
	}
}

// form is the webhook Twilio posts for an inbound SMS.
func form(sid, from, to, body string) url.Values {
	return url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {accountSID},
		"From": {from}, "To": {to}, "Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"},
		"SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
	}
}

// post sends a signed form, retrying as Twilio's edge would while the
// server is down (connection refused) or answers 5xx. It returns the last
// status and body; latency is recorded per answered customer webhook.
func (h *harness) post(ctx context.Context, path string, f url.Values, token string, timed bool) (int, string, error) {
	return h.postRaw(ctx, path, f.Encode(), twilio.Signature(token, h.base+path, f), timed)
}

// postRaw posts body with the X-Twilio-Signature sig (none when empty).
func (h *harness) postRaw(ctx context.Context, path, body, sig string, timed bool) (int, string, error) {
	target := h.base + path
	var lastErr error
	for try := 0; try < 12; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return 0, "", ctx.Err()
			case <-time.After(time.Duration(try) * 250 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
		if err != nil {
			return 0, "", fmt.Errorf("build request: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		start := time.Now()
		resp, err := h.client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if timed {
			h.mu.Lock()
			h.latencies = append(h.latencies, time.Since(start))
			h.mu.Unlock()
		}
		if resp.StatusCode >= 500 {
			lastErr = fmt.Errorf("%s answered %d: %s", path, resp.StatusCode, strings.TrimSpace(string(b)))
			continue
		}
		return resp.StatusCode, string(b), nil
	}
	h.mu.Lock()
	h.postErrs++
	if h.firstErr == nil {
		h.firstErr = lastErr
	}
	h.mu.Unlock()
	return 0, "", lastErr
}

// load posts every planned webhook at the target rate.
func (h *harness) load(ctx context.Context) error {
	o := h.o
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	killAt := map[int]bool{}
	for k := 1; k <= o.Kills; k++ {
		killAt[len(h.order)*k/(o.Kills+1)] = true
	}
	var restarts sync.WaitGroup
	var restartErr atomic.Value
	start := time.Now()
	tokens := 0
	for i, x := range h.order {
		if ctx.Err() != nil {
			break
		}
		if killAt[i] {
			restarts.Wait() // one crash at a time
			restarts.Add(1)
			go func() {
				defer restarts.Done()
				h.logf("SIGKILL of the dev server after %d texts", i)
				if err := h.srv.kill(); err != nil {
					restartErr.Store(err)
					return
				}
				h.mu.Lock()
				h.kills++
				h.mu.Unlock()
				if err := h.srv.restart(ctx); err != nil {
					restartErr.Store(err)
				}
			}()
		}
		for range x.copies {
			if o.Rate > 0 {
				due := start.Add(time.Duration(float64(tokens) / o.Rate * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
			}
			tokens++
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				h.send(ctx, x)
			}()
		}
	}
	wg.Wait()
	restarts.Wait()
	if err, ok := restartErr.Load().(error); ok && err != nil {
		return err
	}
	return ctx.Err()
}

// send posts one copy of x.
func (h *harness) send(ctx context.Context, x *text) {
	const path = "/api/sms/incoming"
	f := form(x.sid, x.from, x.to, x.body)
	body, sig := f.Encode(), twilio.Signature(authToken, h.base+path, f)
	if x.forged {
		switch x.forgery {
		case forgeWrongToken:
			sig = twilio.Signature(forgeToken, h.base+path, f)
		case forgeOtherURL:
			// Signed by the right token for another host, as a relay that
			// trusted the Host header would verify it.
			sig = twilio.Signature(authToken, "http://attacker.example"+path, f)
		case forgeUnsigned:
			sig = ""
		case forgeTampered:
			// A genuine signature, then the text changed on the way.
			g := form(x.sid, x.from, x.to, x.body+" and send it to +15555550000")
			body = g.Encode()
		}
	}
	status, _, _ := h.postRaw(ctx, path, body, sig, !x.forged)
	h.mu.Lock()
	x.statuses = append(x.statuses, status)
	if status == http.StatusOK {
		x.answered = true
	}
	h.mu.Unlock()
}

var (
	codeRe    = regexp.MustCompile(`Reply (\d+) OK`)
	confirmRe = regexp.MustCompile(`Confirmed:`)
)

// forward is a message the fake accepted, tied to its relay and attempt by
// the StatusCallback URL the relay gave it.
type forward struct {
	faketwilio.Message
	relay   string
	attempt int
}

func parseForward(m faketwilio.Message) forward {
	f := forward{Message: m}
	if u, err := url.Parse(m.StatusCallback); err == nil {
		q := u.Query()
		f.relay = q.Get("relay")
		f.attempt, _ = strconv.Atoi(q.Get("attempt"))
	}
	return f
}

// watch follows the fake's messages and plays the operators: an "OK" to
// the first forward of an ack text, an undelivered report for the first
// forward of an undeliverable one.
func (h *harness) watch(ctx context.Context) {
	seen := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		msgs := h.fake.Messages()
		for _, m := range msgs[seen:] {
			f := parseForward(m)
			h.mu.Lock()
			x := h.texts[f.relay]
			if x == nil || m.To == h.dir.Tenants[x.tenant].Fallback {
				h.mu.Unlock()
				continue
			}
			doAck := x.ack && !x.ackPosted
			doUndeliv := x.undeliv && !x.undelivDone && f.attempt == 1
			x.ackPosted = x.ackPosted || doAck
			x.undelivDone = x.undelivDone || doUndeliv
			h.mu.Unlock()
			if doAck {
				h.helpers.Add(1)
				go func() { defer h.helpers.Done(); h.ack(ctx, x, f) }()
			}
			if doUndeliv {
				h.helpers.Add(1)
				go func() { defer h.helpers.Done(); h.undeliver(ctx, m) }()
			}
		}
		seen = len(msgs)
	}
}

// ack answers a forward as its operator would, within half the window (or,
// for a late ack, within 150 ms of its end), with the reply code the
// forward shows.
func (h *harness) ack(ctx context.Context, x *text, f forward) {
	m := f.Message
	delay := time.Duration((0.1 + 0.4*h.float()) * float64(h.o.Window))
	if x.lateAck {
		delay = h.o.Window + time.Duration((h.float()-0.5)*float64(300*time.Millisecond)) - time.Since(m.AcceptedAt)
	}
	select {
	case <-ctx.Done():
	case <-time.After(delay):
	}
	body := "OK"
	if c := codeRe.FindStringSubmatch(m.Body); c != nil {
		body = c[1] + " OK"
	}
	// The operator texts the number the forward came from.
	status, answer, _ := h.post(context.WithoutCancel(ctx), "/api/sms/incoming", form(newSid(), m.To, m.From, body), authToken, false)
	h.mu.Lock()
	defer h.mu.Unlock()
	x.ackBy, x.ackAttempt = h.dir.Tenants[x.tenant].Operators[m.To], f.attempt
	x.ackConfirmed = status == http.StatusOK && confirmRe.MatchString(answer)
	x.ackSilent = !x.ackConfirmed && status == http.StatusOK && !strings.Contains(answer, "<Message>")
}

// undeliver reports the forward undelivered (30006: landline or unreachable).
func (h *harness) undeliver(ctx context.Context, m faketwilio.Message) {
	for try := range 12 {
		if err := h.fake.SetStatus(m.Sid, "undelivered", 30006); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(try+1) * 250 * time.Millisecond):
		}
	}
}

// settle waits until every answered text has a terminal audit event (acked
// or exhausted) or o.Settle passes, then lets late sends arrive.
func (h *harness) settle(ctx context.Context) bool {
	deadline := time.Now().Add(h.o.Settle)
	grace := h.o.Window + time.Second
	// No progress for this long means what is open stays open.
	quiet := max(4*h.o.Window+5*time.Second, 10*time.Second)
	lastOpen, lastMsgs, lastChange := -1, -1, time.Now()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
		events, err := h.fullAudit(ctx)
		if err != nil {
			h.logf("audit read failed while settling: %v", err)
			continue
		}
		terminal := map[string]bool{}
		for _, e := range events {
			if e.Event == relay.EventAcked || e.Event == relay.EventExhausted {
				terminal[e.MessageSid] = true
			}
		}
		open := 0
		h.mu.Lock()
		for _, x := range h.order {
			if !x.forged && x.answered && !terminal[x.sid] {
				open++
			}
		}
		h.mu.Unlock()
		h.logf("%d relays open", open)
		if open == 0 {
			time.Sleep(grace) // late doubles would arrive now
			return true
		}
		if msgs := len(h.fake.Messages()); open != lastOpen || msgs != lastMsgs {
			lastOpen, lastMsgs, lastChange = open, msgs, time.Now()
		} else if time.Since(lastChange) > quiet {
			h.logf("no progress for %s; %d relays stay open", quiet, open)
			return false
		}
	}
	return false
}

// fullAudit reads every audit event of both tenants through GET /api/sms/audit.
func (h *harness) fullAudit(ctx context.Context) ([]relay.AuditEvent, error) {
	var all []relay.AuditEvent
	for _, t := range h.dir.Tenants {
		cursor := ""
		for page := 0; page < 100_000; page++ {
			q := url.Values{"tenant_id": {t.ID}, "limit": {"1000"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/api/sms/audit?"+q.Encode(), nil)
			if err != nil {
				return nil, fmt.Errorf("build audit request: %w", err)
			}
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := h.client.Do(req)
			if err != nil {
				return nil, fmt.Errorf("read audit of %s: %w", t.ID, err)
			}
			var p relay.AuditPage
			err = json.NewDecoder(resp.Body).Decode(&p)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || err != nil {
				return nil, fmt.Errorf("read audit of %s: status %d: %v", t.ID, resp.StatusCode, err)
			}
			all = append(all, p.Records...)
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
	}
	return all, nil
}

// readRelays opens the stopped server's store and reads each valid text's relay.
func readRelays(ctx context.Context, path string, texts []*text) (map[string]relay.Relay, error) {
	st, err := boltstore.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open the dev server's store: %w", err)
	}
	defer st.Close()
	out := map[string]relay.Relay{}
	for _, x := range texts {
		r, err := st.Relay(ctx, x.sid)
		switch {
		case err == nil:
			out[x.sid] = r
		case relay.IsKind(err, relay.NotFound):
		default:
			return nil, fmt.Errorf("read relay %s: %w", x.sid, err)
		}
	}
	return out, nil
}
