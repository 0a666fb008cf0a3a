// Command escalator is the Lambda function fed by the ack-timer queue: each
// delayed message is a tick that escalates, resumes or retries a send
// (looking it up at Twilio first), or does nothing because the relay moved on.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/dispatchrelay/dispatch-relay/lambdas/awsapp"
	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// version identifies the code (see cmd/api).
var version = "dev"

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "escalator:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	app, _, err := awsapp.Load(ctx, getenv, config.EscalatorEnv)
	if err != nil {
		return err
	}
	app.Log.InfoContext(ctx, "cold start", "function", config.FunctionEscalator, "version", version)
	lambda.StartWithOptions(awsapp.CountFailures(app.Timer.Handler(app.Service, app.Log), app.Metrics), lambda.WithContext(ctx))
	return nil
}
