// Package awsapp is the composition root shared by the Lambda functions: it
// builds the AWS clients once per cold start, reads the secrets by ARN and
// wires the adapters into a relay.Service. The mains only load config, call
// Build and start their handler.
package awsapp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/dynamo"
	"github.com/dispatchrelay/dispatch-relay/lambdas/emf"
	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/lambdas/media"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/s3audit"
	"github.com/dispatchrelay/dispatch-relay/lambdas/secrets"
	"github.com/dispatchrelay/dispatch-relay/lambdas/sqstimer"
)

// App is what a Lambda function serves with.
type App struct {
	Service *relay.Service
	// Registry serves the Directory API on the same store and audit log.
	Registry *relay.Registry
	Store    *dynamo.Store
	Audit    *s3audit.Log
	Timer    *sqstimer.Timer
	// Twilio sends texts and verifies webhook signatures with the current
	// credentials, re-read after an authentication error.
	Twilio *Credentials
	// Metrics writes EMF counts to stdout.
	Metrics *emf.Metrics
	// OriginVerify is the origin-verify header value, when the function reads it.
	OriginVerify string
	Log          *slog.Logger
}

// Logger returns the JSON logger Lambda functions write to stdout.
func Logger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
}

// Load reads a function's configuration (names: config.APIEnv or
// config.EscalatorEnv), the AWS configuration and the secrets, once per cold
// start, and wires the relay.
func Load(ctx context.Context, getenv func(string) string, names []string) (*App, config.Lambda, error) {
	cfg, err := config.LoadLambda(getenv, names)
	if err != nil {
		return nil, cfg, err
	}
	log := Logger(cfg.LogLevel)
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, cfg, fmt.Errorf("aws config: %w", err)
	}
	app, err := Build(ctx, cfg, awsCfg, log)
	return app, cfg, err
}

// Build wires the relay for a Lambda function.
func Build(ctx context.Context, cfg config.Lambda, awsCfg aws.Config, log *slog.Logger) (*App, error) {
	sm := secretsmanager.NewFromConfig(awsCfg)
	loadTwilio := func(ctx context.Context) (config.TwilioSecret, error) {
		return secrets.Twilio(ctx, sm, cfg.TwilioSecretARN)
	}
	creds, err := newCredentials(ctx, loadTwilio, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("load twilio credentials: %w", err)
	}
	app := &App{Twilio: creds, Log: log, Metrics: emf.New(os.Stdout)}
	if cfg.OriginVerifySecretARN != "" {
		if app.OriginVerify, err = secrets.String(ctx, sm, cfg.OriginVerifySecretARN); err != nil {
			return nil, fmt.Errorf("load origin-verify secret: %w", err)
		}
	}
	app.Store = dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName)
	app.Audit = s3audit.New(s3audit.NewS3Bucket(s3.NewFromConfig(awsCfg), cfg.AuditBucket, ""), s3audit.WithLogger(log))
	app.Timer = sqstimer.New(sqs.NewFromConfig(awsCfg), cfg.TimerQueueURL)
	// Tenants and operators are read once a second per warm function, not once per text.
	cache := relay.NewDirectoryCache(app.Store, relay.DefaultDirectoryTTL, nil)
	app.Service = &relay.Service{Store: app.Store, Sender: creds, Timer: app.Timer, Audit: app.Audit,
		Directory: cache, Metrics: app.Metrics, Log: log, CallbackURL: httpapi.CallbackURL(cfg.PublicBaseURL)}
	if cfg.MediaBucket != "" {
		// Photos (MMS): fetched from Twilio with the current credentials, kept in
		// the media bucket, sent as presigned URLs.
		app.Service.Media = media.NewS3(s3.NewFromConfig(awsCfg), cfg.MediaBucket, media.Fetcher{APIBase: cfg.TwilioAPIBaseURL,
			Credentials: func() (string, string) { s := creds.Secret(); return s.AccountSID, s.AuthToken }})
	}
	app.Registry = &relay.Registry{Store: app.Store, Audit: app.Audit, Log: log, Changed: cache.Flush}
	return app, nil
}

// Exporter writes maintenance.json from an audit log.
func Exporter(audit *s3audit.Log) func(ctx context.Context, w io.Writer, tenant string, since, until time.Time) error {
	return func(ctx context.Context, w io.Writer, tenant string, since, until time.Time) error {
		recs, err := s3audit.Export(ctx, audit, tenant, since, until)
		if err != nil {
			return err
		}
		return s3audit.WriteJSON(w, recs)
	}
}
