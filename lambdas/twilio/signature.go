// Package twilio is the relay's adapter to Twilio: it sends SMS through the
// REST API (a relay.Sender) and checks the X-Twilio-Signature of the webhooks
// Twilio posts to the relay.
//
// Only the twilio-go client and 2010 API packages are imported, not the root
// twilio package, to keep the Lambda binary small.
package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Signature computes the X-Twilio-Signature Twilio sends with a webhook: the
// base64 HMAC-SHA1, keyed with the auth token, of the full URL Twilio called
// (query string included) followed by every POST parameter sorted by name,
// each name immediately followed by its value. A name that repeats contributes
// every value in the order received.
//
// See https://www.twilio.com/docs/usage/webhooks/webhooks-security (formerly
// https://www.twilio.com/docs/usage/security#validating-requests).
func Signature(authToken, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, k := range keys {
		for _, v := range params[k] {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Validator checks webhook signatures against the account's auth token and,
// while a token is being rotated, a second one. Its zero value rejects
// everything, so a missing token fails closed.
type Validator struct {
	tokens []string
}

// NewValidator returns a Validator that accepts signatures made with primary
// or with secondary. Empty tokens are ignored; secondary may be empty.
func NewValidator(primary, secondary string) *Validator {
	v := &Validator{}
	for _, t := range []string{primary, secondary} {
		if t != "" {
			v.tokens = append(v.tokens, t)
		}
	}
	return v
}

// Valid reports whether signature is Twilio's signature of fullURL and params
// under one of the validator's tokens. The comparison is constant-time, every
// token is tried, and an empty signature is never valid.
func (v *Validator) Valid(fullURL string, params url.Values, signature string) bool {
	if v == nil || signature == "" {
		return false
	}
	ok := false
	for _, t := range v.tokens {
		want := Signature(t, fullURL, params)
		// Evaluate every token so the time taken does not reveal which matched.
		if hmac.Equal([]byte(want), []byte(signature)) {
			ok = true
		}
	}
	return ok
}

// ValidRequest reports whether r carries a valid X-Twilio-Signature. The URL
// is rebuilt from base with PublicURL and the signed parameters are r's POST
// form, so a GET webhook is checked on its URL alone. It parses r's form.
func (v *Validator) ValidRequest(base string, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		return false
	}
	return v.Valid(PublicURL(base, r), r.PostForm, r.Header.Get("X-Twilio-Signature"))
}

// PublicURL rebuilds the URL Twilio signed for r: the configured public base
// URL (scheme, host and any path prefix, as entered in the Twilio console, for
// example "https://relay.example.com"), then r's path and raw query exactly as
// received. The Host header and r.URL's scheme are ignored on purpose: behind
// CloudFront and API Gateway they name the origin, not the URL Twilio called,
// and trusting them would let a caller choose the URL being verified.
func PublicURL(base string, r *http.Request) string {
	s := strings.TrimRight(base, "/") + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		s += "?" + r.URL.RawQuery
	}
	return s
}

// Verifier checks a request's signature against a fixed public base URL; it
// is what the HTTP layer's SignatureVerifier needs.
type Verifier struct {
	Validator *Validator
	BaseURL   string
}

// Verify reports whether r, with its form parsed, carries a valid signature.
func (v Verifier) Verify(r *http.Request) bool { return v.Validator.ValidRequest(v.BaseURL, r) }
