// Package faultproxy is an HTTP reverse proxy that injects the faults AWS
// services show under load in front of a local stand-in (dynalite for
// DynamoDB, gofakes3 for S3): throttling (DynamoDB's
// ProvisionedThroughputExceededException, S3's SlowDown), 500s, a request
// applied by the service but answered 500 (the client cannot tell it from
// a failure), and delays. Each share is drawn once per request.
package faultproxy

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Flavor is the AWS protocol whose error bodies the proxy writes.
type Flavor int

// Flavors.
const (
	// DynamoDB answers errors as awsJson1_0 bodies with a __type.
	DynamoDB Flavor = iota
	// S3 answers errors as REST-XML <Error> documents.
	S3
)

// Plan is the share of requests (0..1 each, at most 1 together) that get
// each fault.
type Plan struct {
	// Throttle answers 400 ProvisionedThroughputExceededException (DynamoDB)
	// or 503 SlowDown (S3) without forwarding.
	Throttle float64
	// ServerError answers 500 without forwarding.
	ServerError float64
	// AppliedThen500 forwards the request, drops the service's answer and
	// answers 500: the write happened, the client was told it failed.
	AppliedThen500 float64
	// Delay forwards after DelayFor.
	Delay float64
	// DelayFor is the delay of delayed requests (default 50 ms).
	DelayFor time.Duration
}

// Stats counts what the proxy did.
type Stats struct {
	Requests, Throttled, ServerErrors, AppliedThen500, Delayed int
}

// Faults is the number of requests that got a fault other than a delay.
func (s Stats) Faults() int { return s.Throttled + s.ServerErrors + s.AppliedThen500 }

func (s Stats) String() string {
	return fmt.Sprintf("requests=%d throttled=%d server_errors=%d applied_then_500=%d delayed=%d",
		s.Requests, s.Throttled, s.ServerErrors, s.AppliedThen500, s.Delayed)
}

// Proxy is a running fault proxy.
type Proxy struct {
	flavor Flavor
	rp     *httputil.ReverseProxy
	srv    *httptest.Server

	mu    sync.Mutex
	plan  Plan
	stats Stats
}

// New starts a proxy on a loopback port in front of target.
func New(target string, flavor Flavor, plan Plan) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("faultproxy target %q: want an absolute URL", target)
	}
	host, _, _ := net.SplitHostPort(u.Host)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("faultproxy target %q is not on loopback", target)
	}
	p := &Proxy{flavor: flavor, rp: httputil.NewSingleHostReverseProxy(u)}
	p.SetPlan(plan)
	p.srv = httptest.NewServer(p)
	return p, nil
}

// Start is New for tests: the proxy closes when t ends.
func Start(t testing.TB, target string, flavor Flavor, plan Plan) *Proxy {
	t.Helper()
	p, err := New(target, flavor, plan)
	if err != nil {
		t.Fatalf("start fault proxy: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// URL is the proxy's endpoint, for the SDK client's BaseEndpoint.
func (p *Proxy) URL() string { return p.srv.URL }

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

// SetPlan replaces the fault plan.
func (p *Proxy) SetPlan(plan Plan) {
	if plan.DelayFor <= 0 {
		plan.DelayFor = 50 * time.Millisecond
	}
	p.mu.Lock()
	p.plan = plan
	p.mu.Unlock()
}

// Stats returns what the proxy did so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// ServeHTTP draws a fault and forwards or answers.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	plan := p.plan
	p.stats.Requests++
	x := rand.Float64()
	kind := ""
	for _, c := range []struct {
		share float64
		name  string
	}{{plan.Throttle, "throttle"}, {plan.ServerError, "500"}, {plan.AppliedThen500, "applied"}, {plan.Delay, "delay"}} {
		if x < c.share {
			kind = c.name
			break
		}
		x -= c.share
	}
	switch kind {
	case "throttle":
		p.stats.Throttled++
	case "500":
		p.stats.ServerErrors++
	case "applied":
		p.stats.AppliedThen500++
	case "delay":
		p.stats.Delayed++
	}
	p.mu.Unlock()

	switch kind {
	case "throttle":
		p.throttle(w)
	case "500":
		p.serverError(w)
	case "applied":
		rec := httptest.NewRecorder()
		p.rp.ServeHTTP(rec, r)
		p.serverError(w)
	case "delay":
		select {
		case <-time.After(plan.DelayFor):
		case <-r.Context().Done():
			return
		}
		p.rp.ServeHTTP(w, r)
	default:
		p.rp.ServeHTTP(w, r)
	}
}

func (p *Proxy) throttle(w http.ResponseWriter) {
	if p.flavor == S3 {
		writeXML(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return
	}
	writeDynamo(w, http.StatusBadRequest, "ProvisionedThroughputExceededException",
		"The level of configured provisioned throughput for the table was exceeded.")
}

func (p *Proxy) serverError(w http.ResponseWriter) {
	if p.flavor == S3 {
		writeXML(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
		return
	}
	writeDynamo(w, http.StatusInternalServerError, "InternalServerError", "Internal server error")
}

func writeDynamo(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":%q}`, typ, msg)
}

func writeXML(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>faultproxy</RequestId></Error>`, code, msg)
	_, _ = io.Copy(w, &b)
}
