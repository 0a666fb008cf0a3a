package secrets_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/secrets"
)

// server speaks Secrets Manager's JSON 1.1 protocol for GetSecretValue.
func server(t *testing.T, values map[string]string) *secretsmanager.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			t.Errorf("X-Amz-Target = %q", got)
		}
		var in struct{ SecretId string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		v, ok := values[in.SecretId]
		if !ok {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": "n", "SecretString": v})
	}))
	t.Cleanup(srv.Close)
	return secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
}

func TestTwilioSecret(t *testing.T) {
	c := server(t, map[string]string{
		"arn:good":  `{"account_sid":"AC123","auth_token":"tok","auth_token_secondary":"tok2"}`,
		"arn:plain": `not json`,
		"arn:empty": `{"account_sid":"","auth_token":""}`,
	})
	ctx := context.Background()
	s, err := secrets.Twilio(ctx, c, "arn:good")
	if err != nil || s.AccountSID != "AC123" || s.AuthTokenSecondary != "tok2" {
		t.Fatalf("Twilio = %+v, %v", s, err)
	}
	for _, arn := range []string{"arn:plain", "arn:empty"} {
		if _, err := secrets.Twilio(ctx, c, arn); relay.KindOf(err) != relay.Invalid {
			t.Errorf("Twilio(%s) = %v, want Invalid", arn, err)
		}
	}
	if _, err := secrets.String(ctx, c, "arn:missing"); err == nil || !strings.Contains(err.Error(), "arn:missing") {
		t.Errorf("missing secret error = %v, want it to name the ARN", err)
	}
}
