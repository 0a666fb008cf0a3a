package relay

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Defaults of the Service's tunables.
const (
	// DefaultRelayTTL is how long relays and claims are kept in the store.
	DefaultRelayTTL = 30 * 24 * time.Hour
	// DefaultLeaseGrace is how long a reply code outlives the longest life of
	// its relay (every window of every pass). Codes outlive the relay's
	// acknowledgement on purpose: a late "2 OK" is answered with who has the
	// relay, and the acknowledging operator keeps talking to the customer
	// with "2 <text>"; after that the code is free for the next relay.
	DefaultLeaseGrace = time.Hour
	// DefaultAutoReplyLimit automatic replies per DefaultAutoReplyWindow to
	// one customer number stop two robots from texting each other forever.
	DefaultAutoReplyLimit  = 5
	DefaultAutoReplyWindow = 10 * time.Minute
	// DefaultOperatorReplyLimit caps the relay's answers to one operator per
	// DefaultAutoReplyWindow. It only stops a loop with an auto-responder: a
	// busy operator's confirmations are never near it.
	DefaultOperatorReplyLimit = 120
	// DefaultSendTimeout bounds one try of a send, Twilio's retries within it
	// included. The intent's lease is this plus sendLeaseGrace: nobody else
	// resumes a send before its sender has given up. It is below the 15 s
	// Twilio gives a webhook before calling the Fallback URL, so a hung send
	// never makes the webhook itself fail; the timer tries again (looking the
	// text up first).
	DefaultSendTimeout = 10 * time.Second
	sendLeaseGrace     = 5 * time.Second
	// sendRetries is how many timer-driven tries a transiently failing send
	// gets after the first before the relay moves on.
	sendRetries = 3
	// updateRetries bounds optimistic-concurrency loops on one relay.
	updateRetries = 16
	// maxCodeTries bounds the reply codes one forward tries to lease.
	maxCodeTries = 64
	// ambiguity: a bare "OK" while holding two relays sent less than this
	// apart asks for the code instead of guessing.
	ambiguity = 30 * time.Second
	// inPlace: a tick that comes less than this before a window ends (the
	// window starts when Twilio accepts, a moment after the tick was armed)
	// waits for it rather than arming another tick.
	inPlace = 100 * time.Millisecond
	// maxWritten bounds the ids of audit events remembered as written.
	maxWritten = 20000
)

// Service runs relays: it routes inbound texts, forwards them, arms timers,
// takes acknowledgements and replies, and escalates. It holds no relay state
// of its own, so any number of instances may run against one Store.
//
// The life-cycle stages live one per file: inbound.go (a customer's text),
// move.go (choosing and storing the next step), send.go (the one door every
// outbound text goes through), tick.go (timers), delivery.go (status
// callbacks), operator.go (operators' replies), operations.go (dashboard and
// API actions) and outbox.go (audit events that are never lost).
type Service struct {
	Store Store
	// Directory answers who is who; nil means Store. Wiring passes a
	// DirectoryCache here so the webhook path reads the directory once a second.
	Directory Directory
	Sender    Sender
	Timer     Timer
	Audit     Auditor
	Metrics   Metrics // optional
	// Media stores photos and files of texts (media.go); nil means they are
	// not relayed and the text says so.
	Media Media
	Log   *slog.Logger

	// Now, Sleep and NewID are injected so tests control time and ids.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	NewID func() string
	// CallbackURL returns the StatusCallback URL of an attempt; nil or "" means none.
	CallbackURL func(tenantID, relayID string, attempt int) string

	RelayTTL time.Duration
	// LeaseGrace overrides DefaultLeaseGrace.
	LeaseGrace      time.Duration
	AutoReplyLimit  int
	AutoReplyWindow time.Duration
	// OperatorReplyLimit overrides DefaultOperatorReplyLimit.
	OperatorReplyLimit int
	// SendTimeout overrides DefaultSendTimeout.
	SendTimeout time.Duration
	// Solo says this process is the only one serving its store (the dev
	// server holds its store's lock): a lease held by any other process
	// instance is then known dead and is taken over at once after a restart.
	Solo bool

	once sync.Once
	cfg  settings

	// written remembers audit events this process stored, so a relay's
	// last tick does not write them again.
	writtenMu sync.Mutex
	written   map[string]bool
}

