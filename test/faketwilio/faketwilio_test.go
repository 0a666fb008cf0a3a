package faketwilio_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

// apiDo sends an API request with the given credentials and decodes the JSON
// answer into a map.
func apiDo(t *testing.T, srv *faketwilio.Server, method, path, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	target := srv.URL() + path
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else if form != nil {
		target += "?" + form.Encode()
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode answer of %s %s: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func messagesPath(srv *faketwilio.Server) string {
	return "/2010-04-01/Accounts/" + srv.AccountSID() + "/Messages.json"
}

func create(t *testing.T, srv *faketwilio.Server, form url.Values) (int, map[string]any) {
	t.Helper()
	return apiDo(t, srv, http.MethodPost, messagesPath(srv), srv.AccountSID(), srv.AuthToken(), form)
}

func TestCreateValidation(t *testing.T) {
	srv := faketwilio.Start(t)
	long := strings.Repeat("a", 1601)
	tests := []struct {
		name       string
		auth       string // "" good credentials, "wrong" a wrong token, "none" no credentials
		form       url.Values
		wantStatus int
		wantCode   int
	}{
		{"accepted", "", url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}}, 201, 0},
		{"accepted 1600 characters", "", url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {long[:1600]}}, 201, 0},
		{"accepted through a messaging service", "", url.Values{"To": {"+16195550111"}, "MessagingServiceSid": {"MG123"}, "Body": {"hi"}}, 201, 0},
		{"wrong token", "wrong", url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}}, 401, 20003},
		{"no credentials", "none", url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}}, 401, 20003},
		{"missing To", "", url.Values{"From": {"+16195550100"}, "Body": {"hi"}}, 400, 21604},
		{"missing From", "", url.Values{"To": {"+16195550111"}, "Body": {"hi"}}, 400, 21603},
		{"missing Body", "", url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}}, 400, 21602},
		{"Body over 1600 characters", "", url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {long}}, 400, 21617},
		{"To not E.164", "", url.Values{"To": {"6195550111"}, "From": {"+16195550100"}, "Body": {"hi"}}, 400, 21211},
		{"From not a number", "", url.Values{"To": {"+16195550111"}, "From": {"+1-619"}, "Body": {"hi"}}, 400, 21212},
		{"ValidityPeriod too long", "", url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}, "ValidityPeriod": {"36001"}}, 400, 21624},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, pass := srv.AccountSID(), srv.AuthToken()
			switch tt.auth {
			case "wrong":
				pass = "wrong"
			case "none":
				user, pass = "", ""
			}
			status, out := apiDo(t, srv, http.MethodPost, messagesPath(srv), user, pass, tt.form)
			if status != tt.wantStatus {
				t.Fatalf("got status %d, want %d (%v)", status, tt.wantStatus, out)
			}
			if tt.wantCode == 0 {
				return
			}
			if got := int(out["code"].(float64)); got != tt.wantCode {
				t.Errorf("got code %d, want %d", got, tt.wantCode)
			}
			if got, want := int(out["status"].(float64)), tt.wantStatus; got != want {
				t.Errorf("got body status %d, want %d", got, want)
			}
			for _, k := range []string{"message", "more_info"} {
				if s, _ := out[k].(string); s == "" {
					t.Errorf("got empty %q in error body %v", k, out)
				}
			}
		})
	}
}

