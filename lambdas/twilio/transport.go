package twilio

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// exchange records what the transport saw of one API call, which twilio-go
// does not expose: whether the request went out (so Twilio may have acted on
// it) and the HTTP status and Retry-After of the last response.
type exchange struct {
	wrote atomic.Bool

	mu         sync.Mutex
	status     int
	retryAfter time.Duration
}

func (e *exchange) response() (status int, retryAfter time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status, e.retryAfter
}

// roundTripper gives twilio-go's requests, which it builds with
// context.Background, the caller's context; points them at the configured
// base URL (twilio-go hard-codes https://api.twilio.com and has no hook); and
// fills an exchange.
type roundTripper struct {
	base   http.RoundTripper
	ctx    context.Context
	target *url.URL // nil keeps the URL twilio-go built
	ex     *exchange
}

// RoundTrip sends a copy of req bound to the call's context and base URL.
func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	// Counting the request as written once its headers are out errs on the
	// safe side: a request cut off mid-body costs one needless lookup, while
	// one whose write is reported after a timeout fired would otherwise be
	// resent blindly.
	trace := &httptrace.ClientTrace{
		WroteHeaders: func() { t.ex.wrote.Store(true) },
	}
	r := req.Clone(httptrace.WithClientTrace(t.ctx, trace))
	if t.target != nil {
		r.URL.Scheme = t.target.Scheme
		r.URL.Host = t.target.Host
		if p := strings.TrimRight(t.target.Path, "/"); p != "" {
			r.URL.Path = p + r.URL.Path
			r.URL.RawPath = ""
		}
		r.Host = ""
	}
	resp, err := t.base.RoundTrip(r)
	if resp != nil {
		t.ex.mu.Lock()
		t.ex.status = resp.StatusCode
		t.ex.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
		t.ex.mu.Unlock()
	}
	return resp, err
}

// parseRetryAfter reads a Retry-After header given in seconds; dates and
// garbage count as absent.
func parseRetryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// api builds a twilio-go 2010 API service bound to ctx for one call. The
// objects are cheap; building them per call is what binds the context.
func (s *Sender) api(ctx context.Context, ex *exchange) *openapi.ApiService {
	hc := &http.Client{
		Transport: &roundTripper{base: s.transport, ctx: ctx, target: s.target, ex: ex},
		// Like twilio-go's default client: never follow redirects.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Jar:           s.jar,
	}
	c := &client.Client{Credentials: client.NewCredentials(s.accountSID, s.authToken), HTTPClient: hc}
	c.SetAccountSid(s.accountSID)
	// A RequestHandler built directly ignores TWILIO_EDGE and TWILIO_REGION,
	// so the process environment cannot redirect requests.
	return openapi.NewApiService(&client.RequestHandler{Client: c})
}
