package twilio_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

const (
	ourNumber = "+16195550100"
	operator  = "+16195550111"
)

// harness is a Sender wired to a fake Twilio with instant, recorded backoff.
type harness struct {
	srv    *faketwilio.Server
	sender *twilio.Sender

	mu     sync.Mutex
	sleeps []time.Duration
}

func newHarness(t *testing.T, configure func(*twilio.Config), opts ...faketwilio.Option) *harness {
	t.Helper()
	h := &harness{srv: faketwilio.Start(t, opts...)}
	cfg := twilio.Config{
		AccountSID:     h.srv.AccountSID(),
		AuthToken:      h.srv.AuthToken(),
		BaseURL:        h.srv.URL(),
		AttemptTimeout: 2 * time.Second,
		BaseDelay:      100 * time.Millisecond,
		MaxDelay:       time.Second,
		Rand:           func() float64 { return 0.5 },
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			h.sleeps = append(h.sleeps, d)
			h.mu.Unlock()
			return ctx.Err()
		},
	}
	if configure != nil {
		configure(&cfg)
	}
	s, err := twilio.New(cfg)
	if err != nil {
		t.Fatalf("new sender: %v", err)
	}
	h.sender = s
	return h
}

// calls summarizes the API requests the fake received, such as "POST,GET,POST".
func (h *harness) calls() string {
	var methods []string
	for _, r := range h.srv.Requests() {
		methods = append(methods, r.Method)
	}
	return strings.Join(methods, ",")
}

func (h *harness) slept() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.sleeps...)
}

func msg(body string) relay.Message {
	return relay.Message{From: ourNumber, To: operator, Body: body}
}

