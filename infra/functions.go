package infra

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// Function is one deployed Lambda with its own role and log group.
type Function struct {
	Fn   awslambda.Function
	Role awsiam.Role
	Logs awslogs.LogGroup
}

// Functions are the relay's Lambdas: the API (every HTTP route but the fallback), the
// escalator (ack timers) and the fallback consumer (webhooks queued by Twilio's Fallback URL).
type Functions struct {
	API       *Function
	Escalator *Function
	Fallback  *Function
}

// API function timeout: above the Twilio client's per-request timeout (10 s) and the
// webhook budget (25 s), below API Gateway's 30 s integration limit, so a slow Twilio
// call is reported by the handler rather than cut off by Lambda.
const apiTimeoutSeconds = 28

// Escalator event source settings.
const (
	// Small batches: with the time reserve per tick, a batch fits the 60 s timeout.
	escalatorBatchSize = 5
	// Caps concurrent escalations (and so the burst of outbound texts Twilio sees).
	escalatorMaxConcurrency = 10
)

// functionSpec describes one function; Env must list exactly the variables its config reads.
type functionSpec struct {
	ID          string // construct id, PascalCase
	Name        string // config.Function*: build/lambda/<Name>/bootstrap
	Description string
	Env         []string
	Timeout     float64 // seconds
	MemoryMB    float64
	// ReservedConcurrency > 0 reserves (and caps) the function's concurrency.
	ReservedConcurrency int
}

func newFunctions(scope constructs.Construct, s Settings, data *Data, audit *Audit, media *Media, timers *Timers, secrets *Secrets, fallback *Fallback, auth *Auth) *Functions {
	// Every value a function may be given, by config's env-var name; each function
	// takes exactly the names its config.*Env list declares.
	values := map[string]*string{
		config.EnvPublicBaseURL:         jsii.String(s.PublicBaseURL()),
		config.EnvCORSOrigins:           jsii.String(strings.Join(s.CORSOrigins, ",")),
		config.EnvLogLevel:              jsii.String("info"),
		config.EnvTableName:             data.Table.TableName(),
		config.EnvAuditBucket:           audit.Bucket.BucketName(),
		config.EnvMediaBucket:           media.Bucket.BucketName(),
		config.EnvTimerQueueURL:         timers.Queue.QueueUrl(),
		config.EnvTwilioSecretARN:       secrets.Twilio.SecretArn(),
		config.EnvOriginVerifySecretARN: secrets.OriginVerify.SecretArn(),
		config.EnvTenantClaim:           jsii.String(s.TenantClaim),
		config.EnvDashboardSignIn:       auth.SignInConfig(scope, s),
	}

	api := newFunction(scope, s, values, functionSpec{
		ID: "ApiFunction", Name: config.FunctionAPI, Env: config.APIEnv,
		Description: "dispatch-relay HTTP API: Twilio webhooks and internal routes",
		Timeout:     apiTimeoutSeconds, MemoryMB: 256,
		// Reserved concurrency: the API always has capacity (other functions cannot take it)
		// and cannot grow past it (a flood cannot run up the account's concurrency).
		ReservedConcurrency: s.APIConcurrency,
	})
	esc := newFunction(scope, s, values, functionSpec{
		ID: "EscalatorFunction", Name: config.FunctionEscalator, Env: config.EscalatorEnv,
		Description: "dispatch-relay escalator: consumes ack timers and texts the next operator",
		Timeout:     escalatorTimeoutSeconds, MemoryMB: 256,
	})
	fb := newFunction(scope, s, values, functionSpec{
		ID: "FallbackFunction", Name: config.FunctionFallback, Env: config.FallbackEnv,
		Description: "dispatch-relay fallback: relays webhooks that Twilio's Fallback URL queued",
		Timeout:     fallbackTimeoutSeconds, MemoryMB: 256,
	})

	// Every action below supports resource-level permissions, so no statement needs
	// Resource "*" (X-Ray's PutTraceSegments does: only with the tracing context option).
	// State: item reads and conditional writes on the table, Query on the table and gsi1 only.
	// Explicit statements: grantReadWriteData would add Scan, Batch* and index/*.
	for _, f := range []*Function{api, esc, fb} {
		f.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"),
			Resources: &[]*string{data.Table.TableArn()},
		}))
		f.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("dynamodb:Query"),
			Resources: &[]*string{data.IndexArn()},
		}))
		// Audit: write one object per event, only under audit/ (grantPut would add tagging/ACL/retention actions).
		f.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:PutObject"),
			Resources: &[]*string{audit.ObjectsArn()},
		}))
		// Media: store photos and presign their GETs (a presigned URL works with the
		// signer's rights), only under media/.
		f.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:PutObject", "s3:GetObject"),
			Resources: &[]*string{media.ObjectsArn()},
		}))
		// Timers: send only (grantSendMessages would add GetQueueAttributes and GetQueueUrl).
		f.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("sqs:SendMessage"),
			Resources: &[]*string{timers.Queue.QueueArn()},
		}))
		// Twilio credentials: read the value, nothing else (grantRead would add DescribeSecret).
		f.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
			Resources: &[]*string{secrets.TwilioPolicyArn()},
		}))
		rules := []nagRule{nag("AwsSolutions-IAM5",
			"Audit objects are one per event under audit/, media objects one per photo under media/; each object-level wildcard is that prefix, no wider.",
			auditObjectsFinding, mediaObjectsFinding)}
		if s.Tracing {
			rules = append(rules, nag("AwsSolutions-IAM5",
				"X-Ray (tracing context option): xray:PutTraceSegments and PutTelemetryRecords support no resource-level permissions, so their resource is *.",
				`/^Resource::\*$/g`))
		}
		suppress(f.Role.Node().FindChild(jsii.String("DefaultPolicy")), rules...)
	}

	// The API also lists and reads the audit trail (GET /api/sms/audit, the maintenance.json export),
	// again only under audit/.
	api.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:GetObject"),
		Resources: &[]*string{audit.ObjectsArn()},
	}))
	api.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  &[]*string{audit.Bucket.BucketArn()},
		Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": []string{AuditPrefix + "*"}}},
	}))
	// Only the API lists relays for the dashboard (GET /api/sms/relays): Query on gsi2.
	api.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("dynamodb:Query"),
		Resources: &[]*string{data.RelayIndexArn()},
	}))
	// Only the API compares X-Origin-Verify.
	api.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: &[]*string{secrets.OriginVerify.SecretArn()},
	}))

	// Only the escalator consumes timers. The event source grants exactly what its poller
	// needs on this queue (Receive, Delete, ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl).
	esc.Fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(timers.Queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize: jsii.Number(escalatorBatchSize),
		// Timers fire as soon as their delay ends: no batching window.
		MaxBatchingWindow: awscdk.Duration_Seconds(jsii.Number(0)),
		// Partial batch responses: one failed timer is retried alone, not its whole batch.
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(escalatorMaxConcurrency),
	}))
	// Only the fallback function consumes queued webhooks, with the same poller grants.
	fb.Fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(fallback.Queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(fallbackBatchSize),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(0)),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(fallbackMaxConcurrency),
	}))
	return &Functions{API: api, Escalator: esc, Fallback: fb}
}

