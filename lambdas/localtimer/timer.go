// Package localtimer is the dev server's embedded relay.Timer: pending ticks
// are kept in a JSON file under the state directory, so a restart loses no
// pending failover, and one goroutine fires each tick at its due time from
// a min-heap and a single time.Timer, without polling.
package localtimer

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// FileName is the file under the state directory that holds pending ticks.
const FileName = "timers.jsonl"

// Retry defaults: a failing tick is tried until it succeeds (DefaultAttempts
// 0: a relay's tick is never dropped, or the relay would be stuck),
// waiting DefaultBackoff, then twice as long each time.
const (
	DefaultAttempts = 0
	DefaultBackoff  = 500 * time.Millisecond
	// DefaultWorkers ticks are handled at once, so slow sends (a hung
	// Twilio request waits up to 10 s) do not make every other relay's
	// failover late: under a 10,000-text load 16 workers let failovers fall
	// 18 s behind (docs/benchmarks.md).
	DefaultWorkers = 32
)

// Timer is a relay.Timer that persists pending ticks under a directory and
// fires them while Run is running. It is safe for concurrent use.
type Timer struct {
	path     string
	now      func() time.Time
	logger   *slog.Logger
	attempts int
	backoff  time.Duration
	workers  int

	mu      sync.Mutex
	journal *os.File          // append-only: one line per scheduled or settled tick
	lines   int               // lines in the journal, to decide when to compact
	pending map[string]*entry // by tick identity; what the journal holds
	queue   entryHeap
	seq     uint64
	running bool
	closed  bool
	wake    chan struct{} // a Schedule or Close wants Run to look again
	stopped chan struct{} // closed when the running Run returns
}

var _ relay.Timer = (*Timer)(nil)

// entry is a pending tick and when it should next fire.
type entry struct {
	id    string
	tick  relay.Tick
	at    time.Time
	tries int
	seq   uint64 // keeps ticks due at the same instant in scheduling order
	index int    // position in the heap, -1 while firing
}

// Option configures a Timer.
type Option func(*Timer)

// WithClock sets the clock due times are compared with.
func WithClock(now func() time.Time) Option { return func(t *Timer) { t.now = now } }

// WithLogger sets where failed and dropped ticks are reported.
func WithLogger(logger *slog.Logger) Option { return func(t *Timer) { t.logger = logger } }

// WithRetry sets how many times in all a failing tick is tried and the
// first wait between tries, which doubles after each failure.
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(t *Timer) {
		if attempts > 0 {
			t.attempts = attempts
		}
		if backoff > 0 {
			t.backoff = backoff
		}
	}
}

// line is one journal record: a scheduled tick (Add) or the identity of a
// settled one (Done). Appending a line is O(1), so scheduling stays cheap
// however many ticks are pending; the journal is compacted when mostly stale.
type line struct {
	Add  *relay.Tick `json:"add,omitempty"`
	Done string      `json:"done,omitempty"`
}

