package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

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
