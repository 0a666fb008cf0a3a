package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

// checkAnswer is what every fuzzed request must get: no server error, and
// every rejection a 4xx JSON body that says what was wrong.
func checkAnswer(t *testing.T, w *httptest.ResponseRecorder, what string) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("%s: got status %d (%s), want < 500", what, w.Code, w.Body.String())
	}
	if w.Code < 400 {
		return
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || strings.TrimSpace(body.Error) == "" {
		t.Fatalf("%s: status %d with body %q, want JSON {\"error\": \"<what was wrong>\"}", what, w.Code, w.Body.String())
	}
}

// FuzzIncomingWebhook posts a form body to the inbound webhook twice: with
// a wrong signature (always 403, nothing relayed) and correctly signed.
func FuzzIncomingWebhook(f *testing.F) {
	f.Add("MessageSid=SM00000000000000000000000000000001&From=%2B16195551234&To=%2B16195550100&Body=hi", "application/x-www-form-urlencoded")
	f.Add("MessageSid=SM1&From=%2B16195550111&To=%2B16195550100&Body=1+OK", "application/x-www-form-urlencoded")
	f.Add("From=&To=&Body=%ff%fe", "application/x-www-form-urlencoded; charset=utf-8")
	f.Add("a=%zz&&==", "application/x-www-form-urlencoded")
	f.Add("{}", "application/json")
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body, contentType string) {
		sent := e.sender.count()
		r := httptest.NewRequest(http.MethodPost, "/api/sms/incoming", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("X-Twilio-Signature", "d3Jvbmcgc2lnbmF0dXJl")
		w := e.do(r)
		checkAnswer(t, w, "forged webhook")
		if w.Code != http.StatusForbidden && w.Code != http.StatusBadRequest && w.Code != http.StatusUnsupportedMediaType &&
			w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("forged webhook: got status %d, want 403 (or 400/413/415 before the check)", w.Code)
		}
		if got := e.sender.count(); got != sent {
			t.Fatalf("forged webhook sent %d texts", got-sent)
		}
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		r = httptest.NewRequest(http.MethodPost, "/api/sms/incoming", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Twilio-Signature", twilio.Signature(authToken, base+"/api/sms/incoming", form))
		checkAnswer(t, e.do(r), "signed webhook")
	})
}

// FuzzDeliveryWebhook posts a signed status callback with a fuzzed query and form.
func FuzzDeliveryWebhook(f *testing.F) {
	f.Add("tenant=qdn&relay=SM00000000000000000000000000000001&attempt=1", "MessageSid=SM2&MessageStatus=undelivered&ErrorCode=30006")
	f.Add("tenant=qdn&relay=SM1&attempt=-1", "MessageStatus=delivered")
	f.Add("attempt=x", "ErrorCode=abc")
	f.Add("", "")
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, query, body string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		path := "/api/sms/delivery?" + q.Encode()
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Twilio-Signature", twilio.Signature(authToken, base+path, form))
		checkAnswer(t, e.do(r), "status callback")
	})
}

// FuzzAuditQuery sends GET /api/sms/audit (and its export) with a fuzzed query.
func FuzzAuditQuery(f *testing.F) {
	f.Add("customer_id=cust_5678&limit=10")
	f.Add("since=2024-01-15T14:23:45Z&until=2024-01-14T00:00:00Z")
	f.Add("limit=0&cursor=%00%01")
	f.Add("tenant_id=other&message_sid=SM1&operator=main&cursor=eyJrIjoiIn0")
	f.Add("since=yesterday")
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, query string) {
		for _, path := range []string{"/api/sms/audit", "/api/sms/audit/export"} {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.URL.Path, r.URL.RawQuery = path, query
			r.Header.Set("Authorization", "Bearer "+admin)
			checkAnswer(t, e.do(r), path+"?"+query)
		}
	})
}

// FuzzInternalJSON posts fuzzed JSON bodies to the internal routes.
func FuzzInternalJSON(f *testing.F) {
	f.Add(uint8(0), `{"message_sid":"SM00000000000000000000000000000001"}`)
	f.Add(uint8(1), `{"message_sid":"SM1","operator":"backup"}`)
	f.Add(uint8(2), `{"message_sid":"SM1","routing_reason":"manual_note","note":"called the customer"}`)
	f.Add(uint8(0), `{"relay_id":"SMa","message_sid":"SMb"}`)
	f.Add(uint8(2), `[1,2,3]`)
	f.Add(uint8(1), `{"message_sid":"SM1"} trailing`)
	e := newEnv(f)
	routes := []string{"/api/sms/ack", "/api/sms/forward", "/api/sms/audit"}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		path := routes[int(route)%len(routes)]
		checkAnswer(t, e.do(jsonReq(http.MethodPost, path, admin, body)), path+" "+body)
	})
}