func TestSendMapsMessage(t *testing.T) {
	tests := []struct {
		name         string
		validity     time.Duration
		callback     string
		wantValidity int
	}{
		{"defaults", 0, "", 0},
		{"status callback and validity", 90 * time.Second, "https://relay.example.com/api/sms/status", 90},
		{"validity rounded up", 1500 * time.Millisecond, "", 2},
		{"validity below one second clamped", time.Millisecond, "", 1},
		{"validity over ten hours clamped", 20 * time.Hour, "", 36000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			m := msg("📦 Acme Waste Inc.: gate code is 4411")
			m.StatusCallback, m.ValidityPeriod = tt.callback, tt.validity
			sent, err := h.sender.Send(context.Background(), m)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			got := h.srv.Messages()
			if len(got) != 1 {
				t.Fatalf("got %d messages, want 1", len(got))
			}
			if sent.Sid != got[0].Sid || sent.Status != "queued" {
				t.Errorf("got sent %+v, want sid %s and status queued", sent, got[0].Sid)
			}
			if got[0].From != m.From || got[0].To != m.To || got[0].Body != m.Body {
				t.Errorf("got %s→%s %q, want %s→%s %q", got[0].From, got[0].To, got[0].Body, m.From, m.To, m.Body)
			}
			if got[0].StatusCallback != tt.callback {
				t.Errorf("got status callback %q, want %q", got[0].StatusCallback, tt.callback)
			}
			if got[0].ValidityPeriod != tt.wantValidity {
				t.Errorf("got validity period %d, want %d", got[0].ValidityPeriod, tt.wantValidity)
			}
			form := h.srv.Requests()[0].Form
			if _, ok := form["ValidityPeriod"]; ok != (tt.wantValidity != 0) {
				t.Errorf("got ValidityPeriod sent %v, want %v", ok, tt.wantValidity != 0)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(*faketwilio.Server)
		configure func(*twilio.Config)
		message   relay.Message
		wantKind  relay.Kind
		wantCode  int
		wantCalls string
	}{
		{
			name:      "invalid To is permanent",
			message:   relay.Message{From: ourNumber, To: "6195550111", Body: "hi"},
			wantKind:  relay.Permanent,
			wantCode:  21211,
			wantCalls: "POST",
		},
		{
			name: "opted out recipient is permanent",
			setup: func(s *faketwilio.Server) {
				s.RejectTo(operator, faketwilio.Failure{Status: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"})
			},
			message:   msg("hi"),
			wantKind:  relay.Permanent,
			wantCode:  21610,
			wantCalls: "POST",
		},
		{
			name: "region not enabled is permanent",
			setup: func(s *faketwilio.Server) {
				s.RejectTo(operator, faketwilio.Failure{Status: 400, Code: 21408, Message: "Permission to send an SMS has not been enabled for the region"})
			},
			message:   msg("hi"),
			wantKind:  relay.Permanent,
			wantCode:  21408,
			wantCalls: "POST",
		},
		{
			name:      "body too long is invalid",
			message:   msg(strings.Repeat("x", 1601)),
			wantKind:  relay.Invalid,
			wantCode:  21617,
			wantCalls: "POST",
		},
		{
			name:      "wrong auth token is internal",
			configure: func(c *twilio.Config) { c.AuthToken = "wrongtoken" },
			message:   msg("hi"),
			wantKind:  relay.Internal,
			wantCode:  20003,
			wantCalls: "POST",
		},
		{
			name:      "auth token twilio-go refuses is internal",
			configure: func(c *twilio.Config) { c.AuthToken = "not/alphanumeric" },
			message:   msg("hi"),
			wantKind:  relay.Internal,
			wantCode:  21224,
			wantCalls: "",
		},
		{
			name:      "unknown account is internal",
			configure: func(c *twilio.Config) { c.AccountSID = "AC0000" },
			message:   msg("hi"),
			wantKind:  relay.Internal,
			wantCode:  20003,
			wantCalls: "POST",
		},
		{
			name:      "missing body is refused before sending",
			message:   relay.Message{From: ourNumber, To: operator},
			wantKind:  relay.Invalid,
			wantCalls: "",
		},
		{
			name: "outage outlasting the attempts is transient",
			setup: func(s *faketwilio.Server) {
				s.FailNext(10, faketwilio.Failure{Status: 503, Code: 20503, Message: "Service Unavailable"})
			},
			message:   msg("hi"),
			wantKind:  relay.Transient,
			wantCode:  20503,
			wantCalls: "POST,POST,POST",
		},
		{
			name: "other 4xx is invalid",
			setup: func(s *faketwilio.Server) {
				s.FailNext(1, faketwilio.Failure{Status: 400, Code: 21999, Message: "Something new"})
			},
			message:   msg("hi"),
			wantKind:  relay.Invalid,
			wantCode:  21999,
			wantCalls: "POST",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.configure)
			if tt.setup != nil {
				tt.setup(h.srv)
			}
			_, err := h.sender.Send(context.Background(), tt.message)
			if err == nil {
				t.Fatalf("got no error, want %v", tt.wantKind)
			}
			if got := relay.KindOf(err); got != tt.wantKind {
				t.Errorf("got kind %v, want %v (%v)", got, tt.wantKind, err)
			}
			if got := relay.CodeOf(err); got != tt.wantCode {
				t.Errorf("got code %d, want %d (%v)", got, tt.wantCode, err)
			}
			if got := h.calls(); got != tt.wantCalls {
				t.Errorf("got calls %q, want %q", got, tt.wantCalls)
			}
			if tt.wantCode != 0 && !strings.Contains(relay.MessageOf(err), "twilio") {
				t.Errorf("got message %q, want Twilio's message surfaced", relay.MessageOf(err))
			}
			if len(h.srv.Messages()) != 0 {
				t.Errorf("got %d messages accepted, want none", len(h.srv.Messages()))
			}
		})
	}
}

func TestSendRetries(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(*faketwilio.Server)
		wantCalls  string
		wantSleeps []time.Duration
	}{
		{
			name: "throttled then accepted",
			setup: func(s *faketwilio.Server) {
				s.FailNext(1, faketwilio.Failure{Status: 429, Code: 20429, Message: "Too Many Requests"})
			},
			wantCalls:  "POST,POST",
			wantSleeps: []time.Duration{50 * time.Millisecond},
		},
		{
			name: "retry-after honoured",
			setup: func(s *faketwilio.Server) {
				s.FailNext(1, faketwilio.Failure{Status: 429, Code: 20429, Message: "Too Many Requests", Header: http.Header{"Retry-After": {"2"}}})
			},
			wantCalls:  "POST,POST",
			wantSleeps: []time.Duration{2 * time.Second},
		},
		{
			name: "two outages then accepted, backoff doubles",
			setup: func(s *faketwilio.Server) {
				s.FailNext(2, faketwilio.Failure{Status: 500, Code: 20500, Message: "Internal Server Error"})
			},
			wantCalls:  "POST,POST,POST",
			wantSleeps: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond},
		},
		{
			name: "outage page without Twilio's JSON",
			setup: func(s *faketwilio.Server) {
				s.FailNext(1, faketwilio.Failure{Status: 503, RawBody: "<html>503 Service Unavailable</html>"})
			},
			wantCalls:  "POST,POST",
			wantSleeps: []time.Duration{50 * time.Millisecond},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			tt.setup(h.srv)
			sent, err := h.sender.Send(context.Background(), msg("hi"))
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if msgs := h.srv.Messages(); len(msgs) != 1 || msgs[0].Sid != sent.Sid {
				t.Errorf("got messages %+v, want exactly the one sent (%s)", msgs, sent.Sid)
			}
			if got := h.calls(); got != tt.wantCalls {
				t.Errorf("got calls %q, want %q", got, tt.wantCalls)
			}
			if got := h.slept(); !equalDurations(got, tt.wantSleeps) {
				t.Errorf("got sleeps %v, want %v", got, tt.wantSleeps)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBackoffCapped(t *testing.T) {
	h := newHarness(t, func(c *twilio.Config) {
		c.MaxAttempts = 6
		c.Rand = func() float64 { return 0.999999 }
	})
	h.srv.FailNext(10, faketwilio.Failure{Status: 503, Code: 20503, Message: "Service Unavailable"})
	_, err := h.sender.Send(context.Background(), msg("hi"))
	if !relay.IsKind(err, relay.Transient) {
		t.Fatalf("got %v, want a transient error", err)
	}
	ceilings := []time.Duration{100, 200, 400, 800, 1000}
	got := h.slept()
	if len(got) != len(ceilings) {
		t.Fatalf("got %d sleeps %v, want %d", len(got), got, len(ceilings))
	}
	for i, c := range ceilings {
		ceiling := c * time.Millisecond
		if got[i] >= ceiling || got[i] < ceiling*99/100 {
			t.Errorf("sleep %d: got %v, want just under %v", i, got[i], ceiling)
		}
	}
}

func TestSendBudget(t *testing.T) {
	tests := []struct {
		name      string
		ctx       func() (context.Context, context.CancelFunc)
		wantCalls string
	}{
		{
			name: "deadline too close for the backoff",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 30*time.Millisecond)
			},
			wantCalls: "POST",
		},
		{
			name: "cancelled before sending",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			wantCalls: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *twilio.Config) { c.BaseDelay = 10 * time.Second; c.MaxDelay = 10 * time.Second })
			h.srv.FailNext(10, faketwilio.Failure{Status: 503, Code: 20503, Message: "Service Unavailable"})
			ctx, cancel := tt.ctx()
			defer cancel()
			_, err := h.sender.Send(ctx, msg("hi"))
			if !relay.IsKind(err, relay.Transient) {
				t.Errorf("got %v, want a transient error", err)
			}
			if got := h.calls(); got != tt.wantCalls {
				t.Errorf("got calls %q, want %q", got, tt.wantCalls)
			}
			if got := h.slept(); len(got) != 0 {
				t.Errorf("got sleeps %v, want none", got)
			}
		})
	}
}

