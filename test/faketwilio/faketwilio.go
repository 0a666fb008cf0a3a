// Package faketwilio is an in-process stand-in for Twilio's REST API and
// webhooks, speaking the real wire format: basic-auth form POSTs to the
// Messages resource answered with Twilio-shaped JSON, Twilio's error bodies and
// paging envelope, and signed status callbacks and inbound SMS webhooks.
//
// Tests inject failures (throttling, outages, refused destinations, latency,
// and a created message whose answer never arrives), one by one or as a
// random FaultPlan over a share of creates, and read back what was accepted. It computes X-Twilio-Signature on its own, independently of the
// relay's twilio package, so each checks the other.
package faketwilio

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// Failure is an injected answer that replaces the normal one.
type Failure struct {
	// Status is the HTTP status (500 if zero); Code and Message fill
	// Twilio's error body.
	Status  int
	Code    int
	Message string
	// RawBody, when set, is sent as text/html instead of Twilio's JSON error,
	// like a load balancer's error page.
	RawBody string
	// Method limits the failure to requests of this method ("POST" creates,
	// "GET" fetches and lists); empty matches any.
	Method string
	// Drop closes the connection without answering and without acting on the
	// request.
	Drop bool
	// Header is added to the answer, such as Retry-After.
	Header http.Header
}

// Request is an API request the fake received.
type Request struct {
	Method string
	Path   string
	// Form holds the query and, for POST, the form body.
	Form url.Values
	Time time.Time
}

// Callback is a status callback the fake delivered, or tried to.
type Callback struct {
	URL       string
	Params    url.Values
	Signature string
	// Status is the HTTP status the receiver answered, 0 if none.
	Status int
	Err    error
}

type outcome struct {
	status string
	code   int
}

// Server is a running fake Twilio.
type Server struct {
	accountSID string
	authToken  string
	addr       string
	now        func() time.Time
	client     *http.Client
	autoStep   time.Duration

	ln      net.Listener
	srv     *http.Server
	url     string
	closing chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	messages    []Message
	changed     chan struct{} // closed and replaced when messages change
	requests    []Request
	callbacks   []Callback
	failures    []Failure // one consumed per matching request
	rejectTo    map[string]Failure
	outcomes    map[string]outcome
	latency     time.Duration
	dropAccept  int
	stallAccept int
	faults      FaultPlan
	faultStats  FaultStats
	rand        func() float64

	mediaOnce sync.Once
	media     *mediaStore // media.go
}

// Option configures a Server.
type Option func(*Server)

// WithCredentials sets the account sid and auth token the fake accepts and
// signs with; both must be alphanumeric, as twilio-go requires. By default
// they are random.
func WithCredentials(accountSID, authToken string) Option {
	return func(s *Server) { s.accountSID, s.authToken = accountSID, authToken }
}

// WithAddr sets the listen address; the default is 127.0.0.1:0.
func WithAddr(addr string) Option { return func(s *Server) { s.addr = addr } }

// WithNow sets the clock stamped on messages.
func WithNow(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithHTTPClient sets the client that delivers status callbacks and inbound
// webhooks.
func WithHTTPClient(c *http.Client) Option { return func(s *Server) { s.client = c } }

// WithAutoProgress moves every accepted message to "sent" after step and to
// "delivered" (or the outcome set with SetOutcome) after another step,
// posting a status callback each time.
func WithAutoProgress(step time.Duration) Option { return func(s *Server) { s.autoStep = step } }

// New starts a fake Twilio listening on a local port.
func New(opts ...Option) (*Server, error) {
	s := &Server{
		accountSID: "AC" + randomHex(16),
		authToken:  randomHex(16),
		addr:       "127.0.0.1:0",
		now:        time.Now,
		client:     &http.Client{Timeout: 10 * time.Second},
		closing:    make(chan struct{}),
		changed:    make(chan struct{}),
		rejectTo:   map[string]Failure{},
		outcomes:   map[string]outcome{},
		rand:       mrand.Float64,
	}
	for _, o := range opts {
		o(s)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.addr, err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Start is New for tests: it fails t if the server cannot start and closes
// the server when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatalf("start fake twilio: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// URL returns the base URL of the fake's REST API, such as
// http://127.0.0.1:40123; use it as the Twilio API base URL.
func (s *Server) URL() string { return s.url }

// AccountSID returns the account sid the fake accepts.
func (s *Server) AccountSID() string { return s.accountSID }

// AuthToken returns the auth token the fake accepts and signs with.
func (s *Server) AuthToken() string { return s.authToken }

// Close stops the server, ending stalled requests and pending progressions.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.closing)
		_ = s.srv.Close()
		s.wg.Wait()
	})
}

