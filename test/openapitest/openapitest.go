// Package openapitest checks HTTP exchanges against the relay's OpenAPI
// document (lambdas/httpapi/openapi.json) with kin-openapi. Only tests
// import it, so the validator never reaches a Lambda binary.
package openapitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Validator checks requests and responses against one document.
type Validator struct {
	Doc    *openapi3.T
	router routers.Router

	mu      sync.Mutex
	checked map[string]bool // "METHOD path-template status" seen
}

// New loads and validates the document.
func New(t testing.TB, doc []byte) *Validator {
	t.Helper()
	loader := openapi3.NewLoader()
	d, err := loader.LoadFromData(doc)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	if err := d.Validate(loader.Context); err != nil {
		t.Fatalf("OpenAPI document is not valid: %v", err)
	}
	r, err := legacy.NewRouter(d)
	if err != nil {
		t.Fatalf("OpenAPI router: %v", err)
	}
	return &Validator{Doc: d, router: r, checked: map[string]bool{}}
}

// Check validates one exchange: the request (with its body) must be one the
// document describes, and the response (status, headers, body) one it
// allows. Requests the handler refuses as malformed are still matched to
// their route, but their bodies and parameters are not validated when the
// answer is a 4xx, since sending bad input is the point of such a test.
func (v *Validator) Check(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) {
	t.Helper()
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	if r.URL.Host == "" {
		r.URL.Host = "localhost"
	}
	route, params, err := v.router.FindRoute(r)
	if err != nil && (status == http.StatusMethodNotAllowed || status == http.StatusNotFound && strings.Contains(string(respBody), "no route")) {
		return // a method or path the document rightly does not have
	}
	if err != nil {
		t.Errorf("OpenAPI: %s %s is not in the document: %v", req.Method, req.URL.Path, err)
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true,
		IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	if status < 400 || status >= 500 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("OpenAPI: request %s %s does not match the document: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}
	if len(respBody) == 0 {
		out.Options = &openapi3filter.Options{ExcludeResponseBody: true, IncludeResponseStatus: true,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("OpenAPI: response %d to %s %s does not match the document: %v\nbody: %s", status, req.Method,
			req.URL.Path, err, truncate(respBody))
	}
	v.mu.Lock()
	v.checked[req.Method+" "+route.Path] = true
	v.mu.Unlock()
}

// Checked lists the "METHOD /path/{template}" operations Check has seen.
func (v *Validator) Checked() map[string]bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]bool, len(v.checked))
	for k := range v.checked {
		out[k] = true
	}
	return out
}

func truncate(b []byte) string {
	s := string(b)
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return strings.TrimSpace(s)
}

// Transport returns an http.RoundTripper that validates every exchange it
// carries against the document, for black-box tests of a running server.
func (v *Validator) Transport(t testing.TB, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		var body []byte
		if req.Body != nil {
			b, err := io.ReadAll(req.Body)
			if err != nil {
				return nil, err
			}
			body = b
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		resp, err := next.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		rb, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(rb))
		// OPTIONS is the CORS preflight every route answers alike; the
		// document describes the routes' own methods.
		if strings.HasPrefix(req.URL.Path, "/api/") && req.Method != http.MethodOptions {
			v.Check(t, req, body, resp.StatusCode, resp.Header, rb)
		}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
