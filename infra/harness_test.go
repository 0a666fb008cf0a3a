package infra

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
)

var reportPath = regexp.MustCompile(`/\S+validation-report\.json`)

var update = flag.Bool("update", false, "rewrite the golden template in testdata/")

// synthesis is one synthesized app, shared by every test that reads it.
type synthesis struct {
	stack    awscdk.Stack
	template assertions.Template
	// doc is the template as plain JSON values.
	doc map[string]any
	err error
}

var (
	mainOnce, variantOnce   sync.Once
	mainSynth, variantSynth synthesis
)

// variantContext flips every optional setting away from cdk.json's defaults.
var variantContext = map[string]any{
	ctxJWTIssuer:        "https://login.example.org/tenant-realm",
	ctxJWTAudience:      []any{"dispatch-dashboard", "dispatch-cli"},
	ctxTenantClaim:      "org_id",
	ctxObjectLockDays:   float64(2555),
	ctxAlarmEmail:       "oncall@example.com",
	ctxTwilioSecretName: "shared/twilio",
	ctxLogRetentionDays: "90",
	ctxCORSOrigins:      "https://relay.example.com,https://ops.example.com",
	ctxStackName:        "RelayTwo",
	ctxWebACLArn:        variantWebACL,
	ctxAPIConcurrency:   "0",
	ctxTracing:          "true",
}

// variantWebACL is an existing CLOUDFRONT-scope web ACL the variant attaches.
const variantWebACL = "arn:aws:wafv2:us-east-1:111111111111:global/webacl/shared-edge/00000000-0000-0000-0000-000000000000"

func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := findRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func synthesize(t testing.TB, extra map[string]any) (out synthesis) {
	t.Helper()
	// Synth panics on a validation failure (an unsuppressed cdk-nag error, say): report it
	// with CDK's validation report instead of aborting the test binary.
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprint(r)
			if m := reportPath.FindString(msg); m != "" {
				if b, err := os.ReadFile(m); err == nil {
					msg += "\n" + string(b)
				}
			}
			out = synthesis{err: errors.New(msg)}
		}
	}()
	root := repoRoot(t)
	ctx := map[string]any{ctxLambdaAssetDir: filepath.Join(root, "infra", "testdata", "lambda"),
		ctxSiteAssetDir: filepath.Join(root, "infra", "testdata", "site")}
	for k, v := range extra {
		ctx[k] = v
	}
	_, stack, err := newApp(root, &appOptions{Context: ctx})
	if err != nil {
		return synthesis{err: err}
	}
	tmpl := assertions.Template_FromStack(stack, nil)
	b, err := json.Marshal(tmpl.ToJSON())
	if err != nil {
		return synthesis{err: err}
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return synthesis{err: err}
	}
	return synthesis{stack: stack, template: tmpl, doc: doc}
}

// mainStack synthesizes cdk.json's configuration once per test binary (the first synth costs seconds).
func mainStack(t testing.TB) synthesis {
	t.Helper()
	mainOnce.Do(func() { mainSynth = synthesize(t, nil) })
	if mainSynth.err != nil {
		t.Fatalf("synth: %v", mainSynth.err)
	}
	return mainSynth
}

// variantStack synthesizes the configuration with every option flipped, once.
func variantStack(t testing.TB) synthesis {
	t.Helper()
	variantOnce.Do(func() { variantSynth = synthesize(t, variantContext) })
	if variantSynth.err != nil {
		t.Fatalf("synth variant: %v", variantSynth.err)
	}
	return variantSynth
}

// check runs an assertions call; a failed assertion panics, which would abort the
// whole test binary, so it becomes a test error here.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}