// FailNext makes the next n API requests (of f.Method, if set) answer f.
func (s *Server) FailNext(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// RejectTo makes every create request to the number to answer f, such as
// Failure{Status: 400, Code: 21610, Message: "unsubscribed recipient"}.
func (s *Server) RejectTo(to string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectTo[to] = f
}

// ClearFailures removes pending FailNext failures, RejectTo rules and
// accept-then-drop or stall modes.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = nil
	s.rejectTo = map[string]Failure{}
	s.dropAccept, s.stallAccept = 0, 0
	s.faults = FaultPlan{}
}

// SetLatency delays every API request by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// AcceptThenDrop makes the next n create requests store the message and then
// close the connection without answering: the client cannot know that the
// message exists.
func (s *Server) AcceptThenDrop(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropAccept += n
}

// AcceptThenStall makes the next n create requests store the message and
// then never answer, until the client gives up or the server closes: the
// client times out after the message was created.
func (s *Server) AcceptThenStall(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallAccept += n
}

// SetOutcome sets the final status (and error code) that WithAutoProgress
// gives messages to the number to, such as "undelivered" with 30006.
func (s *Server) SetOutcome(to, status string, errorCode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes[to] = outcome{status: status, code: errorCode}
}

// Messages returns the accepted messages in the order they were accepted.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Message returns the accepted message with the given sid.
func (s *Server) Message(sid string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.indexOf(sid)
	if i < 0 {
		return Message{}, false
	}
	return s.messages[i], true
}

// WaitForMessages waits until at least n messages were accepted and returns
// them, or returns ctx's error with those accepted so far.
func (s *Server) WaitForMessages(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			msgs := append([]Message(nil), s.messages...)
			s.mu.Unlock()
			return msgs, nil
		}
		ch := s.changed
		msgs := append([]Message(nil), s.messages...)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return msgs, fmt.Errorf("wait for %d messages, got %d: %w", n, len(msgs), ctx.Err())
		case <-ch:
		}
	}
}

// Requests returns the API requests received, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Callbacks returns the status callbacks delivered or attempted, in order.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Callback(nil), s.callbacks...)
}

// Signature returns the X-Twilio-Signature the fake puts on a request to
// fullURL with the given form parameters.
func (s *Server) Signature(fullURL string, params url.Values) string {
	return sign(s.authToken, fullURL, params)
}

// sign implements Twilio's webhook signature: base64 of HMAC-SHA1, keyed with
// the auth token, over the URL and then each form parameter's name and value
// in name order (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
// It is written apart from lambdas/twilio so that tests cross-check the two.
func sign(token, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, value := range params[name] {
			b.WriteString(name)
			b.WriteString(value)
		}
	}
	h := hmac.New(sha1.New, []byte(token))
	h.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// NewMessageSid returns a random message sid: "SM" and 32 hex digits.
func NewMessageSid() string { return "SM" + randomHex(16) }

// Handler returns the fake's HTTP handler, for mounting it elsewhere.
func (s *Server) Handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("POST /2010-04-01/Accounts/{account}/Messages.json", s.create)
	api.HandleFunc("GET /2010-04-01/Accounts/{account}/Messages.json", s.list)
	api.HandleFunc("GET /2010-04-01/Accounts/{account}/Messages/{file}", s.fetch)
	api.HandleFunc("GET /2010-04-01/Accounts/{account}/Messages/{message}/Media/{media}", s.mediaResource)
	api.HandleFunc("DELETE /2010-04-01/Accounts/{account}/Messages/{message}/Media/{media}", s.mediaResource)
	api.HandleFunc("/", notFound)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /_fake/messages", s.fakeMessages)
	mux.HandleFunc("POST /_fake/status", s.fakeStatus)
	mux.HandleFunc("POST /_fake/inbound", s.fakeInbound)
	mux.HandleFunc("GET /_fake/media-content/{media}", s.mediaContent)
	mux.Handle("/", s.apiMiddleware(api))
	return mux
}

