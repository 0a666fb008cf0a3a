package twilio

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var _ relay.Sender = (*Sender)(nil)

// DefaultBaseURL is Twilio's REST API.
const DefaultBaseURL = "https://api.twilio.com"

// Twilio accepts a ValidityPeriod of 1 to 36000 seconds
// (https://www.twilio.com/docs/api/errors/21624).
const (
	minValidity = 1
	maxValidity = 36000
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxAttempts    = 3
	DefaultAttemptTimeout = 10 * time.Second
	DefaultBaseDelay      = 250 * time.Millisecond
	DefaultMaxDelay       = 4 * time.Second
	DefaultClockSkew      = 5 * time.Second
)

// lookupLimit caps how many recent messages between From and To are scanned
// when looking for a message whose creation went unanswered.
const lookupLimit = 100

// Config configures a Sender. AccountSID and AuthToken are required; zero
// values elsewhere take the defaults.
type Config struct {
	AccountSID string
	AuthToken  string
	// BaseURL is the REST API's scheme, host and optional path prefix, such as
	// a fake Twilio at http://127.0.0.1:PORT; empty means DefaultBaseURL.
	BaseURL string
	// HTTPClient supplies the transport and cookie jar; its Timeout, when set
	// and AttemptTimeout is not, bounds each attempt. Nil uses
	// http.DefaultTransport.
	HTTPClient *http.Client
	// MaxAttempts bounds the create requests of one Send (DefaultMaxAttempts).
	MaxAttempts int
	// AttemptTimeout bounds each request (DefaultAttemptTimeout).
	AttemptTimeout time.Duration
	// BaseDelay and MaxDelay shape the exponential backoff with full jitter
	// between attempts (DefaultBaseDelay, DefaultMaxDelay).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// ClockSkew widens the window in which a message Twilio created counts as
	// ours after an unanswered attempt (DefaultClockSkew).
	ClockSkew time.Duration

	// Now, Sleep and Rand are for tests: the clock compared with Twilio's
	// date_created, the backoff pause, and the jitter source in [0, 1).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func() float64
}

// Sender sends SMS through Twilio's Messages API. It retries throttling,
// outages and network failures within the caller's deadline, and never
// resends a message whose first request may have been acted on without first
// checking Twilio's message list for it.
type Sender struct {
	accountSID string
	authToken  string
	target     *url.URL // nil for the default base URL
	transport  http.RoundTripper
	jar        http.CookieJar

	maxAttempts    int
	attemptTimeout time.Duration
	baseDelay      time.Duration
	maxDelay       time.Duration
	skew           time.Duration

	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	rand  func() float64
}