// Open loads the pending ticks kept under dir, creating dir if needed.
// Ticks that came due while nothing ran fire as soon as Run starts. A torn
// last line (a crash mid-append) is ignored; any other bad line is an error.
func Open(dir string, opts ...Option) (*Timer, error) {
	t := &Timer{
		path: filepath.Join(dir, FileName), now: time.Now, logger: slog.Default(),
		attempts: DefaultAttempts, backoff: DefaultBackoff, workers: DefaultWorkers,
		pending: map[string]*entry{}, wake: make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(t)
	}
	storageErr := func(what string, err error) error {
		return fmt.Errorf("%s %s: %w", what, t.path, relay.Wrap(relay.Internal, err, "timer storage error"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, storageErr("open timers in", err)
	}
	b, err := os.ReadFile(t.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, storageErr("read", err)
	}
	rest := string(b)
	for rest != "" {
		ln, tail, complete := strings.Cut(rest, "\n")
		rest = tail
		if strings.TrimSpace(ln) == "" {
			continue
		}
		var l line
		if err := json.Unmarshal([]byte(ln), &l); err != nil {
			if !complete {
				t.logger.Warn("ignoring a torn last line in the timer journal", "path", t.path)
				break
			}
			return nil, storageErr("decode", err)
		}
		switch {
		case l.Add != nil:
			t.add(*l.Add)
		case l.Done != "":
			if e, ok := t.pending[l.Done]; ok {
				delete(t.pending, l.Done)
				heap.Remove(&t.queue, e.index)
			}
		}
	}
	if err := t.compact(); err != nil {
		return nil, storageErr("compact", err)
	}
	return t, nil
}

// identity names a tick; scheduling the same tick twice keeps one.
func identity(tk relay.Tick) string {
	return string(tk.Kind) + "\x00" + tk.TenantID + "\x00" + tk.RelayID + "\x00" +
		strconv.Itoa(tk.Attempt) + "\x00" + strconv.FormatInt(tk.Due.UnixNano(), 10)
}

// add queues tk unless it is pending already; t.mu must be held.
func (t *Timer) add(tk relay.Tick) (*entry, bool) {
	id := identity(tk)
	if _, ok := t.pending[id]; ok {
		return nil, false
	}
	t.seq++
	e := &entry{id: id, tick: tk, at: tk.Due, seq: t.seq}
	t.pending[id] = e
	heap.Push(&t.queue, e)
	return e, true
}

// Schedule stores tk and arms it. The tick is on disk before Schedule
// returns, so it fires even if the process restarts first.
func (t *Timer) Schedule(ctx context.Context, tk relay.Tick) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return relay.Errorf(relay.Internal, "timer is closed")
	}
	e, added := t.add(tk)
	if !added {
		return nil
	}
	if err := t.append(line{Add: &tk}); err != nil {
		delete(t.pending, e.id)
		heap.Remove(&t.queue, e.index)
		return fmt.Errorf("schedule %s tick for relay %s: %w", tk.Kind, tk.RelayID, err)
	}
	t.signal()
	return nil
}

// signal wakes Run without blocking; one pending wake-up is enough.
func (t *Timer) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// append writes one journal line and syncs it; t.mu must be held.
func (t *Timer) append(l line) error {
	if t.journal == nil {
		return relay.Errorf(relay.Internal, "timer is closed")
	}
	b, err := json.Marshal(l)
	if err != nil {
		return relay.Wrap(relay.Internal, err, "timer storage error")
	}
	if _, err := t.journal.Write(append(b, '\n')); err != nil {
		return relay.Wrap(relay.Internal, err, "timer storage error")
	}
	if err := t.journal.Sync(); err != nil {
		return relay.Wrap(relay.Internal, err, "timer storage error")
	}
	t.lines++
	if t.lines > 2*len(t.pending)+compactSlack {
		if err := t.compact(); err != nil {
			t.logger.Error("compacting the timer journal failed", "err", err)
		}
	}
	return nil
}

// compactSlack is how many stale journal lines are tolerated before a rewrite.
const compactSlack = 1000

// compact rewrites the journal with the pending ticks only, atomically, and
// reopens it for appending; t.mu must be held (or t not yet shared).
func (t *Timer) compact() error {
	var b []byte
	for _, e := range t.sorted() {
		tk := e.tick
		lb, err := json.Marshal(line{Add: &tk})
		if err != nil {
			return err
		}
		b = append(append(b, lb...), '\n')
	}
	if err := writeAtomic(t.path, b); err != nil {
		return err
	}
	f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if t.journal != nil {
		_ = t.journal.Close()
	}
	t.journal, t.lines = f, len(t.pending)
	return nil
}

// sorted returns the pending entries by due time, then scheduling order.
func (t *Timer) sorted() []*entry {
	es := make([]*entry, 0, len(t.pending))
	for _, e := range t.pending {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool {
		if !es[i].tick.Due.Equal(es[j].tick.Due) {
			return es[i].tick.Due.Before(es[j].tick.Due)
		}
		return es[i].seq < es[j].seq
	})
	return es
}

func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// Pending returns the ticks not yet handled, by due time, including one
// whose handler is running.
func (t *Timer) Pending() []relay.Tick {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]relay.Tick, 0, len(t.pending))
	for _, e := range t.sorted() {
		out = append(out, e.tick)
	}
	return out
}