// apiMiddleware applies latency, records the request, injects FailNext
// failures (an outage comes before authentication) and checks basic auth.
func (s *Server) apiMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, twilioError(http.StatusBadRequest, 20001, "Invalid request body"))
			return
		}
		s.mu.Lock()
		delay := s.latency
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Form: cloneValues(r.Form), Time: s.now()})
		f, failed := s.takeFailure(r.Method)
		s.mu.Unlock()

		if delay > 0 && !s.wait(r.Context(), delay) {
			return
		}
		if failed {
			s.writeFailure(w, f)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || !equal(user, s.accountSID) || !equal(pass, s.authToken) {
			writeJSON(w, http.StatusUnauthorized, twilioError(http.StatusUnauthorized, 20003, "Authenticate"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ownAccount answers 404 unless the path names the fake's account, as
// Twilio does for another account's resources.
func (s *Server) ownAccount(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("account") == s.accountSID {
		return true
	}
	notFound(w, r)
	return false
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, twilioError(http.StatusNotFound, 20404,
		fmt.Sprintf("The requested resource %s was not found", r.URL.Path)))
}

// takeFailure pops the first pending failure that matches method; s.mu held.
func (s *Server) takeFailure(method string) (Failure, bool) {
	for i, f := range s.failures {
		if f.Method == "" || strings.EqualFold(f.Method, method) {
			s.failures = append(s.failures[:i:i], s.failures[i+1:]...)
			return f, true
		}
	}
	return Failure{}, false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// wait pauses for d; false if the request or the server ended first.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}

func (s *Server) writeFailure(w http.ResponseWriter, f Failure) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	switch {
	case f.Drop:
		dropConnection(w)
	case f.RawBody != "":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.RawBody))
	default:
		writeJSON(w, status, twilioError(status, f.Code, f.Message))
	}
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2, or a wrapping handler): a gateway error
		// leaves the client just as unsure whether the request was acted on.
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	_ = conn.Close()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// create implements POST .../Messages.json.
func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	if !s.ownAccount(w, r) {
		return
	}
	to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
	mss := r.PostForm.Get("MessagingServiceSid")
	bad := func(code int, msg string) {
		writeJSON(w, http.StatusBadRequest, twilioError(http.StatusBadRequest, code, msg))
	}
	validity := 0
	switch {
	case to == "":
		bad(21604, "A 'To' phone number is required.")
		return
	case from == "" && mss == "":
		bad(21603, "A 'From' phone number is required.")
		return
	case body == "" && len(r.PostForm["MediaUrl"]) == 0:
		bad(21602, "Message body is required.")
		return
	case utf8.RuneCountInString(body) > maxBodyChars:
		bad(21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	case !e164.MatchString(to):
		bad(21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	case from != "" && !validFrom(from):
		bad(21212, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", from))
		return
	}
	if v := r.PostForm.Get("ValidityPeriod"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 36000 {
			bad(21624, "Invalid validity period value")
			return
		}
		validity = n
	}

	proceed, hang := s.applyFault(w, r)
	if !proceed {
		return
	}
	s.fetchOutboundMedia(r.PostForm["MediaUrl"])
	s.mu.Lock()
	if f, ok := s.rejectTo[to]; ok {
		s.mu.Unlock()
		s.writeFailure(w, f)
		return
	}
	at := s.now().UTC()
	now := at.Truncate(time.Second)
	m := Message{
		Sid:                 NewMessageSid(),
		AccountSid:          s.accountSID,
		From:                from,
		To:                  to,
		Body:                body,
		MediaURLs:           r.PostForm["MediaUrl"],
		MessagingServiceSid: mss,
		StatusCallback:      r.PostForm.Get("StatusCallback"),
		ValidityPeriod:      validity,
		Status:              "queued",
		NumSegments:         segments(body),
		DateCreated:         now,
		DateUpdated:         now,
		AcceptedAt:          at,
	}
	if from == "" {
		// Sent through a Messaging Service: Twilio picks the sender later.
		m.Status = "accepted"
	}
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
	drop, stall := s.dropAccept > 0, s.dropAccept == 0 && s.stallAccept > 0
	if drop {
		s.dropAccept--
	} else if stall {
		s.stallAccept--
	}
	s.mu.Unlock()

	if s.autoStep > 0 {
		s.progress(m.Sid)
	}
	switch {
	case drop:
		dropConnection(w)
	case stall:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
	case hang > 0:
		// A fault plan's accept-then-hang: stored, answered only after
		// the client has given up.
		s.wait(r.Context(), hang)
		writeJSON(w, http.StatusCreated, m.wire())
	default:
		writeJSON(w, http.StatusCreated, m.wire())
	}
}

// progress moves a message through sent to its final status in the
// background, as WithAutoProgress asks.
func (s *Server) progress(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if !s.wait(ctx, s.autoStep) {
			return
		}
		_ = s.SetStatus(sid, "sent", 0)
		if !s.wait(ctx, s.autoStep) {
			return
		}
		m, _ := s.Message(sid)
		s.mu.Lock()
		o, ok := s.outcomes[m.To]
		s.mu.Unlock()
		if !ok {
			o = outcome{status: "delivered"}
		}
		_ = s.SetStatus(sid, o.status, o.code)
	}()
}

func (s *Server) indexOf(sid string) int {
	for i := range s.messages {
		if s.messages[i].Sid == sid {
			return i
		}
	}
	return -1
}

// fetch implements GET .../Messages/{Sid}.json.
func (s *Server) fetch(w http.ResponseWriter, r *http.Request) {
	if !s.ownAccount(w, r) {
		return
	}
	sid, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	m, found := s.Message(sid)
	if !ok || !found {
		notFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, m.wire())
}

// listJSON is Twilio's paging envelope around a page of messages.
type listJSON struct {
	FirstPageURI    string        `json:"first_page_uri"`
	End             int           `json:"end"`
	PreviousPageURI *string       `json:"previous_page_uri"`
	Messages        []messageJSON `json:"messages"`
	URI             string        `json:"uri"`
	PageSize        int           `json:"page_size"`
	Start           int           `json:"start"`
	NextPageURI     *string       `json:"next_page_uri"`
	Page            int           `json:"page"`
}

// list implements GET .../Messages.json with the To, From, DateSent,
// DateSent> and DateSent< filters, newest first, paged by Page and PageSize.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if !s.ownAccount(w, r) {
		return
	}
	q := r.URL.Query()
	filter, err := parseFilter(q)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, twilioError(http.StatusBadRequest, 20001, err.Error()))
		return
	}
	size, page := 50, 0
	if v := q.Get("PageSize"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 1000 {
			writeJSON(w, http.StatusBadRequest, twilioError(http.StatusBadRequest, 20001, "Invalid PageSize"))
			return
		}
	}
	if v := q.Get("Page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 {
			writeJSON(w, http.StatusBadRequest, twilioError(http.StatusBadRequest, 20001, "Invalid Page"))
			return
		}
	}

	s.mu.Lock()
	var matched []Message
	for i := len(s.messages) - 1; i >= 0; i-- {
		if filter.match(s.messages[i]) {
			matched = append(matched, s.messages[i])
		}
	}
	s.mu.Unlock()
	sort.SliceStable(matched, func(i, j int) bool { return matched[i].DateCreated.After(matched[j].DateCreated) })

	pageURI := func(p int) string {
		v := url.Values{}
		for _, k := range []string{"To", "From", "DateSent", "DateSent>", "DateSent<"} {
			if x := q.Get(k); x != "" {
				v.Set(k, x)
			}
		}
		v.Set("PageSize", strconv.Itoa(size))
		v.Set("Page", strconv.Itoa(p))
		if p > 0 {
			v.Set("PageToken", fmt.Sprintf("PA%d", p))
		}
		return messagesPath(s.accountSID) + ".json?" + v.Encode()
	}
	start := min(page*size, len(matched))
	end := min(start+size, len(matched))
	out := listJSON{
		FirstPageURI: pageURI(0),
		URI:          pageURI(page),
		PageSize:     size,
		Page:         page,
		Start:        start,
		End:          max(end-1, start),
		Messages:     []messageJSON{},
	}
	for _, m := range matched[start:end] {
		out.Messages = append(out.Messages, m.wire())
	}
	if end < len(matched) {
		next := pageURI(page + 1)
		out.NextPageURI = &next
	}
	if page > 0 {
		prev := pageURI(page - 1)
		out.PreviousPageURI = &prev
	}
	writeJSON(w, http.StatusOK, out)
}

