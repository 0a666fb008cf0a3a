// Command devsms texts the dev server as Twilio would deliver a customer's
// (or an operator's) SMS: a form POST to the webhook with a correct
// X-Twilio-Signature. `make sms FROM=... BODY=...` runs it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devsms:", err)
		os.Exit(1)
	}
}

// Environment variables read as the flags' defaults (set by `make sms`).
const (
	EnvFrom = "DEVSMS_FROM"
	EnvTo   = "DEVSMS_TO"
	EnvBody = "DEVSMS_BODY"
)

type devInfo struct {
	WebhookURL  string   `json:"webhook_url"`
	FallbackURL string   `json:"fallback_url"`
	SandboxAuth string   `json:"sandbox_auth_token"`
	Numbers     []string `json:"numbers"`
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("devsms", flag.ContinueOnError)
	// `make sms` passes its variables through the environment, never through
	// a shell command line, so any body (quotes, $, backticks) arrives unchanged.
	from := fs.String("from", getenv(EnvFrom), "sender phone in E.164 (the customer or an operator; env "+EnvFrom+")")
	to := fs.String("to", getenv(EnvTo), "the tenant number texted (default: the first number the dev server serves; env "+EnvTo+")")
	body := fs.String("body", getenv(EnvBody), "message text (env "+EnvBody+")")
	sid := fs.String("sid", "", "MessageSid (default: a new random one; reuse one to test retries)")
	webhook := fs.String("url", "", "webhook URL (default: from the dev server's state dir)")
	fallback := fs.Bool("fallback", false, "post to the Fallback URL (/api/sms/fallback) instead, as Twilio does when the webhook fails")
	token := fs.String("token", "", "auth token that signs (default: TWILIO_AUTH_TOKEN or the sandbox token)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stateDir := getenv(config.EnvStateDir)
	if stateDir == "" {
		stateDir = ".state"
	}
	var info devInfo
	if b, err := os.ReadFile(filepath.Join(stateDir, "dev.json")); err == nil {
		_ = json.Unmarshal(b, &info)
	}
	if *webhook == "" {
		*webhook = info.WebhookURL
		if *fallback {
			*webhook = info.FallbackURL
		}
	}
	if *token == "" {
		*token = getenv(config.EnvTwilioAuthToken)
	}
	if *token == "" {
		*token = info.SandboxAuth
	}
	if *to == "" && len(info.Numbers) > 0 {
		*to = info.Numbers[0]
	}
	switch {
	case *from == "" || *body == "":
		return fmt.Errorf("usage: make sms FROM=+16195551234 BODY=\"need a pickup\" [TO=+16195550100]")
	case *webhook == "" || *token == "":
		return fmt.Errorf("no running dev server found in %s (start `make dev` first, or pass -url and -token)", stateDir)
	case *to == "":
		return errors.New("no tenant number known: pass TO=+1 and the tenant's number")
	}
	if *sid == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		*sid = "SM" + hex.EncodeToString(b[:])
	}
	form := url.Values{"MessageSid": {*sid}, "SmsSid": {*sid}, "SmsMessageSid": {*sid}, "AccountSid": {"AC" + strings.Repeat("0", 32)},
		"From": {*from}, "To": {*to}, "Body": {*body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "ApiVersion": {"2010-04-01"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, *webhook, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Signature(*token, *webhook, form))
	client := &http.Client{Timeout: 15 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post to %s: %w", *webhook, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(out, "%s %s → %s (%s)\n%s\n", resp.Status, *from, *to, *sid, b)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
