package awsapp

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

// tokenSender accepts only the token Twilio currently knows.
type tokenSender struct {
	token string
	valid *string
	sends *int
}

func (s tokenSender) Send(context.Context, relay.Message) (relay.Sent, error) {
	*s.sends++
	if s.token != *s.valid {
		return relay.Sent{}, &relay.Error{Kind: relay.Internal, Code: 20003, Msg: "twilio: create message: Authenticate"}
	}
	return relay.Sent{Sid: "SM1"}, nil
}

func TestCredentialsReReadAfterAnAuthenticationError(t *testing.T) {
	tests := []struct {
		name        string
		stored      string        // token in Secrets Manager when the send fails
		sinceLoad   time.Duration // time since the last read
		wantErr     bool
		wantReads   int
		wantSends   int
		wantToken   string
		wantNewSigs bool // webhooks signed with the new token verify
	}{
		{"rotated token is re-read and the send retried", "new", 2 * time.Minute, false, 2, 2, "new", true},
		{"unchanged secret: the error stands", "old", 2 * time.Minute, true, 2, 1, "old", false},
		{"re-read at most once a minute", "new", 10 * time.Second, true, 1, 1, "old", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			valid, stored, reads, sends := "new", "old", 0, 0
			now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
			c := &Credentials{
				load: func(context.Context) (config.TwilioSecret, error) {
					reads++
					return config.TwilioSecret{AccountSID: "AC1", AuthToken: stored}, nil
				},
				build: func(s config.TwilioSecret) (relay.Sender, error) {
					return tokenSender{token: s.AuthToken, valid: &valid, sends: &sends}, nil
				},
				public: "https://relay.example.com", log: slog.New(slog.DiscardHandler), now: func() time.Time { return now },
			}
			s, _ := c.load(context.Background())
			if err := c.use(s); err != nil {
				t.Fatal(err)
			}
			stored, now = tc.stored, now.Add(tc.sinceLoad)
			_, err := c.Send(context.Background(), relay.Message{To: "+16195550111", From: "+16195550100", Body: "hi"})
			if (err != nil) != tc.wantErr || reads != tc.wantReads || sends != tc.wantSends || c.Secret().AuthToken != tc.wantToken {
				t.Errorf("err %v, reads %d, sends %d, token %q; want err %v, %d reads, %d sends, token %q",
					err, reads, sends, c.Secret().AuthToken, tc.wantErr, tc.wantReads, tc.wantSends, tc.wantToken)
			}
			f := url.Values{"Body": {"hi"}}
			r := httptest.NewRequest("POST", "/api/sms/incoming", strings.NewReader(f.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("X-Twilio-Signature", twilio.Signature("new", "https://relay.example.com/api/sms/incoming", f))
			if got := c.Verify(r); got != tc.wantNewSigs {
				t.Errorf("new-token signature verifies: got %v, want %v", got, tc.wantNewSigs)
			}
		})
	}
}

func (s tokenSender) Lookup(context.Context, relay.Message, time.Time) (relay.Sent, bool, error) {
	if s.token != *s.valid {
		return relay.Sent{}, false, &relay.Error{Kind: relay.Internal, Code: 20003, Msg: "twilio: list messages: Authenticate"}
	}
	return relay.Sent{}, false, nil
}