// filter selects messages for list. A DateSent bound matches only messages
// already sent: a queued message's date_sent is null.
type filter struct {
	to, from      string
	day           time.Time // DateSent: that UTC day
	after, before time.Time // DateSent> (on or after), DateSent< (on or before)

	hasDay, hasAfter, hasBefore bool
}

func parseFilter(q url.Values) (filter, error) {
	f := filter{to: q.Get("To"), from: q.Get("From")}
	for _, p := range []struct {
		key   string
		t     *time.Time
		isSet *bool
	}{{"DateSent", &f.day, &f.hasDay}, {"DateSent>", &f.after, &f.hasAfter}, {"DateSent<", &f.before, &f.hasBefore}} {
		v := q.Get(p.key)
		if v == "" {
			continue
		}
		t, dateOnly, err := parseDate(v)
		if err != nil {
			return filter{}, fmt.Errorf("invalid %s value %q", p.key, v)
		}
		if p.key == "DateSent<" && dateOnly {
			// On or before the date: up to its last instant.
			t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
		}
		*p.t, *p.isSet = t, true
	}
	return f, nil
}

// parseDate reads YYYY-MM-DD (in GMT), or RFC 3339 as twilio-go sends it.
func parseDate(v string) (t time.Time, dateOnly bool, err error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true, nil
	}
	t, err = time.Parse(time.RFC3339, v)
	return t.UTC(), false, err
}