func TestCreateAnswerShape(t *testing.T) {
	now := time.Date(2024, 1, 15, 14, 23, 45, 0, time.UTC)
	srv := faketwilio.Start(t, faketwilio.WithNow(func() time.Time { return now }))
	status, out := create(t, srv, url.Values{
		"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"📦 Acme: ready?"},
		"StatusCallback": {"https://relay.example.com/api/sms/status-callback"}, "ValidityPeriod": {"60"},
	})
	if status != http.StatusCreated {
		t.Fatalf("got status %d, want 201", status)
	}
	sid, _ := out["sid"].(string)
	if len(sid) != 34 || !strings.HasPrefix(sid, "SM") {
		t.Errorf("got sid %q, want SM and 32 hex digits", sid)
	}
	want := map[string]any{
		"account_sid":  srv.AccountSID(),
		"from":         "+16195550100",
		"to":           "+16195550111",
		"body":         "📦 Acme: ready?",
		"status":       "queued",
		"num_segments": "1",
		"direction":    "outbound-api",
		"date_created": "Mon, 15 Jan 2024 14:23:45 +0000",
		"date_sent":    nil,
		"error_code":   nil,
		"api_version":  "2010-04-01",
		"uri":          "/2010-04-01/Accounts/" + srv.AccountSID() + "/Messages/" + sid + ".json",
	}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("got %s %v, want %v", k, out[k], v)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	if got := msgs[0]; got.Sid != sid || got.ValidityPeriod != 60 || got.StatusCallback == "" {
		t.Errorf("got message %+v, want sid %s, validity 60 and a status callback", got, sid)
	}

	code, fetched := apiDo(t, srv, http.MethodGet, "/2010-04-01/Accounts/"+srv.AccountSID()+"/Messages/"+sid+".json", srv.AccountSID(), srv.AuthToken(), nil)
	if code != http.StatusOK || fetched["sid"] != sid {
		t.Errorf("fetch: got %d %v, want 200 and sid %s", code, fetched["sid"], sid)
	}
	code, missing := apiDo(t, srv, http.MethodGet, "/2010-04-01/Accounts/"+srv.AccountSID()+"/Messages/SMnope.json", srv.AccountSID(), srv.AuthToken(), nil)
	if code != http.StatusNotFound || missing["code"] != float64(20404) {
		t.Errorf("fetch unknown: got %d %v, want 404 and code 20404", code, missing)
	}
	code, other := apiDo(t, srv, http.MethodGet, "/2010-04-01/Accounts/ACother/Messages.json", srv.AccountSID(), srv.AuthToken(), nil)
	if code != http.StatusNotFound || other["code"] != float64(20404) {
		t.Errorf("other account: got %d %v, want 404 and code 20404", code, other)
	}
}

func TestSegments(t *testing.T) {
	srv := faketwilio.Start(t)
	tests := []struct {
		name string
		body string
		want string
	}{
		{"160 GSM characters", strings.Repeat("a", 160), "1"},
		{"161 GSM characters", strings.Repeat("a", 161), "2"},
		{"extension characters count twice", strings.Repeat("{", 81), "2"},
		{"70 UCS-2 characters", strings.Repeat("é", 69) + "ж", "1"},
		{"71 UCS-2 characters", strings.Repeat("ж", 71), "2"},
		{"emoji are two UCS-2 units", strings.Repeat("📦", 36), "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, out := create(t, srv, url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {tt.body}})
			if got := out["num_segments"]; got != tt.want {
				t.Errorf("got num_segments %v, want %s", got, tt.want)
			}
		})
	}
}

