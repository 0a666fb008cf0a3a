package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

// TestDemoData: started as `make dev` starts it (no data file, no Twilio
// credentials, no API token), the dev server serves the QuickDumpNow demo
// tenant qdn on +16195550100 with the sandbox sender.
func TestDemoData(t *testing.T) {
	t.Parallel()
	s := start(t, setup{Demo: true})

	var info struct {
		WebhookURL  string   `json:"webhook_url"`
		SandboxAuth string   `json:"sandbox_auth_token"`
		Numbers     []string `json:"numbers"`
	}
	b, err := os.ReadFile(filepath.Join(s.StateDir, "dev.json"))
	if err != nil {
		t.Fatalf("read dev.json: %v", err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatalf("decode dev.json: %v", err)
	}
	if info.WebhookURL != s.URL+"/api/sms/incoming" || len(info.Numbers) != 1 || info.Numbers[0] != "+16195550100" || info.SandboxAuth == "" {
		t.Fatalf("dev.json: got %+v, want the webhook URL, number +16195550100 and a sandbox token", info)
	}
	tok, err := os.ReadFile(filepath.Join(s.StateDir, "api-token"))
	if err != nil {
		t.Fatalf("read the generated API token: %v", err)
	}
	admin := strings.TrimSpace(string(tok))
	// The banner may still be on its way through the pipe when the server answers.
	eventually(t, 3*time.Second, func() (bool, string) {
		out := s.out.String()
		return strings.Contains(out, "tenant qdn") && strings.Contains(out, admin) &&
				strings.Contains(out, httpapi.TenantToken(admin, "qdn")),
			"banner: want tenant qdn, the admin token and qdn's token; got\n" + out
	})

	var st struct {
		Status  string `json:"status"`
		Tenants int    `json:"tenants"`
	}
	s.mustCall(http.MethodGet, "/api/sms/status", "", nil, http.StatusOK, &st)
	if st.Status != "ok" || st.Tenants != 1 {
		t.Errorf("status: got %+v, want ok with 1 tenant", st)
	}

	// The sandbox checks signatures against the token it printed.
	signer := faketwilio.Start(t, faketwilio.WithCredentials("AC00000000000000000000000000000000", info.SandboxAuth))
	sid := faketwilio.NewMessageSid()
	resp, err := signer.Inbound(context.Background(), info.WebhookURL,
		url.Values{"MessageSid": {sid}, "From": {"+16195551234"}, "To": {"+16195550100"}, "Body": {"need a pickup"}})
	if err != nil {
		t.Fatal(err)
	}
	if w := readWebhook(t, sid, resp); w.Status != http.StatusOK || w.TwiML(t) != "" {
		t.Fatalf("webhook: got %d %s, want 200 <Response/>", w.Status, w.Body)
	}
	var outbox struct {
		Messages []struct {
			From, To, Body string
		} `json:"messages"`
	}
	eventually(t, 5*time.Second, func() (bool, string) {
		s.mustCall(http.MethodGet, "/dev/outbox", "", nil, http.StatusOK, &outbox)
		return len(outbox.Messages) > 0, "the sandbox outbox stayed empty"
	})
	m := outbox.Messages[0]
	if want := forwardBody("Acme Waste Inc.", "need a pickup", 1); len(outbox.Messages) != 1 ||
		m.From != "+16195550100" || m.To != "+16195550112" || m.Body != want {
		t.Errorf("sandbox outbox: got %+v, want one text +16195550100 → +16195550112 %q", outbox.Messages, want)
	}
	recs := s.auditAs(admin, url.Values{"message_sid": {sid}})
	if len(recs) != 1 || recs[0].TenantID != "qdn" || recs[0].RoutedToOperator != "sergio_backup" ||
		recs[0].RoutingReason != "primary_operator_assigned_to_job" {
		t.Errorf("audit: got %+v, want one routed record of qdn to sergio_backup", recs)
	}
}
