package infra

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Route is one HTTP API route; Internal routes require a JWT.
type Route struct {
	Path     string
	Methods  []awsapigatewayv2.HttpMethod
	Internal bool
	// Public says why a route without a JWT is safe (cdk-nag APIG4); "" means a Twilio webhook.
	Public string
}

// Routes served by the API function. Twilio's webhooks carry no JWT: the handler checks
// X-Twilio-Signature against PUBLIC_BASE_URL (https://www.twilio.com/docs/usage/security).
var Routes = []Route{
	{Path: "/api/sms/incoming", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST}},
	{Path: "/api/sms/delivery", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST}},
	{Path: "/api/sms/status", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST}},
	{Path: "/api/sms/forward", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST}, Internal: true},
	{Path: "/api/sms/audit", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_POST}, Internal: true},
	{Path: "/api/sms/ack", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST}, Internal: true},
	// The original tooling's maintenance.json, produced from the per-event audit objects.
	{Path: "/api/sms/audit/export", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET}, Internal: true},
	// The dashboard: the relay list and one relay's timeline, a job's tracking link.
	{Path: "/api/sms/relays", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET}, Internal: true},
	{Path: "/api/sms/relays/{id}", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET}, Internal: true},
	{Path: "/api/track/link", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET}, Internal: true},
	{Path: "/api/track", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
		Public: "The customer tracking page's read: the handler answers only for an HMAC-signed, unexpired job token, and only the business name, job state and last update."},
	{Path: "/api/auth/config", Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
		Public: "The dashboard's sign-in configuration, read before sign-in: the hosted UI URL and the public app client id, no secret."},
}

// API is the HTTP API in front of the API function, its $default stage and access logs.
type API struct {
	HttpApi    awsapigatewayv2.HttpApi
	Stage      awsapigatewayv2.HttpStage
	AccessLogs awslogs.LogGroup
}

// Domain is the execute-api host name, CloudFront's origin for /api/*.
func (a *API) Domain() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		a.HttpApi.ApiId(), jsii.String(".execute-api."), awscdk.Aws_REGION(), jsii.String("."), awscdk.Aws_URL_SUFFIX(),
	})
}

// accessLogFields is the JSON access-log line: who called what, how it ended, how long it took.
// No headers, query strings or bodies: they carry phone numbers and signatures.
var accessLogFields = [][2]string{
	{"requestId", "$context.requestId"},
	{"requestTime", "$context.requestTimeEpoch"},
	{"ip", "$context.identity.sourceIp"},
	{"method", "$context.httpMethod"},
	{"routeKey", "$context.routeKey"},
	{"status", "$context.status"},
	{"protocol", "$context.protocol"},
	{"responseLength", "$context.responseLength"},
	{"responseLatency", "$context.responseLatency"},
	{"integrationStatus", "$context.integrationStatus"},
	{"integrationLatency", "$context.integrationLatency"},
	{"integrationError", "$context.integrationErrorMessage"},
	{"authorizerError", "$context.authorizer.error"},
	{"principal", "$context.authorizer.claims.sub"},
}

func accessLogFormat() string {
	parts := make([]string, len(accessLogFields))
	for i, f := range accessLogFields {
		parts[i] = `"` + f[0] + `":"` + f[1] + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings.
type accessLogSettings struct {
	dest   awsapigatewayv2.IAccessLogDestination
	format awsapigateway.AccessLogFormat
}

// Destination is the access-log group.
func (a *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination { return a.dest }

// Format is the JSON line written per request.
func (a *accessLogSettings) Format() awsapigateway.AccessLogFormat { return a.format }

func newAPI(scope constructs.Construct, s Settings, fns *Functions, auth *Auth) *API {
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:     jsii.String("dispatch-relay"),
		Description: jsii.String("dispatch-relay: Twilio webhooks and internal routes (behind CloudFront)"),
		// Preflight answered by API Gateway from the same allow-list the handlers use (RELAY_CORS_ORIGINS).
		CorsPreflight: &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: jsii.Strings(s.CORSOrigins...),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST, awsapigatewayv2.CorsHttpMethod_OPTIONS},
			AllowHeaders: jsii.Strings("authorization", "content-type"),
			MaxAge:       awscdk.Duration_Minutes(jsii.Number(10)),
		},
		// The stage is declared below with throttling and access logs.
		CreateDefaultStage: jsii.Bool(false),
	})

	logs := awslogs.NewLogGroup(scope, jsii.String("HttpApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     s.LogRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	stage := awsapigatewayv2.NewHttpStage(scope, jsii.String("HttpApiDefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		// Default-route throttling: a flood (or a loop) cannot run up Lambda and Twilio bills.
		Throttle: &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(s.ThrottleRate), BurstLimit: jsii.Number(s.ThrottleBurst)},
		// JSON access logs, one line per request, for CloudWatch Logs Insights.
		AccessLogSettings: &accessLogSettings{
			dest:   awsapigatewayv2.NewLogGroupLogDestination(logs),
			format: awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat())),
		},
	})

	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("ApiIntegration"), fns.API.Fn,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0()})
	for _, r := range Routes {
		authorizer := awsapigatewayv2.IHttpRouteAuthorizer(awsapigatewayv2.NewHttpNoneAuthorizer())
		if r.Internal {
			authorizer = auth.Authorizer
		}
		methods := r.Methods
		routes := api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{Path: jsii.String(r.Path), Methods: &methods, Integration: integration, Authorizer: authorizer})
		if !r.Internal {
			for _, route := range *routes {
				if r.Public != "" {
					suppress(route, nag("AwsSolutions-APIG4", r.Public))
					continue
				}
				suppress(route, nag("AwsSolutions-APIG4", "Twilio webhook: Twilio cannot send a JWT; the handler authenticates every request by its X-Twilio-Signature (HMAC over PUBLIC_BASE_URL and the parameters) and answers 403 otherwise. /api/sms/status is the unauthenticated health check."))
			}
		}
	}
	return &API{HttpApi: api, Stage: stage, AccessLogs: logs}
}
