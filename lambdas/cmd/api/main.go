// Command api is the Lambda function behind API Gateway: Twilio's webhooks
// and the internal routes, served by the same handler as the dev server.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/dispatchrelay/dispatch-relay/lambdas/apigw"
	"github.com/dispatchrelay/dispatch-relay/lambdas/awsapp"
	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

// version is set by the linker for release builds.
var version = "dev"

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := config.LoadLambda(getenv, config.APIEnv)
	if err != nil {
		return err
	}
	log := awsapp.Logger(cfg.LogLevel)
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	app, err := awsapp.Build(ctx, cfg, awsCfg, log)
	if err != nil {
		return err
	}
	validator := twilio.NewValidator(app.Twilio.AuthToken, app.Twilio.AuthTokenSecondary)
	h := httpapi.New(httpapi.Config{
		Service: app.Service, Store: app.Store, Audit: app.Audit, Export: awsapp.Exporter(app.Audit),
		Signature:    signature{validator, cfg.PublicBaseURL},
		Auth:         apigw.Claims{TenantClaim: cfg.TenantClaim},
		CORSOrigins:  cfg.CORSOrigins,
		OriginVerify: app.OriginVerify,
		Version:      version,
		Log:          log,
	})
	lambda.StartWithOptions(apigw.Handler(h), lambda.WithContext(ctx))
	return nil
}

// signature checks X-Twilio-Signature against the public CloudFront URL.
type signature struct {
	v    *twilio.Validator
	base string
}

func (s signature) Verify(r *http.Request) bool { return s.v.ValidRequest(s.base, r) }
