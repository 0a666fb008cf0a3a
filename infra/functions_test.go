package infra

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// relayFunctions are the Lambdas built from build/lambda (CDK's own deployment helper excluded).
var relayFunctions = []struct {
	prefix, role, logs string
	env                []string
}{
	{"ApiFunction", "ApiFunctionRole", "ApiFunctionLogs", config.APIEnv},
	{"EscalatorFunction", "EscalatorFunctionRole", "EscalatorFunctionLogs", config.EscalatorEnv},
	{"FallbackFunction", "FallbackFunctionRole", "FallbackFunctionLogs", config.FallbackEnv},
}

func TestFunctionsRuntime(t *testing.T) {
	s := mainStack(t)
	var ours int
	for _, r := range s.resources("AWS::Lambda::Function") {
		if r.Props["Handler"] == "bootstrap" {
			ours++
		}
	}
	if ours != len(relayFunctions) {
		t.Errorf("got %d bootstrap functions, want %d (one per deployed function)", ours, len(relayFunctions))
	}
	roles := map[string]bool{}
	for _, f := range relayFunctions {
		fn := s.one(t, "AWS::Lambda::Function", f.prefix)
		for _, c := range []struct{ what, got, want string }{
			{"runtime", render(fn.Props["Runtime"]), "provided.al2023"},
			{"architectures", render(fn.Props["Architectures"]), "[arm64]"},
			{"handler", render(fn.Props["Handler"]), "bootstrap"},
			{"role", render(fn.Props["Role"]), "<" + f.role + ".Arn>"},
			{"log group", render(get(fn.Props, "LoggingConfig", "LogGroup")), "<" + f.logs + ">"},
			{"code bucket", render(get(fn.Props, "Code", "S3Bucket")), "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},
		} {
			if c.got != c.want {
				t.Errorf("%s %s: got %s, want %s", f.prefix, c.what, c.got, c.want)
			}
		}
		if roles[f.role] {
			t.Errorf("%s shares role %s", f.prefix, f.role)
		}
		roles[f.role] = true
		if timeout, _ := fn.Props["Timeout"].(float64); timeout <= 0 || timeout > 60 {
			t.Errorf("%s timeout: got %v, want 1..60 s", f.prefix, fn.Props["Timeout"])
		}
	}
}

func TestFunctionEnvironmentMatchesConfig(t *testing.T) {
	s := mainStack(t)
	want := map[string]string{
		config.EnvPublicBaseURL:         "https://relay.example.com",
		config.EnvCORSOrigins:           "https://relay.example.com",
		config.EnvLogLevel:              "info",
		config.EnvTableName:             "<Table>",
		config.EnvAuditBucket:           "<AuditBucket>",
		config.EnvMediaBucket:           "<MediaBucket>",
		config.EnvTimerQueueURL:         "<TimerQueue>",
		config.EnvTwilioSecretARN:       "<TwilioSecret>",
		config.EnvOriginVerifySecretARN: "<OriginVerifySecret>",
		config.EnvTenantClaim:           config.DefaultTenantClaim,
		config.EnvDashboardSignIn: `{"auth":"cognito","clientId":"<UserPoolDashboardClient>",` +
			`"domain":"https://<UserPoolHostedUiDomain>.auth.<AWS::Region>.amazoncognito.com",` +
			`"logoutUri":"https://relay.example.com/","redirectUri":"https://relay.example.com/","scope":"openid email"}`,
	}
	for _, f := range relayFunctions {
		fn := s.one(t, "AWS::Lambda::Function", f.prefix)
		vars, _ := get(fn.Props, "Environment", "Variables").(map[string]any)
		if got, want := sortedKeys(vars), sortedCopy(f.env); !equalStrings(got, want) {
			t.Errorf("%s environment: got %v, want exactly %v", f.prefix, got, want)
		}
		for k, v := range vars {
			if got := render(v); got != want[k] {
				t.Errorf("%s %s: got %s, want %s", f.prefix, k, got, want[k])
			}
		}
	}
}

func TestVariantEnvironment(t *testing.T) {
	s := variantStack(t)
	api := s.one(t, "AWS::Lambda::Function", "ApiFunction")
	for k, want := range map[string]string{
		config.EnvCORSOrigins:     "https://relay.example.com,https://ops.example.com",
		config.EnvTenantClaim:     "org_id",
		config.EnvTwilioSecretARN: "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:shared/twilio",
		// An external issuer has no hosted UI here: the dashboard shows its token form.
		config.EnvDashboardSignIn: `{"auth":"token"}`,
	} {
		if got := render(get(api.Props, "Environment", "Variables", k)); got != want {
			t.Errorf("%s: got %s, want %s", k, got, want)
		}
	}
}

func TestLogGroupsHaveRetention(t *testing.T) {
	for name, c := range map[string]struct {
		s    synthesis
		days float64
	}{"main": {mainStack(t), 30}, "variant": {variantStack(t), 90}} {
		groups := c.s.resources("AWS::Logs::LogGroup")
		if len(groups) < 4 { // two functions, API access logs, site deployment
			t.Errorf("%s: got %d log groups, want at least 4", name, len(groups))
		}
		for _, g := range groups {
			if got := g.Props["RetentionInDays"]; got != c.days {
				t.Errorf("%s %s retention: got %v, want %v", name, g.ID, got, c.days)
			}
		}
	}
}

func TestEscalatorConsumesTimers(t *testing.T) {
	s := mainStack(t)
	maps := s.resources("AWS::Lambda::EventSourceMapping")
	if len(maps) != 2 {
		t.Fatalf("got %d event source mappings, want 2 (timers, fallback)", len(maps))
	}
	check(t, "escalator event source", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"FunctionName":                   map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^EscalatorFunction"))},
			"EventSourceArn":                 map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^TimerQueue[0-9A-F]{8}$")), "Arn"}},
			"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
			"BatchSize":                      escalatorBatchSize,
			"MaximumBatchingWindowInSeconds": 0,
		})
	})
}