// settings are the tunables with their defaults applied, computed once.
type settings struct {
	relayTTL, leaseGrace, autoReplyWindow, sendTimeout time.Duration
	autoReplyLimit, operatorReplyLimit                 int
	dir                                                Directory
	log                                                *slog.Logger
	instance                                           string
}

func (s *Service) settings() *settings {
	s.once.Do(func() {
		s.cfg = settings{
			relayTTL:           orDefault(s.RelayTTL, DefaultRelayTTL),
			leaseGrace:         orDefault(s.LeaseGrace, DefaultLeaseGrace),
			autoReplyWindow:    orDefault(s.AutoReplyWindow, DefaultAutoReplyWindow),
			sendTimeout:        orDefault(s.SendTimeout, DefaultSendTimeout),
			autoReplyLimit:     orDefault(s.AutoReplyLimit, DefaultAutoReplyLimit),
			operatorReplyLimit: orDefault(s.OperatorReplyLimit, DefaultOperatorReplyLimit),
			dir:                s.Directory,
			log:                s.Log,
			instance:           fmt.Sprintf("%016x", rand.Uint64()),
		}
		if s.cfg.dir == nil {
			s.cfg.dir = s.Store
		}
		if s.cfg.log == nil {
			s.cfg.log = slog.Default()
		}
	})
	return &s.cfg
}

func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

func (s *Service) dir() Directory { return s.settings().dir }

// operatorOut reports whether an operator's phone opted out (STOP), through
// the directory cache when there is one: every step asks it.
func (s *Service) operatorOut(ctx context.Context, tenantID, phone string) (bool, error) {
	if c, ok := s.dir().(*DirectoryCache); ok {
		if _, ok := c.Directory.(optOutReader); ok {
			return c.OptedOut(ctx, tenantID, phone)
		}
	}
	return s.Store.OptedOut(ctx, tenantID, phone)
}

// flushDirectory forgets the directory cache's answers (after a change
// this process made, such as an operator's STOP).
func (s *Service) flushDirectory() {
	if c, ok := s.dir().(*DirectoryCache); ok {
		c.Flush()
	}
}
func (s *Service) log() *slog.Logger    { return s.settings().log }
func (s *Service) lease() time.Duration { return s.settings().sendTimeout + sendLeaseGrace }

// held reports whether a live sender holds o's intent at now.
func (s *Service) held(o *Outbound, now time.Time) bool {
	if !o.LeaseUntil.After(now) {
		return false
	}
	return !s.Solo || o.Holder == s.settings().instance
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// sleep waits d or until ctx is done.
func (s *Service) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *Service) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	// Tokens and event ids only need to be unique, not secret: 96 random bits.
	return fmt.Sprintf("%016x%08x", rand.Uint64(), rand.Uint32())
}

func (s *Service) count(ctx context.Context, name, tenantID string) {
	if s.Metrics != nil {
		s.Metrics.Count(ctx, name, tenantID, 1)
	}
}

// take counts one automatic reply to phone under key and reports whether it
// stays within limit; a store error suppresses the reply (it is only a courtesy).
func (s *Service) take(ctx context.Context, key string, limit int) bool {
	ok, err := s.Store.Take(ctx, key, limit, s.settings().autoReplyWindow, s.now())
	if err != nil {
		s.log().WarnContext(ctx, "reply cap unavailable", "err", err)
		return false
	}
	return ok
}

// Actor names who asked for an operation, for audit and replies.
type Actor struct {
	// OperatorID is set when an operator acted by SMS.
	OperatorID string
	// Name is a display name or an API subject.
	Name string
}

func (a Actor) String() string {
	if a.OperatorID != "" {
		return a.OperatorID
	}
	return a.Name
}

// parallel runs fs at once and returns their errors joined in order.
func parallel(fs ...func() error) []error {
	errs := make([]error, len(fs))
	var wg sync.WaitGroup
	for i, f := range fs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f()
		}()
	}
	wg.Wait()
	return errs
}