func (f filter) match(m Message) bool {
	if (f.to != "" && m.To != f.to) || (f.from != "" && m.From != f.from) {
		return false
	}
	if !f.hasDay && !f.hasAfter && !f.hasBefore {
		return true
	}
	sent := m.DateSent.UTC()
	switch {
	case m.DateSent.IsZero():
		return false
	case f.hasDay && sent.Format(time.DateOnly) != f.day.Format(time.DateOnly):
		return false
	case f.hasAfter && sent.Before(f.after):
		return false
	case f.hasBefore && sent.After(f.before):
		return false
	}
	return true
}

// statuses are the statuses of an outbound message.
var statuses = map[string]bool{
	"accepted": true, "scheduled": true, "queued": true, "sending": true, "sent": true,
	"delivered": true, "undelivered": true, "failed": true, "canceled": true, "read": true,
}

// SetStatus changes a message's status (and error code, 0 for none) and, if
// the message has a StatusCallback, posts Twilio's signed status callback to
// it. It returns an error for an unknown sid or status, or when the callback
// fails or is not answered with a 2xx status.
func (s *Server) SetStatus(sid, status string, errorCode int) error {
	if !statuses[status] {
		return fmt.Errorf("set status of %s: unknown status %q", sid, status)
	}
	s.mu.Lock()
	i := s.indexOf(sid)
	if i < 0 {
		s.mu.Unlock()
		return fmt.Errorf("set status of %s: no such message", sid)
	}
	m := &s.messages[i]
	m.Status, m.ErrorCode = status, errorCode
	m.DateUpdated = s.now().UTC().Truncate(time.Second)
	if m.DateSent.IsZero() && (status == "sent" || status == "delivered" || status == "undelivered" || status == "read") {
		m.DateSent = m.DateUpdated
	}
	msg := *m
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	if msg.StatusCallback == "" {
		return nil
	}
	params := url.Values{
		"MessageSid":    {msg.Sid},
		"SmsSid":        {msg.Sid},
		"MessageStatus": {status},
		"SmsStatus":     {status},
		"AccountSid":    {msg.AccountSid},
		"From":          {msg.From},
		"To":            {msg.To},
		"ApiVersion":    {APIVersion},
	}
	if msg.MessagingServiceSid != "" {
		params.Set("MessagingServiceSid", msg.MessagingServiceSid)
	}
	if errorCode != 0 {
		params.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	resp, sig, err := s.post(ctx, msg.StatusCallback, params)
	cb := Callback{URL: msg.StatusCallback, Params: params, Signature: sig, Err: err}
	if resp != nil {
		cb.Status = resp.StatusCode
		_ = resp.Body.Close()
	}
	s.mu.Lock()
	s.callbacks = append(s.callbacks, cb)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("status callback for %s: %w", sid, err)
	}
	if cb.Status < 200 || cb.Status > 299 {
		return fmt.Errorf("status callback for %s: http status %d", sid, cb.Status)
	}
	return nil
}

