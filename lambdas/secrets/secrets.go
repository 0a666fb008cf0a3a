// Package secrets reads the relay's secrets from AWS Secrets Manager by ARN,
// once per cold start, so no secret value is ever in an environment variable.
package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// API is the part of the Secrets Manager client the package uses.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// String returns a secret's string value.
func String(ctx context.Context, api API, arn string) (string, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", arn, err)
	}
	if out.SecretString == nil || strings.TrimSpace(*out.SecretString) == "" {
		return "", relay.Errorf(relay.Invalid, "secret %s is empty", arn)
	}
	return strings.TrimSpace(*out.SecretString), nil
}

// Twilio returns the Twilio credentials secret, checked for completeness.
func Twilio(ctx context.Context, api API, arn string) (config.TwilioSecret, error) {
	var s config.TwilioSecret
	raw, err := String(ctx, api, arn)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return s, relay.Wrap(relay.Invalid, err, "twilio secret is not JSON like {\"account_sid\":\"AC...\",\"auth_token\":\"...\"}")
	}
	if !strings.HasPrefix(s.AccountSID, "AC") || s.AuthToken == "" {
		return s, relay.Errorf(relay.Invalid, "twilio secret needs account_sid (AC...) and auth_token")
	}
	return s, nil
}
