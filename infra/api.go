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

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// Route is one HTTP API route; Internal routes require a JWT; Twilio marks the
// webhooks Twilio posts, which get their own throttle budget and 5xx alarms.
type Route struct {
	Path     string
	Methods  []awsapigatewayv2.HttpMethod
	Internal bool
	Twilio   bool
	// Public says why a route without a JWT is safe (cdk-nag APIG4); "" means a Twilio webhook.
	Public string
}

// The HTTP methods the routes use.
var (
	mGet    = awsapigatewayv2.HttpMethod_GET
	mPost   = awsapigatewayv2.HttpMethod_POST
	mPut    = awsapigatewayv2.HttpMethod_PUT
	mPatch  = awsapigatewayv2.HttpMethod_PATCH
	mDelete = awsapigatewayv2.HttpMethod_DELETE
)

func methods(m ...awsapigatewayv2.HttpMethod) []awsapigatewayv2.HttpMethod { return m }

// Routes served by the API function. Twilio's webhooks carry no JWT: the handler checks
// X-Twilio-Signature against PUBLIC_BASE_URL (https://www.twilio.com/docs/usage/security).
// A test checks this list against the handler's OpenAPI document (lambdas/httpapi/openapi.json).
var Routes = []Route{
	{Path: "/api/sms/incoming", Methods: methods(mPost), Twilio: true},
	{Path: "/api/sms/delivery", Methods: methods(mPost), Twilio: true},
	{Path: "/api/sms/status", Methods: methods(mGet, mPost)},
	{Path: "/api/sms/forward", Methods: methods(mPost), Internal: true},
	{Path: "/api/sms/audit", Methods: methods(mGet, mPost), Internal: true},
	{Path: "/api/sms/ack", Methods: methods(mPost), Internal: true},
	// The original tooling's maintenance.json, produced from the per-event audit objects.
	{Path: "/api/sms/audit/export", Methods: methods(mGet), Internal: true},
	// The API's own description carries no tenant data.
	{Path: "/api/openapi.json", Methods: methods(mGet)},
	// The Directory API: the JWT authorizer authenticates, the handler checks the role
	// (Cognito group) and scopes every call to the token's tenant.
	{Path: "/api/tenant", Methods: methods(mGet, mPut), Internal: true},
	{Path: "/api/operators", Methods: methods(mGet), Internal: true},
	{Path: "/api/operators/{id}", Methods: methods(mGet, mPut, mDelete), Internal: true},
	{Path: "/api/customers", Methods: methods(mGet), Internal: true},
	{Path: "/api/customers/{id}", Methods: methods(mGet, mPut, mDelete), Internal: true},
	{Path: "/api/jobs", Methods: methods(mGet), Internal: true},
	{Path: "/api/jobs/{id}", Methods: methods(mGet, mPut, mPatch, mDelete), Internal: true},
	// The dashboard: the relay list and one relay's timeline, a job's tracking link.
	{Path: "/api/sms/relays", Methods: methods(mGet), Internal: true},
	{Path: "/api/sms/relays/{id}", Methods: methods(mGet), Internal: true},
	{Path: "/api/track/link", Methods: methods(mGet), Internal: true},
	{Path: "/api/track", Methods: methods(mGet),
		Public: "The customer tracking page's read: the handler answers only for an HMAC-signed, unexpired job token, and only the business name, job state and last update."},
	{Path: "/api/auth/config", Methods: methods(mGet),
		Public: "The dashboard's sign-in configuration, read before sign-in: the hosted UI URL and the public app client id, no secret."},
}

// FallbackRoute is Twilio's Fallback URL: a service integration into the fallback
// queue, not the API function (see Fallback).
var FallbackRoute = Route{Path: config.FallbackPath, Methods: []awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST}, Twilio: true}

