// Package infra is the dispatch-relay CDK app: one stack, RelayStack, with the
// HTTP API, the Lambda functions, state, audit, timers, secrets, the CloudFront
// edge and DNS. `npx cdk synth` runs it through cdk.json (infra/cmd/app);
// `go test ./infra` builds the same app from the same context and checks the
// template.
package infra

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// StackName is the stack's construct id: the CLI selects it by this name
// (`cdk deploy DispatchRelay`) and writes cdk.out/DispatchRelay.template.json.
// The CloudFormation stack name comes from the stackName context (default the
// same), so a second copy in one account is a context value away.
const StackName = "DispatchRelay"

// Run synthesizes the app from the repository containing the working
// directory that getwd reports.
func Run(getwd func() (string, error)) error {
	wd, err := getwd()
	if err != nil {
		return err
	}
	root, err := findRoot(wd)
	if err != nil {
		return err
	}
	app, _, err := newApp(root, nil)
	if err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

// appOptions lets tests override settings after context is read (e.g. the asset directory).
type appOptions struct {
	// Outdir is where the cloud assembly goes; empty lets the CLI (CDK_OUTDIR) or a temp dir decide.
	Outdir string
	// Context entries applied over cdk.json's context, as `-c` flags would be.
	Context map[string]any
}

// newApp builds the app exactly as `cdk synth` does: cdk.json's context first, then
// the CLI's (CDK_CONTEXT_JSON), then metadata switches pinned so the template does not
// depend on how it was produced. cdk-nag's AwsSolutions checks run as an aspect, so an
// unsuppressed finding fails synth.
func newApp(root string, opts *appOptions) (awscdk.App, awscdk.Stack, error) {
	ctx, err := loadCDKContext(filepath.Join(root, "cdk.json"))
	if err != nil {
		return nil, nil, err
	}
	props := &awscdk.AppProps{
		Context: &ctx,
		// The template must not change with the CLI or the machine: no version, path or asset metadata.
		AnalyticsReporting: jsii.Bool(false),
		PostCliContext: &map[string]any{
			"aws:cdk:enable-path-metadata":  false,
			"aws:cdk:enable-asset-metadata": false,
			"aws:cdk:version-reporting":     false,
		},
	}
	if opts != nil {
		for k, v := range opts.Context {
			ctx[k] = v
		}
		if opts.Outdir != "" {
			props.Outdir = jsii.String(opts.Outdir)
		}
	}
	app := awscdk.NewApp(props)
	settings, err := LoadSettings(nodeContext(app), root)
	if err != nil {
		return nil, nil, err
	}
	relay := NewRelayStack(app, StackName, &RelayStackProps{
		StackProps: awscdk.StackProps{
			StackName:   jsii.String(settings.StackName),
			Description: jsii.String("dispatch-relay: multi-tenant SMS relay (HTTP API, Lambda, DynamoDB, S3 audit, SQS ack timers, CloudFront)"),
			// No env: the template is account- and region-agnostic, so synth needs no credentials.
		},
		Settings: settings,
	})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return app, relay.Stack, nil
}

// loadCDKContext returns the "context" object of cdk.json; numbers stay float64 as the CLI passes them.
func loadCDKContext(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cdk context: %w", err)
	}
	var file struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if file.Context == nil {
		file.Context = map[string]any{}
	}
	return file.Context, nil
}

// findRoot walks up from dir to the directory holding cdk.json: the repository root
// for `cdk synth` (run there) and for `go test` (run in infra/).
func findRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "cdk.json")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("cdk.json not found in " + dir + " or any parent")
		}
	}
}
