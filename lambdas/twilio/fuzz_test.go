package twilio_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

// FuzzSignature checks the webhook signature on arbitrary forms and URLs:
// a signature made with the token is accepted, with either token during
// rotation; a signature made with another token, or over a changed form,
// is not; nothing panics.
func FuzzSignature(f *testing.F) {
	f.Add("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234")
	f.Add("tok", "https://relay.example.com/api/sms/incoming", "Body=%F0%9F%93%A6&Body=two&From=%2B1")
	f.Add("", "", "")
	f.Add("t", "http://[::1]:8080/a b?x=%zz", "=&=&a")
	f.Fuzz(func(t *testing.T, token, rawURL, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		sig := twilio.Signature(token, rawURL, form)
		if sig != twilio.Signature(token, rawURL, form) {
			t.Fatal("Signature is not deterministic")
		}
		v := twilio.NewValidator(token, "second-token")
		if token != "" && !v.Valid(rawURL, form, sig) {
			t.Fatalf("a signature made with the token was refused (url %q, form %v)", rawURL, form)
		}
		if token == "" && v.Valid(rawURL, form, sig) {
			t.Fatal("an empty primary token accepted a signature made with it")
		}
		if !v.Valid(rawURL, form, twilio.Signature("second-token", rawURL, form)) {
			t.Fatal("a signature made with the secondary token was refused")
		}
		if token != "other" && v.Valid(rawURL, form, twilio.Signature("other", rawURL, form)) {
			t.Fatal("a signature made with another token was accepted")
		}
		changed := url.Values{}
		for k, vs := range form {
			changed[k] = append([]string(nil), vs...)
		}
		changed.Add("Injected", "1")
		if v.Valid(rawURL, changed, sig) {
			t.Fatal("a signature was accepted for a form with an added parameter")
		}
		if v.Valid(rawURL, form, "") || (*twilio.Validator)(nil).Valid(rawURL, form, sig) {
			t.Fatal("an empty signature or a nil validator accepted a request")
		}
		// Over HTTP: the form as a body, checked against the configured base URL.
		r := httptest.NewRequest(http.MethodPost, "/api/sms/incoming", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Twilio-Signature", twilio.Signature("tok", "https://relay.example.com/api/sms/incoming", form))
		_ = twilio.NewValidator("tok", "").ValidRequest("https://relay.example.com", r)
	})
}