// Run fires ticks as they come due until ctx is done or the Timer is
// closed, then returns nil. Ticks start in due order, up to DefaultWorkers
// at once, and Run waits for those running before it returns; a tick
// is removed once handle succeeds. A failing tick is tried again after a
// backoff and dropped, with an error logged, after the last attempt. Only
// one Run may be active.
func (t *Timer) Run(ctx context.Context, handle func(ctx context.Context, t relay.Tick) error) error {
	t.mu.Lock()
	switch {
	case t.closed:
		t.mu.Unlock()
		return relay.Errorf(relay.Internal, "timer is closed")
	case t.running:
		t.mu.Unlock()
		return relay.Errorf(relay.Conflict, "timer is already running")
	}
	t.running = true
	t.stopped = make(chan struct{})
	stopped := t.stopped
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.running = false
		t.mu.Unlock()
		close(stopped)
	}()

	var inflight sync.WaitGroup
	defer inflight.Wait() // runs before the deferred close(stopped) above
	slots := make(chan struct{}, max(t.workers, 1))
	clock := time.NewTimer(time.Hour)
	clock.Stop()
	defer clock.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return nil
		}
		var due *entry
		wait := time.Duration(-1)
		if len(t.queue) > 0 {
			if d := t.queue[0].at.Sub(t.now()); d <= 0 {
				due = heap.Pop(&t.queue).(*entry)
			} else {
				wait = d
			}
		}
		t.mu.Unlock()

		if due != nil {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				t.mu.Lock()
				heap.Push(&t.queue, due)
				t.mu.Unlock()
				return nil
			}
			inflight.Add(1)
			go func(e *entry) {
				defer inflight.Done()
				defer func() { <-slots }()
				t.fire(ctx, handle, e)
			}(due)
			continue
		}
		var fired <-chan time.Time
		if wait >= 0 {
			clock.Reset(wait)
			fired = clock.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.wake:
			clock.Stop()
		case <-fired:
		}
	}
}

// fire runs one due tick and settles it: removed on success, re-queued with
// a backoff on failure, dropped after the last attempt.
func (t *Timer) fire(ctx context.Context, handle func(context.Context, relay.Tick) error, e *entry) {
	err := handle(ctx, e.tick)
	t.mu.Lock()
	defer t.mu.Unlock()
	log := t.logger.With("kind", e.tick.Kind, "tenant", e.tick.TenantID, "relay", e.tick.RelayID, "attempt", e.tick.Attempt)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		// Shutting down: keep the tick for the next start.
		heap.Push(&t.queue, e)
		return
	default:
		e.tries++
		if t.attempts == 0 || e.tries < t.attempts {
			e.at = t.now().Add(t.retryDelay(e.tries))
			heap.Push(&t.queue, e)
			t.signal() // Run may be waiting on a later tick, or on none
			log.WarnContext(ctx, "tick failed, will retry", "tries", e.tries, "retry_at", e.at, "err", err)
			return
		}
		log.ErrorContext(ctx, "tick failed, dropping", "tries", e.tries, "err", err)
	}
	delete(t.pending, e.id)
	if err := t.append(line{Done: e.id}); err != nil {
		// The tick stays on disk and fires again after a restart; ticks
		// are idempotent, so that is harmless.
		log.ErrorContext(ctx, "saving timers failed", "err", err)
	}
}

// maxBackoff caps the doubling wait between tries.
const maxBackoff = time.Minute

// retryDelay is the wait after the given number of failed tries.
func (t *Timer) retryDelay(tries int) time.Duration {
	d := t.backoff
	for i := 1; i < tries && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// Close stops a running Run, waiting for a tick being handled to finish,
// and refuses later Schedule calls. Pending ticks stay on disk.
func (t *Timer) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	stopped := t.stopped
	running := t.running
	t.mu.Unlock()
	t.signal()
	if running {
		<-stopped
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.journal != nil {
		err := t.journal.Close()
		t.journal = nil
		return err
	}
	return nil
}

// entryHeap orders entries by fire time, then scheduling order.
type entryHeap []*entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}