func TestListFilters(t *testing.T) {
	day1 := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := day1
	srv := faketwilio.Start(t, faketwilio.WithNow(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
	setNow := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }

	send := func(to, from, body string) string {
		_, out := create(t, srv, url.Values{"To": {to}, "From": {from}, "Body": {body}})
		return out["sid"].(string)
	}
	a := send("+16195550111", "+16195550100", "a") // day 1, then sent on day 1
	if err := srv.SetStatus(a, "sent", 0); err != nil {
		t.Fatalf("set status: %v", err)
	}
	setNow(day1.Add(time.Hour))
	b := send("+16195550112", "+16195550100", "b") // stays queued
	setNow(day1.AddDate(0, 0, 1))
	c := send("+16195550111", "+16195550199", "c") // day 2, sent on day 2
	if err := srv.SetStatus(c, "delivered", 0); err != nil {
		t.Fatalf("set status: %v", err)
	}

	tests := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"all, newest first", nil, []string{c, b, a}},
		{"To", url.Values{"To": {"+16195550111"}}, []string{c, a}},
		{"From", url.Values{"From": {"+16195550100"}}, []string{b, a}},
		{"To and From", url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}}, []string{a}},
		{"DateSent day", url.Values{"DateSent": {"2024-01-15"}}, []string{a}},
		{"DateSent> day excludes queued", url.Values{"DateSent>": {"2024-01-15"}}, []string{c, a}},
		{"DateSent< day", url.Values{"DateSent<": {"2024-01-15"}}, []string{a}},
		{"DateSent> RFC 3339 as twilio-go sends", url.Values{"DateSent>": {"2024-01-15T12:00:00Z"}}, []string{c}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := apiDo(t, srv, http.MethodGet, messagesPath(srv), srv.AccountSID(), srv.AuthToken(), tt.query)
			if status != http.StatusOK {
				t.Fatalf("got status %d, want 200 (%v)", status, out)
			}
			var got []string
			for _, m := range out["messages"].([]any) {
				got = append(got, m.(map[string]any)["sid"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("paging", func(t *testing.T) {
		var got []string
		next := messagesPath(srv) + "?PageSize=2"
		for pages := 0; next != "" && pages < 5; pages++ {
			status, out := apiDo(t, srv, http.MethodGet, next, srv.AccountSID(), srv.AuthToken(), nil)
			if status != http.StatusOK {
				t.Fatalf("got status %d, want 200", status)
			}
			for _, m := range out["messages"].([]any) {
				got = append(got, m.(map[string]any)["sid"].(string))
			}
			next, _ = out["next_page_uri"].(string)
			if out["page_size"] != float64(2) {
				t.Errorf("got page_size %v, want 2", out["page_size"])
			}
		}
		if want := []string{c, b, a}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestInjection(t *testing.T) {
	ok := url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}}
	t.Run("fail next", func(t *testing.T) {
		srv := faketwilio.Start(t)
		srv.FailNext(2, faketwilio.Failure{Status: 503, Code: 20503, Message: "Service Unavailable"})
		for i := range 2 {
			if status, out := create(t, srv, ok); status != 503 || out["code"] != float64(20503) {
				t.Errorf("request %d: got %d %v, want 503 and code 20503", i, status, out)
			}
		}
		if status, _ := create(t, srv, ok); status != 201 {
			t.Errorf("third request: got %d, want 201", status)
		}
		if got := len(srv.Messages()); got != 1 {
			t.Errorf("got %d messages, want 1", got)
		}
		if got := len(srv.Requests()); got != 3 {
			t.Errorf("got %d requests, want 3", got)
		}
	})
	t.Run("fail next by method", func(t *testing.T) {
		srv := faketwilio.Start(t)
		srv.FailNext(1, faketwilio.Failure{Method: "GET", Status: 500, Code: 20500, Message: "Internal"})
		if status, _ := create(t, srv, ok); status != 201 {
			t.Errorf("POST: got %d, want 201", status)
		}
		if status, _ := apiDo(t, srv, http.MethodGet, messagesPath(srv), srv.AccountSID(), srv.AuthToken(), nil); status != 500 {
			t.Errorf("GET: got %d, want 500", status)
		}
	})
	t.Run("reject destination", func(t *testing.T) {
		srv := faketwilio.Start(t)
		srv.RejectTo("+16195550111", faketwilio.Failure{Status: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"})
		for range 2 {
			if status, out := create(t, srv, ok); status != 400 || out["code"] != float64(21610) {
				t.Errorf("got %d %v, want 400 and code 21610", status, out)
			}
		}
		other := url.Values{"To": {"+16195550112"}, "From": {"+16195550100"}, "Body": {"hi"}}
		if status, _ := create(t, srv, other); status != 201 {
			t.Errorf("other destination: got %d, want 201", status)
		}
	})
	t.Run("accept then drop", func(t *testing.T) {
		srv := faketwilio.Start(t)
		srv.AcceptThenDrop(1)
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+messagesPath(srv), strings.NewReader(ok.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(srv.AccountSID(), srv.AuthToken())
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got status %d, want a connection error", resp.StatusCode)
		}
		if got := len(srv.Messages()); got != 1 {
			t.Errorf("got %d messages, want 1 (accepted before the drop)", got)
		}
	})
	t.Run("accept then stall", func(t *testing.T) {
		srv := faketwilio.Start(t)
		srv.AcceptThenStall(1)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+messagesPath(srv), strings.NewReader(ok.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(srv.AccountSID(), srv.AuthToken())
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got status %d, want a timeout", resp.StatusCode)
		}
		if got := len(srv.Messages()); got != 1 {
			t.Errorf("got %d messages, want 1", got)
		}
	})
	t.Run("latency", func(t *testing.T) {
		srv := faketwilio.Start(t)
		srv.SetLatency(30 * time.Millisecond)
		start := time.Now()
		create(t, srv, ok)
		if got := time.Since(start); got < 30*time.Millisecond {
			t.Errorf("got answer after %v, want at least 30ms", got)
		}
	})
}

// signatureChecker is a webhook receiver that records what it got and checks
// the signature with twilio-go's own validator.
type signatureChecker struct {
	mu     sync.Mutex
	token  string
	url    string
	got    []url.Values
	valid  []bool
	answer int
}

func (c *signatureChecker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	flat := map[string]string{}
	for k := range r.PostForm {
		flat[k] = r.PostForm.Get(k)
	}
	v := twclient.NewRequestValidator(c.token)
	ok := v.Validate(c.url, flat, r.Header.Get("X-Twilio-Signature"))
	c.mu.Lock()
	c.got = append(c.got, r.PostForm)
	c.valid = append(c.valid, ok)
	answer := c.answer
	c.mu.Unlock()
	if answer == 0 {
		answer = http.StatusOK
	}
	w.WriteHeader(answer)
}

func TestStatusCallback(t *testing.T) {
	srv := faketwilio.Start(t)
	checker := &signatureChecker{token: srv.AuthToken()}
	hook := httptest.NewServer(checker)
	defer hook.Close()
	checker.url = hook.URL + "/api/sms/status?tenant=qdn"

	_, out := create(t, srv, url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}, "StatusCallback": {checker.url}})
	sid := out["sid"].(string)
	if err := srv.SetStatus(sid, "undelivered", 30006); err != nil {
		t.Fatalf("set status: %v", err)
	}
	checker.mu.Lock()
	defer checker.mu.Unlock()
	if len(checker.got) != 1 {
		t.Fatalf("got %d callbacks, want 1", len(checker.got))
	}
	if !checker.valid[0] {
		t.Errorf("got a signature twilio-go rejects")
	}
	want := map[string]string{
		"MessageSid": sid, "SmsSid": sid, "MessageStatus": "undelivered", "SmsStatus": "undelivered",
		"AccountSid": srv.AccountSID(), "From": "+16195550100", "To": "+16195550111",
		"ApiVersion": "2010-04-01", "ErrorCode": "30006",
	}
	for k, v := range want {
		if got := checker.got[0].Get(k); got != v {
			t.Errorf("got %s %q, want %q", k, got, v)
		}
	}
	if m, _ := srv.Message(sid); m.Status != "undelivered" || m.ErrorCode != 30006 || m.DateSent.IsZero() {
		t.Errorf("got message %+v, want undelivered, 30006 and a date sent", m)
	}
	cbs := srv.Callbacks()
	if len(cbs) != 1 || cbs[0].Status != 200 || cbs[0].Signature == "" {
		t.Errorf("got callbacks %+v, want one answered 200 with a signature", cbs)
	}
}

func TestStatusCallbackErrors(t *testing.T) {
	srv := faketwilio.Start(t)
	checker := &signatureChecker{token: srv.AuthToken(), answer: http.StatusForbidden}
	hook := httptest.NewServer(checker)
	defer hook.Close()
	checker.url = hook.URL + "/cb"
	_, out := create(t, srv, url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}, "StatusCallback": {checker.url}})
	sid := out["sid"].(string)

	tests := []struct {
		name   string
		sid    string
		status string
	}{
		{"receiver refuses", sid, "delivered"},
		{"unknown sid", "SMnope", "delivered"},
		{"unknown status", sid, "teleported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := srv.SetStatus(tt.sid, tt.status, 0); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
}

func TestAutoProgress(t *testing.T) {
	srv := faketwilio.Start(t, faketwilio.WithAutoProgress(time.Millisecond))
	checker := &signatureChecker{token: srv.AuthToken()}
	hook := httptest.NewServer(checker)
	defer hook.Close()
	checker.url = hook.URL + "/cb"
	srv.SetOutcome("+16195550112", "undelivered", 30003)

	_, ok := create(t, srv, url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}, "StatusCallback": {checker.url}})
	_, bad := create(t, srv, url.Values{"To": {"+16195550112"}, "From": {"+16195550100"}, "Body": {"hi"}, "StatusCallback": {checker.url}})

	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Callbacks()) < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	tests := []struct {
		name       string
		sid        string
		wantStatus string
		wantCode   int
	}{
		{"delivered by default", ok["sid"].(string), "delivered", 0},
		{"outcome set for the destination", bad["sid"].(string), "undelivered", 30003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := srv.Message(tt.sid)
			if m.Status != tt.wantStatus || m.ErrorCode != tt.wantCode {
				t.Errorf("got %s/%d, want %s/%d", m.Status, m.ErrorCode, tt.wantStatus, tt.wantCode)
			}
		})
	}
	checker.mu.Lock()
	defer checker.mu.Unlock()
	for i, ok := range checker.valid {
		if !ok {
			t.Errorf("callback %d: got an invalid signature", i)
		}
	}
}

