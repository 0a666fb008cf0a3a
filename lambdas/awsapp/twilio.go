package awsapp

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

// reloadEvery bounds how often an authentication error re-reads the secret,
// so a token that is simply wrong cannot turn every send into a Secrets
// Manager call.
const reloadEvery = time.Minute

// twilioClientTimeout bounds one Twilio API request. The API function's
// timeout (infra) is longer, so a slow Twilio answer is reported, not cut off.
const twilioClientTimeout = 10 * time.Second

// Credentials holds the Twilio credentials a warm function uses: the Sender
// and the signature Verifier built from them. When Twilio refuses the
// credentials (the Auth Token was rotated or revoked after the cold start), it
// re-reads the secret once, rebuilds both and retries the send, so the
// function does not keep a revoked token until it is recycled.
type Credentials struct {
	load   func(ctx context.Context) (config.TwilioSecret, error)
	build  func(config.TwilioSecret) (relay.Sender, error)
	public string // PUBLIC_BASE_URL, which Twilio signs
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	sender   relay.Sender
	verifier twilio.Verifier
	secret   config.TwilioSecret
	loadedAt time.Time
}

var _ relay.Sender = (*Credentials)(nil)

// newCredentials loads the secret once and builds the sender and verifier.
func newCredentials(ctx context.Context, load func(context.Context) (config.TwilioSecret, error), cfg config.Lambda, log *slog.Logger) (*Credentials, error) {
	build := func(s config.TwilioSecret) (relay.Sender, error) {
		return twilio.New(twilio.Config{AccountSID: s.AccountSID, AuthToken: s.AuthToken,
			BaseURL: cfg.TwilioAPIBaseURL, HTTPClient: &http.Client{Timeout: twilioClientTimeout}})
	}
	c := &Credentials{load: load, build: build, public: cfg.PublicBaseURL, log: log, now: time.Now}
	s, err := load(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.use(s); err != nil {
		return nil, err
	}
	return c, nil
}

// use builds the sender and verifier for s; the caller holds mu or owns c.
func (c *Credentials) use(s config.TwilioSecret) error {
	sender, err := c.build(s)
	if err != nil {
		return err
	}
	c.sender, c.secret, c.loadedAt = sender, s, c.now()
	c.verifier = twilio.Verifier{Validator: twilio.NewValidator(s.AuthToken, s.AuthTokenSecondary), BaseURL: c.public}
	return nil
}

func (c *Credentials) current() (relay.Sender, twilio.Verifier) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sender, c.verifier
}

// Secret returns the credentials in use.
func (c *Credentials) Secret() config.TwilioSecret {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.secret
}

// Send sends m; on an authentication error it re-reads the secret and, if the
// credentials changed, sends once more with the new ones. Twilio did not act
// on a refused request, so the retry cannot text twice.
func (c *Credentials) Send(ctx context.Context, m relay.Message) (relay.Sent, error) {
	s, _ := c.current()
	sent, err := s.Send(ctx, m)
	if !twilio.IsAuthError(err) {
		return sent, err
	}
	if !c.reload(ctx, s) {
		return sent, err
	}
	s, _ = c.current()
	return s.Send(ctx, m)
}

// Lookup asks Twilio, with the current credentials, whether it accepted m
// since since; on an authentication error it re-reads the secret once, as Send does.
func (c *Credentials) Lookup(ctx context.Context, m relay.Message, since time.Time) (relay.Sent, bool, error) {
	s, _ := c.current()
	sent, found, err := s.Lookup(ctx, m, since)
	if !twilio.IsAuthError(err) || !c.reload(ctx, s) {
		return sent, found, err
	}
	s, _ = c.current()
	return s.Lookup(ctx, m, since)
}

// Verify checks a webhook's signature with the current tokens.
func (c *Credentials) Verify(r *http.Request) bool {
	_, v := c.current()
	return v.Verify(r)
}

// reload re-reads the secret unless another call already replaced failed or
// the last read is younger than reloadEvery; it reports whether the sender
// changed since failed was used.
func (c *Credentials) reload(ctx context.Context, failed relay.Sender) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sender != failed {
		return true // a concurrent send already reloaded
	}
	if c.now().Sub(c.loadedAt) < reloadEvery {
		return false
	}
	c.loadedAt = c.now()
	s, err := c.load(ctx)
	if err != nil {
		c.log.ErrorContext(ctx, "re-reading the twilio secret after an authentication error failed", "err", err)
		return false
	}
	if s == c.secret {
		c.log.ErrorContext(ctx, "twilio refused the credentials and the secret is unchanged: update the Twilio secret (docs/deploy.md)")
		return false
	}
	if err := c.use(s); err != nil {
		c.log.ErrorContext(ctx, "twilio secret re-read but unusable", "err", err)
		return false
	}
	c.log.WarnContext(ctx, "twilio credentials re-read after an authentication error", "account_sid", s.AccountSID)
	return true
}
