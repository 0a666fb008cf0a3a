package infra

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

func TestLoadSettings(t *testing.T) {
	root := repoRoot(t)
	base, err := loadCDKContext(filepath.Join(root, "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	base[ctxLambdaAssetDir] = "infra/testdata/lambda"
	base[ctxSiteAssetDir] = "infra/testdata/site"
	with := func(over map[string]any) contextGetter {
		return func(k string) any {
			if v, ok := over[k]; ok {
				return v
			}
			return base[k]
		}
	}
	for _, c := range []struct {
		name    string
		over    map[string]any
		wantErr []string // substrings; all must appear in one error
		check   func(t *testing.T, s Settings)
	}{
		{name: "cdk.json defaults", check: func(t *testing.T, s Settings) {
			if s.PublicBaseURL() != "https://relay.example.com" || s.TenantClaim != config.DefaultTenantClaim || s.ExternalIssuer() || s.ObjectLockDays != 0 || s.CognitoMFA != "required" {
				t.Errorf("got %+v", s)
			}
			if s.LambdaAssetDir != filepath.Join(root, "infra/testdata/lambda") {
				t.Errorf("asset dir %s not resolved against the root", s.LambdaAssetDir)
			}
		}},
		{name: "-c flags arrive as strings", over: map[string]any{
			ctxCORSOrigins: " https://a.example.com, https://b.example.com ", ctxLogRetentionDays: "14", ctxObjectLockDays: "365",
		}, check: func(t *testing.T, s Settings) {
			if strings.Join(s.CORSOrigins, ",") != "https://a.example.com,https://b.example.com" || s.LogRetentionDays != 14 || s.ObjectLockDays != 365 {
				t.Errorf("got %+v", s)
			}
		}},
		{name: "external issuer", over: map[string]any{ctxJWTIssuer: "https://idp.example.com/", ctxJWTAudience: "a,b", ctxTenantClaim: "tenant"},
			check: func(t *testing.T, s Settings) {
				if !s.ExternalIssuer() || strings.Join(s.JWTAudience, ",") != "a,b" || s.TenantClaim != "tenant" {
					t.Errorf("got %+v", s)
				}
			}},
		{name: "every problem reported at once", over: map[string]any{
			ctxDomainName: "relay.other.org", ctxCertificateARN: "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000",
			ctxHostedZoneID: "nope", ctxCORSOrigins: []any{"http://relay.example.com"}, ctxLogRetentionDays: float64(31),
			ctxCognitoMFA: "sometimes", ctxAlarmEmail: "not-an-email", ctxObjectLockDays: float64(-1),
		}, wantErr: []string{
			`"domainName": "relay.other.org" is not inside hosted zone "example.com"`, `"certificateArn"`, "us-east-1",
			`"hostedZoneId"`, `"corsOrigins"`, `"logRetentionDays"`, `"cognitoMfa"`, `"alarmEmail"`, `"auditObjectLockDays"`,
		}},
		{name: "issuer needs an audience", over: map[string]any{ctxJWTIssuer: "https://idp.example.com"}, wantErr: []string{`"jwtAudience": required`}},
		{name: "audience needs an issuer", over: map[string]any{ctxJWTAudience: []any{"x"}}, wantErr: []string{`"jwtAudience": only used with`}},
		{name: "cognito claim is a custom attribute", over: map[string]any{ctxTenantClaim: "tenant"}, wantErr: []string{`"tenantClaim"`, "custom:"}},
		{name: "production options", over: map[string]any{
			ctxStackName: "RelayStaging", ctxWebACLArn: variantWebACL, ctxAPIConcurrency: "0", ctxTracing: "true",
			ctxTwilioRate: "300", ctxTwilioBurst: float64(600),
		}, check: func(t *testing.T, s Settings) {
			if s.StackName != "RelayStaging" || s.WebACLArn != variantWebACL || s.APIConcurrency != 0 || !s.Tracing || s.TwilioRate != 300 || s.TwilioBurst != 600 {
				t.Errorf("got %+v", s)
			}
		}},
		{name: "production defaults", check: func(t *testing.T, s Settings) {
			if s.StackName != DefaultStackName || s.WebACLArn != "" || s.APIConcurrency != 20 || s.Tracing || s.TwilioRate != 100 || s.TwilioBurst != 200 {
				t.Errorf("got %+v", s)
			}
		}},
		{name: "bad production options", over: map[string]any{
			ctxStackName: "9-lives_stack", ctxWebACLArn: "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/x/00000000-0000-0000-0000-000000000000",
			ctxAPIConcurrency: float64(-1), ctxTracing: "maybe", ctxTwilioRate: float64(0),
		}, wantErr: []string{`"stackName"`, `"webAclArn"`, "CLOUDFRONT", `"apiReservedConcurrency"`, `"tracing"`, `"twilioThrottleRate"`}},
		{name: "missing build", over: map[string]any{ctxLambdaAssetDir: "no/such/dir"}, wantErr: []string{"make build"}},
		{name: "missing site build", over: map[string]any{ctxSiteAssetDir: "no/such/dir"}, wantErr: []string{"make web"}},
		{name: "wrong types", over: map[string]any{ctxDomainName: float64(3), ctxCORSOrigins: float64(1)}, wantErr: []string{"want a string", "want a list"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := LoadSettings(with(c.over), root)
			if len(c.wantErr) > 0 {
				if err == nil {
					t.Fatalf("got no error, want %q", c.wantErr)
				}
				for _, w := range c.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			c.check(t, s)
		})
	}
}