func TestInbound(t *testing.T) {
	srv := faketwilio.Start(t)
	checker := &signatureChecker{token: srv.AuthToken()}
	hook := httptest.NewServer(checker)
	defer hook.Close()
	checker.url = hook.URL + "/api/sms/incoming"

	tests := []struct {
		name    string
		params  url.Values
		wantSid string
	}{
		{"generated sid", url.Values{"From": {"+16195551234"}, "To": {"+16195550100"}, "Body": {"where is my truck?"}}, ""},
		{"given sid", url.Values{"From": {"+16195551234"}, "To": {"+16195550100"}, "Body": {"hi"}, "MessageSid": {"SM11111111111111111111111111111111"}}, "SM11111111111111111111111111111111"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := srv.Inbound(context.Background(), checker.url, tt.params)
			if err != nil {
				t.Fatalf("inbound: %v", err)
			}
			resp.Body.Close()
			checker.mu.Lock()
			defer checker.mu.Unlock()
			got := checker.got[i]
			if !checker.valid[i] {
				t.Errorf("got a signature twilio-go rejects")
			}
			sid := got.Get("MessageSid")
			if len(sid) != 34 || !strings.HasPrefix(sid, "SM") || (tt.wantSid != "" && sid != tt.wantSid) {
				t.Errorf("got MessageSid %q, want %q or a new SM sid", sid, tt.wantSid)
			}
			for k, want := range map[string]string{
				"SmsSid": sid, "SmsMessageSid": sid, "AccountSid": srv.AccountSID(), "NumMedia": "0",
				"From": tt.params.Get("From"), "To": tt.params.Get("To"), "Body": tt.params.Get("Body"), "ApiVersion": "2010-04-01",
			} {
				if got.Get(k) != want {
					t.Errorf("got %s %q, want %q", k, got.Get(k), want)
				}
			}
		})
	}
}

