package twilio_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

// Twilio's published example: auth token 12345, a POST to
// https://mycompany.com/myapp.php?foo=1&bar=2 with these parameters.
// https://www.twilio.com/docs/usage/security#validating-requests (now
// https://www.twilio.com/docs/usage/webhooks/webhooks-security).
const (
	docToken = "12345"
	docURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
	docSig   = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
)

func docParams() url.Values {
	return url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+12349013030"},
		"Digits":  {"1234"},
		"From":    {"+12349013030"},
		"To":      {"+18005551212"},
	}
}

func TestSignature(t *testing.T) {
	tests := []struct {
		name   string
		token  string
		url    string
		params url.Values
		want   string
	}{
		{"Twilio's published example", docToken, docURL, docParams(), docSig},
		{
			// The same example as the twilio-php documentation gives it.
			"twilio-php documentation example", docToken, docURL,
			url.Values{
				"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
				"From": {"+14158675309"}, "To": {"+18005551212"},
			},
			"RSOYDt4T1cUTdK1PDd93/VVr8B8=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := twilio.Signature(tt.token, tt.url, tt.params); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestSignatureAgreesWithTwilioGo cross-checks Signature with twilio-go's own
// validator on inputs without repeated keys, which it cannot express.
func TestSignatureAgreesWithTwilioGo(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		params url.Values
	}{
		{"no parameters", "https://relay.example.com/api/sms/incoming", url.Values{}},
		{"inbound sms", "https://relay.example.com/api/sms/incoming", url.Values{
			"From": {"+16195551234"}, "To": {"+16195550100"}, "Body": {"📦 where is my truck? a=b&c"},
			"MessageSid": {"SM0123"}, "NumMedia": {"0"}, "Empty": {""},
		}},
		{"query string", "https://relay.example.com/api/sms/status?tenant=qdn&x=%2B1", url.Values{"MessageStatus": {"delivered"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flat := map[string]string{}
			for k := range tt.params {
				flat[k] = tt.params.Get(k)
			}
			sig := twilio.Signature("tok3n", tt.url, tt.params)
			v := twclient.NewRequestValidator("tok3n")
			if !v.Validate(tt.url, flat, sig) {
				t.Errorf("got %s, which twilio-go rejects", sig)
			}
		})
	}
}

func TestSignatureRepeatedKeys(t *testing.T) {
	params := url.Values{"MediaUrl": {"https://a", "https://b"}, "Body": {"x"}}
	got := twilio.Signature("t", "https://h/p", params)
	want := twilio.Signature("t", "https://h/pBodyxMediaUrlhttps://aMediaUrlhttps://b", url.Values{})
	if got != want {
		t.Errorf("got %s, want %s (every value in order, the key before each)", got, want)
	}
	swapped := twilio.Signature("t", "https://h/p", url.Values{"MediaUrl": {"https://b", "https://a"}, "Body": {"x"}})
	if swapped == got {
		t.Errorf("got the same signature with values reordered, want a different one")
	}
}

func TestValidatorValid(t *testing.T) {
	tampered := docParams()
	tampered.Set("Digits", "9999")
	withQuery := "https://relay.example.com/api/sms/incoming?tenant=qdn"
	querySig := twilio.Signature("primary", withQuery, docParams())

	tests := []struct {
		name      string
		validator *twilio.Validator
		url       string
		params    url.Values
		signature string
		want      bool
	}{
		{"good signature", twilio.NewValidator(docToken, ""), docURL, docParams(), docSig, true},
		{"tampered parameter", twilio.NewValidator(docToken, ""), docURL, tampered, docSig, false},
		{"added parameter", twilio.NewValidator(docToken, ""), docURL, func() url.Values { p := docParams(); p.Set("X", "1"); return p }(), docSig, false},
		{"wrong token", twilio.NewValidator("54321", ""), docURL, docParams(), docSig, false},
		{"secondary token accepted", twilio.NewValidator("new-token", docToken), docURL, docParams(), docSig, true},
		{"url with query string", twilio.NewValidator("primary", ""), withQuery, docParams(), querySig, true},
		{"query string dropped", twilio.NewValidator("primary", ""), "https://relay.example.com/api/sms/incoming", docParams(), querySig, false},
		{"other host", twilio.NewValidator(docToken, ""), strings.Replace(docURL, "mycompany", "evil", 1), docParams(), docSig, false},
		{"empty signature", twilio.NewValidator(docToken, ""), docURL, docParams(), "", false},
		{"garbage signature", twilio.NewValidator(docToken, ""), docURL, docParams(), "not base64 at all", false},
		{"no token fails closed", twilio.NewValidator("", ""), docURL, docParams(), twilio.Signature("", docURL, docParams()), false},
		{"nil validator fails closed", nil, docURL, docParams(), docSig, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.validator.Valid(tt.url, tt.params, tt.signature); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPublicURL(t *testing.T) {
	tests := []struct {
		name   string
		base   string
		target string
		host   string
		want   string
	}{
		{"path", "https://relay.example.com", "/api/sms/incoming", "abc.execute-api.us-east-1.amazonaws.com", "https://relay.example.com/api/sms/incoming"},
		{"trailing slash on base", "https://relay.example.com/", "/api/sms/incoming", "", "https://relay.example.com/api/sms/incoming"},
		{"raw query kept as sent", "https://relay.example.com", "/api/sms/status?tenant=qdn&to=%2B1619", "", "https://relay.example.com/api/sms/status?tenant=qdn&to=%2B1619"},
		{"escaped path kept", "https://relay.example.com", "/api/a%2Fb", "", "https://relay.example.com/api/a%2Fb"},
		{"base with prefix", "http://127.0.0.1:8080/dev", "/api/sms/incoming", "", "http://127.0.0.1:8080/dev/api/sms/incoming"},
		{"host header ignored", "https://relay.example.com", "/api/sms/incoming", "evil.example.com", "https://relay.example.com/api/sms/incoming"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", tt.target, nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			if got := twilio.PublicURL(tt.base, r); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestValidRequest(t *testing.T) {
	const base = "https://relay.example.com"
	form := url.Values{"From": {"+16195551234"}, "To": {"+16195550100"}, "Body": {"hi"}, "MessageSid": {"SM1"}}
	good := twilio.Signature("tok", base+"/api/sms/incoming?tenant=qdn", form)
	tests := []struct {
		name string
		sig  string
		host string
		want bool
	}{
		{"signed for the public url", good, "internal.example", true},
		{"signed for the host header's url", twilio.Signature("tok", "http://internal.example/api/sms/incoming?tenant=qdn", form), "internal.example", false},
		{"missing signature", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/sms/incoming?tenant=qdn", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.sig != "" {
				r.Header.Set("X-Twilio-Signature", tt.sig)
			}
			if tt.host != "" {
				r.Host = tt.host
			}
			if got := twilio.NewValidator("tok", "").ValidRequest(base, r); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