// TwilioRouteKeys are the route keys ("POST /api/sms/incoming") Twilio calls: their
// own throttle and detailed (per-route) metrics for the 5xx alarms.
func TwilioRouteKeys() []string {
	var keys []string
	for _, r := range append(append([]Route{}, Routes...), FallbackRoute) {
		if !r.Twilio {
			continue
		}
		for _, m := range r.Methods {
			keys = append(keys, string(m)+" "+r.Path)
		}
	}
	return keys
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

func newAPI(scope constructs.Construct, s Settings, fns *Functions, auth *Auth, fallback *Fallback) *API {
	api := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:     jsii.String("dispatch-relay"),
		Description: jsii.String("dispatch-relay: Twilio webhooks and internal routes (behind CloudFront)"),
		// Preflight answered by API Gateway from the same allow-list the handlers use (RELAY_CORS_ORIGINS).
		CorsPreflight: &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins: jsii.Strings(s.CORSOrigins...),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST,
				awsapigatewayv2.CorsHttpMethod_PUT, awsapigatewayv2.CorsHttpMethod_PATCH, awsapigatewayv2.CorsHttpMethod_DELETE, awsapigatewayv2.CorsHttpMethod_OPTIONS},
			// If-Match/If-None-Match carry the Directory API's ETags; the dashboard reads ETag back.
			AllowHeaders:  jsii.Strings("authorization", "content-type", "if-match", "if-none-match"),
			ExposeHeaders: jsii.Strings("etag"),
			MaxAge:        awscdk.Duration_Minutes(jsii.Number(10)),
		},
		// The stage is declared below with throttling and access logs.
		CreateDefaultStage: jsii.Bool(false),
	})

	logs := awslogs.NewLogGroup(scope, jsii.String("HttpApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     s.LogRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
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
	var all []awsapigatewayv2.HttpRoute
	for _, r := range Routes {
		authorizer := awsapigatewayv2.IHttpRouteAuthorizer(awsapigatewayv2.NewHttpNoneAuthorizer())
		if r.Internal {
			authorizer = auth.Authorizer
		}
		methods := r.Methods
		routes := api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{Path: jsii.String(r.Path), Methods: &methods, Integration: integration, Authorizer: authorizer})
		all = append(all, *routes...)
		if !r.Internal {
			for _, route := range *routes {
				if r.Public != "" {
					suppress(route, nag("AwsSolutions-APIG4", r.Public))
					continue
				}
				suppress(route, nag("AwsSolutions-APIG4", "Twilio webhook: Twilio cannot send a JWT; the handler authenticates every request by its X-Twilio-Signature (HMAC over PUBLIC_BASE_URL and the parameters) and answers 403 otherwise. /api/sms/status is the unauthenticated health check; /api/openapi.json is the API's public description (no tenant data)."))
			}
		}
	}
	// Twilio's Fallback URL: straight into the fallback queue, no function in the path.
	fbMethods := FallbackRoute.Methods
	fbRoutes := api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{Path: jsii.String(FallbackRoute.Path), Methods: &fbMethods,
		Integration: fallback.integration(), Authorizer: awsapigatewayv2.NewHttpNoneAuthorizer()})
	for _, route := range *fbRoutes {
		all = append(all, route)
		suppress(route, nag("AwsSolutions-APIG4", "Twilio's Fallback URL: Twilio cannot send a JWT. The route only enqueues the raw webhook; the fallback function verifies X-Twilio-Signature against the fallback URL before anything is read or sent, and drops unsigned messages."))
	}

	// Route-level throttles: Twilio's webhooks get their own budget, so anonymous
	// traffic exhausting the default route cannot starve inbound texts; detailed
	// metrics on those routes feed the per-route 5xx alarms.
	settings := map[string]any{}
	for _, key := range TwilioRouteKeys() {
		settings[key] = map[string]any{
			"ThrottlingRateLimit":    s.TwilioRate,
			"ThrottlingBurstLimit":   s.TwilioBurst,
			"DetailedMetricsEnabled": true,
		}
	}
	cfn := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfn.AddPropertyOverride(jsii.String("RouteSettings"), settings)
	// Route settings name route keys, which must exist first.
	for _, r := range all {
		stage.Node().AddDependency(r)
	}
	return &API{HttpApi: api, Stage: stage, AccessLogs: logs}
}
