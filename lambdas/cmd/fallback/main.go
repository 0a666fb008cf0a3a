// Command fallback is the Lambda function fed by the fallback queue: Twilio's
// Fallback URL (POST /api/sms/fallback) is an API Gateway service integration
// that writes the raw webhook into SQS without any function in the request
// path; this consumer replays each one through the same HTTP handler, which
// checks the signature against PUBLIC_BASE_URL + /api/sms/fallback and relays
// the text (the MessageSid claim keeps it exactly once).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/dispatchrelay/dispatch-relay/lambdas/apigw"
	"github.com/dispatchrelay/dispatch-relay/lambdas/awsapp"
	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
)

// version identifies the code (see cmd/api).
var version = "dev"

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "fallback:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	app, _, err := awsapp.Load(ctx, getenv, config.FallbackEnv)
	if err != nil {
		return err
	}
	app.Log.InfoContext(ctx, "cold start", "function", config.FunctionFallback, "version", version)
	h := httpapi.New(httpapi.Config{
		Service: app.Service, Store: app.Store, Signature: app.Twilio, Metrics: app.Metrics,
		Version: version, Log: app.Log,
	})
	// A replay runs on the webhook budget (25 s): only start one with that much left.
	q := apigw.Queued{Path: config.FallbackPath, SignatureAttribute: config.FallbackSignatureAttribute, Log: app.Log,
		Reserve: 26 * time.Second}
	lambda.StartWithOptions(awsapp.CountFailures(q.Handler(h), app.Metrics), lambda.WithContext(ctx))
	return nil
}
