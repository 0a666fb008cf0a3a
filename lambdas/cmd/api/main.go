// Command api is the Lambda function behind API Gateway: Twilio's webhooks
// and the internal routes, served by the same handler as the dev server.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/dispatchrelay/dispatch-relay/lambdas/apigw"
	"github.com/dispatchrelay/dispatch-relay/lambdas/awsapp"
	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
)

// version identifies the code: `make build` sets it to a hash of the sources
// (-ldflags -X), so the same code still builds the same bytes.
var version = "dev"

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	app, cfg, err := awsapp.Load(ctx, getenv, config.APIEnv)
	if err != nil {
		return err
	}
	app.Log.InfoContext(ctx, "cold start", "function", config.FunctionAPI, "version", version)
	var track *httpapi.TrackSigner
	if app.OriginVerify != "" {
		// Tracking links are signed with a key derived from the origin-verify
		// secret: random, already loaded, and never sent to a browser.
		track = httpapi.NewTrackSigner(app.OriginVerify, cfg.PublicBaseURL)
	}
	h := httpapi.New(httpapi.Config{
		Service: app.Service, Store: app.Store, Audit: app.Audit, Export: awsapp.Exporter(app.Audit),
		Registry: app.Registry, Relays: app.Store, Track: track, SignIn: signIn(cfg.DashboardSignIn),
		// Signatures are checked against the public CloudFront URL Twilio calls,
		// with the current tokens (re-read after Twilio refuses them).
		Signature:    app.Twilio,
		Metrics:      app.Metrics,
		Auth:         apigw.Claims{TenantClaim: cfg.TenantClaim, GroupsClaim: config.GroupsClaim},
		CORSOrigins:  cfg.CORSOrigins,
		OriginVerify: app.OriginVerify,
		Version:      version,
		Log:          app.Log,
	})
	lambda.StartWithOptions(apigw.Handler(h), lambda.WithContext(ctx))
	return nil
}

// signIn returns the dashboard's sign-in configuration, or nil for the token form.
func signIn(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}