func TestSendUnknownOutcome(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(*faketwilio.Server)
		configure    func(*twilio.Config)
		wantErr      bool
		wantCalls    string
		wantMessages int
	}{
		{
			name:         "timeout after the message was created: found, not resent",
			setup:        func(s *faketwilio.Server) { s.AcceptThenStall(1) },
			configure:    func(c *twilio.Config) { c.AttemptTimeout = 150 * time.Millisecond },
			wantCalls:    "POST,GET",
			wantMessages: 1,
		},
		{
			name:         "connection dropped after the message was created: found, not resent",
			setup:        func(s *faketwilio.Server) { s.AcceptThenDrop(1) },
			wantCalls:    "POST,GET",
			wantMessages: 1,
		},
		{
			name: "connection dropped before anything was created: not found, resent",
			setup: func(s *faketwilio.Server) {
				s.FailNext(1, faketwilio.Failure{Method: "POST", Drop: true})
			},
			wantCalls:    "POST,GET,POST",
			wantMessages: 1,
		},
		{
			name: "bad gateway: checked, not found, resent",
			setup: func(s *faketwilio.Server) {
				s.FailNext(1, faketwilio.Failure{Method: "POST", Status: 502, RawBody: "<html>502 Bad Gateway</html>"})
			},
			wantCalls:    "POST,GET,POST",
			wantMessages: 1,
		},
		{
			name: "list fails once, then finds the message",
			setup: func(s *faketwilio.Server) {
				s.AcceptThenDrop(1)
				s.FailNext(1, faketwilio.Failure{Method: "GET", Status: 503, Code: 20503, Message: "Service Unavailable"})
			},
			wantCalls:    "POST,GET,GET",
			wantMessages: 1,
		},
		{
			name: "list never answers: unknown, never resent",
			setup: func(s *faketwilio.Server) {
				s.AcceptThenDrop(1)
				s.FailNext(10, faketwilio.Failure{Method: "GET", Status: 503, Code: 20503, Message: "Service Unavailable"})
			},
			wantErr:      true,
			wantCalls:    "POST,GET,GET,GET",
			wantMessages: 1,
		},
		{
			name: "list refused for good: unknown, never resent",
			setup: func(s *faketwilio.Server) {
				s.AcceptThenDrop(1)
				s.FailNext(10, faketwilio.Failure{Method: "GET", Status: 401, Code: 20003, Message: "Authenticate"})
			},
			wantErr:      true,
			wantCalls:    "POST,GET",
			wantMessages: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.configure)
			tt.setup(h.srv)
			sent, err := h.sender.Send(context.Background(), msg("📦 Acme: on my way?"))
			msgs := h.srv.Messages()
			if len(msgs) != tt.wantMessages {
				t.Errorf("got %d messages, want %d", len(msgs), tt.wantMessages)
			}
			if got := h.calls(); got != tt.wantCalls {
				t.Errorf("got calls %q, want %q", got, tt.wantCalls)
			}
			if tt.wantErr {
				if !relay.IsKind(err, relay.Transient) || !errors.Is(err, twilio.ErrUnknownOutcome) {
					t.Errorf("got %v, want a transient error wrapping ErrUnknownOutcome", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if len(msgs) > 0 && sent.Sid != msgs[len(msgs)-1].Sid {
				t.Errorf("got sid %s, want %s", sent.Sid, msgs[len(msgs)-1].Sid)
			}
		})
	}
}