// post sends a signed form POST as Twilio's webhooks do.
func (s *Server) post(ctx context.Context, target string, params url.Values) (*http.Response, string, error) {
	sig := sign(s.authToken, target, params)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(params.Encode()))
	if err != nil {
		return nil, sig, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("X-Twilio-Signature", sig)
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("I-Twilio-Idempotency-Token", randomHex(16))
	resp, err := s.client.Do(req)
	return resp, sig, err
}

// Inbound posts an inbound SMS webhook to webhookURL as Twilio does: a signed
// form with params (From, To, Body at least) completed with MessageSid (a new
// one unless given), SmsSid, SmsMessageSid, AccountSid, NumMedia, NumSegments,
// SmsStatus and ApiVersion. The caller closes the response body.
func (s *Server) Inbound(ctx context.Context, webhookURL string, params url.Values) (*http.Response, error) {
	p := cloneValues(params)
	if p.Get("MessageSid") == "" {
		p.Set("MessageSid", NewMessageSid())
	}
	defaults := map[string]string{
		"SmsSid":        p.Get("MessageSid"),
		"SmsMessageSid": p.Get("MessageSid"),
		"AccountSid":    s.accountSID,
		"NumMedia":      "0",
		"NumSegments":   strconv.Itoa(segments(p.Get("Body"))),
		"SmsStatus":     "received",
		"ApiVersion":    APIVersion,
	}
	for k, v := range defaults {
		if _, ok := p[k]; !ok {
			p.Set(k, v)
		}
	}
	resp, _, err := s.post(ctx, webhookURL, p)
	if err != nil {
		return nil, fmt.Errorf("post inbound sms to %s: %w", webhookURL, err)
	}
	return resp, nil
}

// fakeMessages serves GET /_fake/messages: the accepted messages as JSON.
func (s *Server) fakeMessages(w http.ResponseWriter, _ *http.Request) {
	msgs := s.Messages()
	if msgs == nil {
		msgs = []Message{}
	}
	writeJSON(w, http.StatusOK, msgs)
}

// fakeStatus serves POST /_fake/status with a JSON body
// {"sid": "SM...", "status": "delivered", "error_code": 0}: SetStatus for a
// person at a terminal.
func (s *Server) fakeStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Sid       string `json:"sid"`
		Status    string `json:"status"`
		ErrorCode int    `json:"error_code"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "decode body: " + err.Error()})
		return
	}
	if err := s.SetStatus(in.Sid, in.Status, in.ErrorCode); err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": in.Status})
}

// fakeInbound serves POST /_fake/inbound with a JSON body
// {"url": "http://127.0.0.1:8080/api/sms/incoming", "from": "+1...", "to": "+1...", "body": "..."}:
// Inbound for a person at a terminal. It answers with the webhook's status
// and body.
func (s *Server) fakeInbound(w http.ResponseWriter, r *http.Request) {
	var in struct {
		URL  string `json:"url"`
		From string `json:"from"`
		To   string `json:"to"`
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.URL == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want a JSON body with url, from, to and body"})
		return
	}
	resp, err := s.Inbound(r.Context(), in.URL, url.Values{"From": {in.From}, "To": {in.To}, "Body": {in.Body}})
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "read webhook answer: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": resp.StatusCode, "body": string(body)})
}