// New returns a Sender for cfg, or an error naming every missing or invalid
// field.
func New(cfg Config) (*Sender, error) {
	var errs []error
	if cfg.AccountSID == "" {
		errs = append(errs, errors.New("account sid is required"))
	}
	if cfg.AuthToken == "" {
		errs = append(errs, errors.New("auth token is required"))
	}
	s := &Sender{
		accountSID:     cfg.AccountSID,
		authToken:      cfg.AuthToken,
		transport:      http.DefaultTransport,
		maxAttempts:    orDefault(cfg.MaxAttempts, DefaultMaxAttempts),
		attemptTimeout: orDefault(cfg.AttemptTimeout, DefaultAttemptTimeout),
		baseDelay:      orDefault(cfg.BaseDelay, DefaultBaseDelay),
		maxDelay:       orDefault(cfg.MaxDelay, DefaultMaxDelay),
		skew:           orDefault(cfg.ClockSkew, DefaultClockSkew),
		now:            cfg.Now,
		sleep:          cfg.Sleep,
		rand:           cfg.Rand,
	}
	if cfg.BaseURL != "" && strings.TrimRight(cfg.BaseURL, "/") != DefaultBaseURL {
		u, err := url.Parse(cfg.BaseURL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("parse base url: %w", err))
		case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, fmt.Errorf("base url %q: want http(s)://host[:port][/prefix]", cfg.BaseURL))
		default:
			s.target = u
		}
	}
	if hc := cfg.HTTPClient; hc != nil {
		if hc.Transport != nil {
			s.transport = hc.Transport
		}
		s.jar = hc.Jar
		if cfg.AttemptTimeout == 0 && hc.Timeout > 0 {
			s.attemptTimeout = hc.Timeout
		}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.sleep == nil {
		s.sleep = sleepContext
	}
	if s.rand == nil {
		s.rand = rand.Float64
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("twilio config: %w", err)
	}
	return s, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Send sends m and returns Twilio's sid and status. Errors are *relay.Error:
// Transient after throttling, outages or network failures outlasting the
// attempts or the context's deadline (wrapping ErrUnknownOutcome when a
// request may have been acted on); Permanent when Twilio refuses the
// destination; Invalid when it refuses the message; Internal for credential
// and account faults. Twilio's error code is available through relay.CodeOf.
//
// When an attempt ends without an answer after the request went out, Send
// does not resend blindly: it lists the recent messages from m.From to m.To
// and returns one with the same body created since the first unanswered
// attempt began; only when there is none does it send again.
func (s *Sender) Send(ctx context.Context, m relay.Message) (relay.Sent, error) {
	if m.To == "" || m.From == "" || (m.Body == "" && len(m.MediaURLs) == 0) {
		return relay.Sent{}, relay.Errorf(relay.Invalid, "twilio: message needs from, to and body")
	}
	params := createParams(m)

	var (
		lastErr      error
		unknown      bool      // an unanswered attempt may have created the message
		unknownSince time.Time // start of the first unanswered attempt
		sends        int
		lookups      int
		retryAfter   time.Duration
	)
	for try := 0; ; try++ {
		if (unknown && lookups >= s.maxAttempts) || (!unknown && sends >= s.maxAttempts) {
			break
		}
		if try > 0 {
			d := s.backoff(try, retryAfter)
			if !fits(ctx, d) {
				break
			}
			if err := s.sleep(ctx, d); err != nil {
				break
			}
		}
		if unknown {
			lookups++
			sent, found, err := s.lookup(ctx, m, unknownSince)
			if err != nil {
				lastErr = err
				if !relay.IsKind(err, relay.Transient) {
					break
				}
				continue
			}
			if found {
				return sent, nil
			}
			unknown = false
		}
		if sends >= s.maxAttempts {
			break
		}
		sends++
		start := s.now()
		sent, reached, ra, err := s.create(ctx, params)
		if err == nil {
			return sent, nil
		}
		lastErr, retryAfter = err, ra
		if reached {
			// Keep the earliest start: a message an earlier attempt created
			// may show up in the list later than a lookup that missed it.
			if unknownSince.IsZero() {
				unknownSince = start
			}
			unknown = true
			continue
		}
		if !relay.IsKind(err, relay.Transient) {
			return relay.Sent{}, err
		}
	}
	if unknown {
		return relay.Sent{}, &relay.Error{
			Kind: relay.Transient,
			Code: relay.CodeOf(lastErr),
			Msg:  "twilio: outcome of send unknown",
			Err:  fmt.Errorf("%w: %w", ErrUnknownOutcome, lastErr),
		}
	}
	return relay.Sent{}, lastErr
}

// fits reports whether a pause of d leaves time before ctx's deadline.
func fits(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}

// backoff returns the pause before try (1 for the first retry): full jitter
// over an exponentially growing ceiling, but at least Twilio's Retry-After.
func (s *Sender) backoff(try int, retryAfter time.Duration) time.Duration {
	ceiling := s.maxDelay
	if try-1 < 30 {
		if c := s.baseDelay << (try - 1); c > 0 && c < ceiling {
			ceiling = c
		}
	}
	d := time.Duration(s.rand() * float64(ceiling))
	return max(d, retryAfter)
}

// createParams maps a relay.Message onto Twilio's create parameters.
func createParams(m relay.Message) *openapi.CreateMessageParams {
	p := &openapi.CreateMessageParams{}
	p.SetFrom(m.From)
	p.SetTo(m.To)
	if m.Body != "" {
		p.SetBody(m.Body)
	}
	if len(m.MediaURLs) > 0 {
		p.SetMediaUrl(m.MediaURLs)
	}
	if m.StatusCallback != "" {
		p.SetStatusCallback(m.StatusCallback)
	}
	if m.ValidityPeriod > 0 {
		p.SetValidityPeriod(validitySeconds(m.ValidityPeriod))
	}
	return p
}

// validitySeconds rounds d up to whole seconds within Twilio's 1..36000.
func validitySeconds(d time.Duration) int {
	secs := int64((d + time.Second - 1) / time.Second)
	return int(min(max(secs, minValidity), maxValidity))
}

// create makes one create request. reached reports that the request may have
// been acted on although no usable answer came back: it was written and then
// the connection failed or timed out, a gateway answered 502 or 504, or a
// success response could not be read.
func (s *Sender) create(ctx context.Context, p *openapi.CreateMessageParams) (sent relay.Sent, reached bool, retryAfter time.Duration, err error) {
	actx, cancel := context.WithTimeout(ctx, s.attemptTimeout)
	defer cancel()
	ex := &exchange{}
	msg, err := s.api(actx, ex).CreateMessage(p)
	status, retryAfter := ex.response()
	if err == nil {
		if msg.Sid != nil && *msg.Sid != "" {
			return relay.Sent{Sid: *msg.Sid, Status: deref(msg.Status)}, false, 0, nil
		}
		err = errors.New("response has no sid")
	}
	reached = status == http.StatusBadGateway || status == http.StatusGatewayTimeout ||
		(status >= 200 && status < 300) || (status == 0 && ex.wrote.Load())
	return relay.Sent{}, reached, retryAfter, toError("create message", status, err)
}

// Lookup reports whether Twilio accepted a message with m's From, To and
// Body at or after since: the relay asks it before resending a text whose
// earlier try has an unknown outcome (a crash, a lost answer), in every
// resume path. It retries transient failures within ctx like Send.
func (s *Sender) Lookup(ctx context.Context, m relay.Message, since time.Time) (relay.Sent, bool, error) {
	var lastErr error
	for try := 0; try < s.maxAttempts; try++ {
		if try > 0 {
			d := s.backoff(try, 0)
			if !fits(ctx, d) || s.sleep(ctx, d) != nil {
				break
			}
		}
		sent, found, err := s.lookup(ctx, m, since)
		if err == nil {
			return sent, found, nil
		}
		lastErr = err
		if !relay.IsKind(err, relay.Transient) {
			break
		}
	}
	return relay.Sent{}, false, lastErr
}

// lookup searches the recent messages from m.From to m.To for one with m's
// body created at or after since (less the allowed clock skew).
//
// It filters on To and From only: Twilio's DateSent filter matches date_sent,
// which stays null while a message is queued, and has day granularity, so it
// would hide exactly the message being looked for. Twilio lists newest first.
func (s *Sender) lookup(ctx context.Context, m relay.Message, since time.Time) (relay.Sent, bool, error) {
	actx, cancel := context.WithTimeout(ctx, s.attemptTimeout)
	defer cancel()
	ex := &exchange{}
	p := &openapi.ListMessageParams{}
	p.SetTo(m.To)
	p.SetFrom(m.From)
	p.SetPageSize(50)
	p.SetLimit(lookupLimit)
	msgs, err := s.api(actx, ex).ListMessage(p)
	if err != nil {
		status, _ := ex.response()
		return relay.Sent{}, false, toError("list messages", status, err)
	}
	cutoff := since.Add(-s.skew).Truncate(time.Second)
	for _, msg := range msgs {
		if deref(msg.Body) != m.Body || deref(msg.Sid) == "" {
			continue
		}
		if d := deref(msg.Direction); d != "" && !strings.HasPrefix(d, "outbound") {
			continue
		}
		created, err := time.Parse(time.RFC1123Z, deref(msg.DateCreated))
		if err != nil || created.Before(cutoff) {
			continue
		}
		return relay.Sent{Sid: *msg.Sid, Status: deref(msg.Status)}, true, nil
	}
	return relay.Sent{}, false, nil
}

// toError turns a failed twilio-go call into a classified *relay.Error that
// carries Twilio's code and message. status is the HTTP status seen by the
// transport, 0 when no response arrived.
func toError(op string, status int, err error) error {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		st := status
		if st == 0 {
			// twilio-go refuses malformed credentials before sending.
			st = rest.Status
		}
		return &relay.Error{
			Kind: Classify(st, rest.Code),
			Code: rest.Code,
			Msg:  fmt.Sprintf("twilio: %s: %s", op, rest.Message),
			Err:  err,
		}
	}
	msg := fmt.Sprintf("twilio: %s: no answer", op)
	if status != 0 {
		msg = fmt.Sprintf("twilio: %s: http status %d", op, status)
	}
	kind := Classify(status, 0)
	if status >= 200 && status < 300 {
		// The answer was unreadable; a retry may read one.
		kind = relay.Transient
	}
	return &relay.Error{Kind: kind, Msg: msg, Err: err}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