// TestSendUnknownOutcomeIgnoresOlderTwin checks that an identical message sent
// before the attempt began is not mistaken for the attempt's own.
func TestSendUnknownOutcomeIgnoresOlderTwin(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now().Add(-time.Hour)
	fakeNow := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	h := newHarness(t, nil, faketwilio.WithNow(fakeNow))

	older, err := h.sender.Send(context.Background(), msg("same words"))
	if err != nil {
		t.Fatalf("first send: %v", err)
	}
	mu.Lock()
	clock = time.Now()
	mu.Unlock()
	h.srv.FailNext(1, faketwilio.Failure{Method: "POST", Drop: true})

	sent, err := h.sender.Send(context.Background(), msg("same words"))
	if err != nil {
		t.Fatalf("second send: %v", err)
	}
	if sent.Sid == older.Sid {
		t.Errorf("got the hour-old message %s, want a new one", sent.Sid)
	}
	if got := len(h.srv.Messages()); got != 2 {
		t.Errorf("got %d messages, want 2", got)
	}
}

// TestSendConnectionRefused checks that a request that never left is retried
// without a lookup and without being reported as of unknown outcome.
func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var sleeps int
	s, err := twilio.New(twilio.Config{
		AccountSID: "AC1", AuthToken: "token", BaseURL: "http://" + addr,
		Sleep: func(context.Context, time.Duration) error { sleeps++; return nil },
	})
	if err != nil {
		t.Fatalf("new sender: %v", err)
	}
	_, err = s.Send(context.Background(), msg("hi"))
	if !relay.IsKind(err, relay.Transient) || errors.Is(err, twilio.ErrUnknownOutcome) {
		t.Errorf("got %v, want a transient error of known outcome", err)
	}
	if want := twilio.DefaultMaxAttempts - 1; sleeps != want {
		t.Errorf("got %d sleeps, want %d", sleeps, want)
	}
}