// All lists every relay function.
func (f *Functions) All() []*Function { return []*Function{f.API, f.Escalator, f.Fallback} }

// mediaObjectsFinding matches cdk-nag's IAM5 finding for <MediaBucket>.Arn/media/*.
var mediaObjectsFinding = `/^Resource::<MediaBucket[0-9A-F]{8}\.Arn>\/media\/\*$/g`

// auditObjectsFinding matches cdk-nag's IAM5 finding for <AuditBucket>.Arn/audit/*.
var auditObjectsFinding = `/^Resource::<AuditBucket[0-9A-F]{8}\.Arn>\/audit\/\*$/g`

func newFunction(scope constructs.Construct, s Settings, values map[string]*string, spec functionSpec) *Function {
	env := map[string]*string{}
	for _, name := range spec.Env {
		v, ok := values[name]
		if !ok {
			// A new variable in lambdas/config without a value here is a programming error.
			panic(fmt.Sprintf("infra: no value for %s (function %s)", name, spec.Name))
		}
		env[name] = v
	}

	// One role per function, trusted by Lambda only, holding only what this function calls.
	role := awsiam.NewRole(scope, jsii.String(spec.ID+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Execution role of the " + spec.Name + " function"),
	})
	// Bounded retention: logs are operational, not an archive (the audit bucket is).
	logs := awslogs.NewLogGroup(scope, jsii.String(spec.ID+"Logs"), &awslogs.LogGroupProps{
		Retention:     s.LogRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	// Write to its own log group only (instead of AWSLambdaBasicExecutionRole's logs:* on every group).
	logs.GrantWrite(role)

	props := &awslambda.FunctionProps{
		Description: jsii.String(spec.Description),
		// OS-only runtime running the Go bootstrap; arm64 is ~20% cheaper per GB-second.
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		// Built by `make build` (-trimpath -buildvcs=false -buildid=): same code, same asset hash.
		Code:        awslambda.Code_FromAsset(jsii.String(filepath.Join(s.LambdaAssetDir, spec.Name)), nil),
		Role:        role,
		LogGroup:    logs,
		Environment: &env,
		Timeout:     awscdk.Duration_Seconds(jsii.Number(spec.Timeout)),
		MemorySize:  jsii.Number(spec.MemoryMB),
	}
	if spec.ReservedConcurrency > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(spec.ReservedConcurrency))
	}
	if s.Tracing {
		// Optional X-Ray tracing (context "tracing"): traces cost per segment and need xray:* on "*".
		props.Tracing = awslambda.Tracing_ACTIVE
	}
	fn := awslambda.NewFunction(scope, jsii.String(spec.ID), props)
	return &Function{Fn: fn, Role: role, Logs: logs}
}
