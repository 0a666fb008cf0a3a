// Package config holds the relay's configuration: the environment variable
// names shared with the CDK stack, and Load functions that read and validate
// them, reporting every missing or bad variable at once.
package config

// Environment variable names. The CDK stack (infra/) builds each function's
// environment from these constants, so a rename cannot drift.
const (
	// EnvAddr is the dev server's listen address.
	EnvAddr = "RELAY_ADDR"
	// EnvDataFile is the dev server's YAML/JSON data file.
	EnvDataFile = "RELAY_DATA_FILE"
	// EnvStateDir is where the dev server keeps its embedded store, timers and audit objects.
	EnvStateDir = "RELAY_STATE_DIR"
	// EnvAPIToken is the dev server's bearer token for internal routes.
	EnvAPIToken = "RELAY_API_TOKEN"
	// EnvPublicBaseURL is the public URL Twilio signs (the CloudFront URL on AWS).
	EnvPublicBaseURL = "PUBLIC_BASE_URL"
	// EnvWebDir is the dev server's folder of built dashboard files (make web).
	EnvWebDir = "RELAY_WEB_DIR"
	// EnvDashboardSignIn is the JSON the dashboard reads from GET /api/auth/config to
	// sign in: {"auth":"cognito","domain":<hosted UI URL>,"clientId":...,"redirectUri":...},
	// or {"auth":"token"}. Optional; unset means the token form.
	EnvDashboardSignIn = "DASHBOARD_SIGN_IN"
	// EnvCORSOrigins is the comma-separated allow-list of dashboard origins.
	EnvCORSOrigins = "RELAY_CORS_ORIGINS"
	// EnvTwilioAccountSID is the dev server's Twilio Account SID.
	EnvTwilioAccountSID = "TWILIO_ACCOUNT_SID"
	// EnvTwilioAuthToken is the dev server's Twilio Auth Token.
	EnvTwilioAuthToken = "TWILIO_AUTH_TOKEN"
	// EnvTwilioAuthTokenSecondary is an optional second token accepted during rotation.
	EnvTwilioAuthTokenSecondary = "TWILIO_AUTH_TOKEN_SECONDARY"
	// EnvTwilioAPIBaseURL overrides https://api.twilio.com (a fake Twilio in tests).
	EnvTwilioAPIBaseURL = "TWILIO_API_BASE_URL"
	// EnvLogLevel is debug, info, warn or error.
	EnvLogLevel = "LOG_LEVEL"

	// EnvTableName is the DynamoDB table holding directory and relay state.
	EnvTableName = "RELAY_TABLE_NAME"
	// EnvAuditBucket is the S3 bucket receiving one object per audit event.
	EnvAuditBucket = "AUDIT_BUCKET_NAME"
	// EnvMediaBucket is the S3 bucket holding photos of texts (MMS); empty
	// means photos are not relayed (the text says so).
	EnvMediaBucket = "MEDIA_BUCKET_NAME"
	// EnvTimerQueueURL is the SQS queue whose delayed messages are the ack timers.
	EnvTimerQueueURL = "TIMER_QUEUE_URL"
	// EnvTwilioSecretARN names the Secrets Manager secret holding the Twilio credentials.
	EnvTwilioSecretARN = "TWILIO_SECRET_ARN"
	// EnvOriginVerifySecretARN names the secret CloudFront sends as the X-Origin-Verify header.
	EnvOriginVerifySecretARN = "ORIGIN_VERIFY_SECRET_ARN"
	// EnvTenantClaim is the JWT claim that carries the caller's tenant id.
	EnvTenantClaim = "TENANT_CLAIM"
)

// Default values.
const (
	DefaultAddr          = "127.0.0.1:8080"
	DefaultTwilioBaseURL = "https://api.twilio.com"
	DefaultTenantClaim   = "custom:tenant_id"
	// OriginVerifyHeader is the header CloudFront adds and the API checks.
	OriginVerifyHeader = "X-Origin-Verify"
	// GroupsClaim is the JWT claim with the caller's Cognito groups, whose
	// names are the roles of RoleGroups.
	GroupsClaim = "cognito:groups"
)