func TestSendBaseURLWithPrefix(t *testing.T) {
	srv := faketwilio.Start(t)
	front := httptest.NewServer(http.StripPrefix("/twilio", srv.Handler()))
	defer front.Close()
	s, err := twilio.New(twilio.Config{AccountSID: srv.AccountSID(), AuthToken: srv.AuthToken(), BaseURL: front.URL + "/twilio/"})
	if err != nil {
		t.Fatalf("new sender: %v", err)
	}
	if _, err := s.Send(context.Background(), msg("hi")); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Errorf("got %d messages, want 1", got)
	}
}

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  twilio.Config
		want []string
	}{
		{"everything missing", twilio.Config{}, []string{"account sid", "auth token"}},
		{"base url without host", twilio.Config{AccountSID: "AC1", AuthToken: "t", BaseURL: "127.0.0.1:9999"}, []string{"base url"}},
		{"base url of another scheme", twilio.Config{AccountSID: "AC1", AuthToken: "t", BaseURL: "ftp://x"}, []string{"base url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := twilio.New(tt.cfg)
			if err == nil {
				t.Fatalf("got no error, want one mentioning %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

// TestFakeSignaturesValidate cross-checks the fake's independent signing with
// Validator: status callbacks for a message this Sender sent, and an inbound
// SMS, both under the public URL the relay is configured with.
func TestFakeSignaturesValidate(t *testing.T) {
	h := newHarness(t, nil)
	var (
		mu    sync.Mutex
		valid []bool
		forms []url.Values
	)
	const public = "https://relay.example.com"
	v := twilio.NewValidator("old-token", h.srv.AuthToken())
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := v.ValidRequest(public, r)
		mu.Lock()
		valid, forms = append(valid, ok), append(forms, r.PostForm)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte("<Response/>"))
	}))
	defer hook.Close()
	// The fake posts to the test server, but signs the URL Twilio would be
	// configured with; PublicURL rebuilds that same URL from the request.
	rewrite := func(path string) string { return hook.URL + path }

	m := msg("hi")
	m.StatusCallback = public + "/api/sms/status?tenant=qdn"
	sent, err := h.sender.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("send: %v", err)
	}

	tests := []struct {
		name string
		call func() error
	}{
		{"inbound sms", func() error {
			resp, err := postSigned(h.srv, rewrite("/api/sms/incoming"), public+"/api/sms/incoming",
				url.Values{"From": {"+16195551234"}, "To": {ourNumber}, "Body": {"where are you? 📦"}, "MessageSid": {faketwilio.NewMessageSid()}})
			if err == nil {
				resp.Body.Close()
			}
			return err
		}},
		{"status callback", func() error {
			// SetStatus posts to the StatusCallback URL itself, which is not
			// reachable here; sign what it would send and post it to the hook.
			params := url.Values{"MessageSid": {sent.Sid}, "MessageStatus": {"delivered"}, "To": {operator}}
			resp, err := postSigned(h.srv, rewrite("/api/sms/status?tenant=qdn"), m.StatusCallback, params)
			if err == nil {
				resp.Body.Close()
			}
			return err
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatalf("post: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if !valid[i] {
				t.Errorf("got an invalid signature for %v", forms[i])
			}
		})
	}
}

// postSigned posts params to target with the signature the fake computes for
// signedURL, as Twilio does when signedURL is the public name of target.
func postSigned(srv *faketwilio.Server, target, signedURL string, params url.Values) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(params.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", srv.Signature(signedURL, params))
	return http.DefaultClient.Do(req)
}

// TestFakeCallbackValidates runs the fake's own SetStatus and Inbound against
// a receiver whose public base URL is the receiver's own address.
func TestFakeCallbackValidates(t *testing.T) {
	h := newHarness(t, nil)
	var (
		mu    sync.Mutex
		valid []bool
	)
	var base string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := twilio.NewValidator(h.srv.AuthToken(), "").ValidRequest(base, r)
		mu.Lock()
		valid = append(valid, ok)
		mu.Unlock()
	}))
	defer hook.Close()
	base = hook.URL

	m := msg("hi")
	m.StatusCallback = hook.URL + "/api/sms/status?tenant=qdn"
	sent, err := h.sender.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := h.srv.SetStatus(sent.Sid, "delivered", 0); err != nil {
		t.Fatalf("set status: %v", err)
	}
	if err := h.srv.SetStatus(sent.Sid, "undelivered", 30006); err != nil {
		t.Fatalf("set status: %v", err)
	}
	resp, err := h.srv.Inbound(context.Background(), hook.URL+"/api/sms/incoming", url.Values{"From": {operator}, "To": {ourNumber}, "Body": {"ok 12"}})
	if err != nil {
		t.Fatalf("inbound: %v", err)
	}
	resp.Body.Close()

	mu.Lock()
	defer mu.Unlock()
	if len(valid) != 3 {
		t.Fatalf("got %d webhooks, want 3", len(valid))
	}
	for i, ok := range valid {
		if !ok {
			t.Errorf("webhook %d: got an invalid signature", i)
		}
	}
}
