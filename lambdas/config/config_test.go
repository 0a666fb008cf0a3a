package config_test

import (
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDevDefaults(t *testing.T) {
	c, err := config.LoadDev(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.PublicBaseURL != "http://127.0.0.1:8080" || !c.Twilio.Sandbox() || c.Twilio.APIBaseURL != "https://api.twilio.com" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadDevReportsEveryProblem(t *testing.T) {
	_, err := config.LoadDev(env(map[string]string{
		config.EnvAddr: "nope", config.EnvTwilioAccountSID: "XX1", config.EnvCORSOrigins: "*,ftp://x",
		config.EnvLogLevel: "loud", config.EnvAPIToken: "short",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{config.EnvAddr, config.EnvTwilioAuthToken, "must start with AC", "may not contain *", "ftp://x", config.EnvLogLevel, config.EnvAPIToken} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestLoadLambda(t *testing.T) {
	_, err := config.LoadLambda(env(map[string]string{config.EnvTwilioSecretARN: "plaintext-token"}), config.APIEnv)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{config.EnvTableName + " is required", config.EnvAuditBucket, config.EnvTimerQueueURL, "must be a secret ARN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	full := map[string]string{config.EnvPublicBaseURL: "https://relay.example.com", config.EnvTableName: "t",
		config.EnvAuditBucket: "b", config.EnvTimerQueueURL: "https://sqs/q", config.EnvTwilioSecretARN: "arn:aws:secretsmanager:x",
		config.EnvOriginVerifySecretARN: "arn:aws:secretsmanager:y", config.EnvTenantClaim: "custom:tenant_id"}
	c, err := config.LoadLambda(env(full), config.APIEnv)
	if err != nil || c.TableName != "t" || c.TenantClaim != "custom:tenant_id" {
		t.Errorf("LoadLambda = %+v, %v", c, err)
	}
	delete(full, config.EnvOriginVerifySecretARN)
	if _, err := config.LoadLambda(env(full), config.EscalatorEnv); err != nil {
		t.Errorf("escalator without origin secret: %v", err)
	}
}