// RoleGroups are the Cognito groups the user pool defines, weakest first;
// each is the role of the same name in the handler (viewer reads; dispatcher
// also acts on relays and keeps jobs; admin does everything).
var RoleGroups = []string{"viewer", "dispatcher", "admin"}

// APIEnv lists exactly the variables the API function (webhooks and internal
// routes) reads on AWS. Infra tests assert the function's environment equals it.
var APIEnv = []string{
	EnvPublicBaseURL, EnvCORSOrigins, EnvLogLevel,
	EnvTableName, EnvAuditBucket, EnvTimerQueueURL,
	EnvTwilioSecretARN, EnvOriginVerifySecretARN, EnvTenantClaim,
	EnvDashboardSignIn, EnvMediaBucket,
}

// EscalatorEnv lists exactly the variables the escalation function reads on AWS.
var EscalatorEnv = []string{
	EnvPublicBaseURL, EnvLogLevel,
	EnvTableName, EnvAuditBucket, EnvTimerQueueURL, EnvTwilioSecretARN, EnvMediaBucket,
}

// FallbackEnv lists exactly the variables the fallback consumer reads on AWS:
// it relays inbound texts (table, audit, timers, Twilio) and checks
// signatures against PUBLIC_BASE_URL + FallbackPath.
var FallbackEnv = []string{
	EnvPublicBaseURL, EnvLogLevel,
	EnvTableName, EnvAuditBucket, EnvTimerQueueURL, EnvTwilioSecretARN, EnvMediaBucket,
}

// Fallback path: Twilio's Fallback URL is PUBLIC_BASE_URL + FallbackPath. On AWS,
// API Gateway writes the raw webhook into an SQS queue (no Lambda in the
// request path); the queued message carries the body and, as the message
// attribute FallbackSignatureAttribute, the X-Twilio-Signature header.
const (
	FallbackPath               = "/api/sms/fallback"
	FallbackSignatureAttribute = "TwilioSignature"
)

// TwilioSecret is the JSON shape of the Twilio credentials secret:
//
//	{"account_sid": "AC...", "auth_token": "...", "auth_token_secondary": ""}
type TwilioSecret struct {
	AccountSID         string `json:"account_sid"`
	AuthToken          string `json:"auth_token"`
	AuthTokenSecondary string `json:"auth_token_secondary,omitempty"`
}

// Lambda function names: the Makefile builds build/lambda/<name>/bootstrap
// for each, and the stack deploys one function per name.
const (
	FunctionAPI       = "api"
	FunctionEscalator = "escalator"
	FunctionFallback  = "fallback"
)

// Functions lists every deployed function (the Makefile's LAMBDAS).
var Functions = []string{FunctionAPI, FunctionEscalator, FunctionFallback}

// Metric names space and dimension shared by the EMF writer and the alarms.
const (
	MetricNamespace        = "DispatchRelay"
	MetricServiceDimension = "Service"
	MetricServiceValue     = "dispatch-relay"
)

// Custom metric names the alarms watch. The runtime's copies (relay.Metric*,
// httpapi.SignatureRejectedMetric) are checked against these by tests.
const (
	// MetricExhausted counts relays that ran out of operators (relay.MetricExhausted).
	MetricExhausted = "RelaysExhausted"
	// MetricOperatorsOptedOut counts operators who texted STOP and left every
	// chain until START (relay.MetricOperatorOptedOut): the office's alert.
	MetricOperatorsOptedOut = "OperatorsOptedOut"
	// MetricSendErrors counts texts Twilio refused or that failed (relay.MetricSendError).
	MetricSendErrors = "SendErrors"
	// MetricSignatureRejected counts webhooks refused for a missing or wrong X-Twilio-Signature.
	MetricSignatureRejected = "SignatureRejected"
	// MetricMessagesFailed counts queue messages (ack timers, queued fallback webhooks)
	// handed back to SQS for a retry.
	MetricMessagesFailed = "QueueMessagesFailed"
)