func TestSignatureMatchesTwilioVector(t *testing.T) {
	// Twilio's published example (https://www.twilio.com/docs/usage/security#validating-requests).
	srv := faketwilio.Start(t, faketwilio.WithCredentials("AC123", "12345"))
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	if got, want := srv.Signature("https://mycompany.com/myapp.php?foo=1&bar=2", params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestReadBackEndpoint(t *testing.T) {
	srv := faketwilio.Start(t)
	create(t, srv, url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}})
	resp, err := http.Get(srv.URL() + "/_fake/messages")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	defer resp.Body.Close()
	var msgs []faketwilio.Message
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(msgs) != 1 || msgs[0].Body != "hi" || msgs[0].To != "+16195550111" {
		t.Errorf("got %+v, want the one message", msgs)
	}
}

func TestWaitForMessages(t *testing.T) {
	srv := faketwilio.Start(t)
	go func() {
		form := url.Values{"To": {"+16195550111"}, "From": {"+16195550100"}, "Body": {"hi"}}
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+messagesPath(srv), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(srv.AccountSID(), srv.AuthToken())
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := srv.WaitForMessages(ctx, 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("got %d messages, %v; want 1, nil", len(msgs), err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if _, err := srv.WaitForMessages(short, 2); err == nil {
		t.Errorf("got no error waiting for a message that never comes, want one")
	}
}
