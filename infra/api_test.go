package infra

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

func TestRoutesAndAuthorizers(t *testing.T) {
	s := mainStack(t)
	authorizer := s.one(t, "AWS::ApiGatewayV2::Authorizer", "HttpApiCognitoAuthorizer")
	want := map[string]string{
		"POST /api/sms/incoming":    "NONE",
		"POST /api/sms/delivery":    "NONE",
		"GET /api/sms/status":       "NONE",
		"POST /api/sms/status":      "NONE",
		"POST /api/sms/forward":     "JWT",
		"GET /api/sms/audit":        "JWT",
		"POST /api/sms/audit":       "JWT",
		"POST /api/sms/ack":         "JWT",
		"GET /api/sms/audit/export": "JWT",
		"GET /api/sms/relays":       "JWT",
		"GET /api/sms/relays/{id}":  "JWT",
		"GET /api/track/link":       "JWT",
		"GET /api/track":            "NONE",
		"GET /api/auth/config":      "NONE",
	}
	routes := s.resources("AWS::ApiGatewayV2::Route")
	if len(routes) != len(want) {
		t.Errorf("got %d routes, want %d", len(routes), len(want))
	}
	integration := s.one(t, "AWS::ApiGatewayV2::Integration", "HttpApiPOSTapismsincomingApiIntegration")
	for _, r := range routes {
		key := render(r.Props["RouteKey"])
		wantAuth, ok := want[key]
		if !ok {
			t.Errorf("unexpected route %s", key)
			continue
		}
		if got := render(r.Props["AuthorizationType"]); got != wantAuth {
			t.Errorf("%s: authorization %s, want %s", key, got, wantAuth)
		}
		if wantAuth == "JWT" && render(r.Props["AuthorizerId"]) != "<HttpApiCognitoAuthorizer>" {
			t.Errorf("%s: authorizer %s, want %s", key, render(r.Props["AuthorizerId"]), authorizer.ID)
		}
		if wantAuth == "NONE" && r.Props["AuthorizerId"] != nil {
			t.Errorf("%s: Twilio route has an authorizer", key)
		}
		if got := render(r.Props["Target"]); got != "integrations/<HttpApiPOSTapismsincomingApiIntegration>" {
			t.Errorf("%s: target %s, want the one Lambda integration", key, got)
		}
	}
	if got := render(integration.Props["PayloadFormatVersion"]); got != "2.0" {
		t.Errorf("payload format: got %s, want 2.0", got)
	}
	if got := render(integration.Props["IntegrationUri"]); got != "<ApiFunction.Arn>" {
		t.Errorf("integration target: got %s, want the API function", got)
	}
	if got, want := render(get(authorizer.Props, "JwtConfiguration")),
		`{"Audience":[{"Ref":"`+s.one(t, "AWS::Cognito::UserPoolClient", "UserPoolDashboardClient").ID+`"}],"Issuer":{"Fn::Join":["",["https://cognito-idp.",{"Ref":"AWS::Region"},".amazonaws.com/",{"Ref":"`+s.one(t, "AWS::Cognito::UserPool", "UserPool").ID+`"}]]}}`; got != want {
		t.Errorf("JWT configuration:\n got %s\nwant %s", got, want)
	}
	if got := render(authorizer.Props["IdentitySource"]); got != "[$request.header.Authorization]" {
		t.Errorf("identity source: got %s", got)
	}
}

func TestExternalIssuer(t *testing.T) {
	s := variantStack(t)
	if n := len(s.resources("AWS::Cognito::UserPool")); n != 0 {
		t.Errorf("got %d user pools with an external issuer, want 0", n)
	}
	a := s.one(t, "AWS::ApiGatewayV2::Authorizer", "HttpApiJwtAuthorizer")
	if got, want := render(get(a.Props, "JwtConfiguration")), `{"Audience":["dispatch-dashboard","dispatch-cli"],"Issuer":"https://login.example.org/tenant-realm"}`; got != want {
		t.Errorf("JWT configuration: got %s, want %s", got, want)
	}
}

func TestStageThrottlingAndAccessLogs(t *testing.T) {
	s := mainStack(t)
	stages := s.resources("AWS::ApiGatewayV2::Stage")
	if len(stages) != 1 {
		t.Fatalf("got %d stages, want 1", len(stages))
	}
	st := stages[0]
	if got := render(st.Props["StageName"]); got != "$default" {
		t.Errorf("stage: got %s, want $default", got)
	}
	if got, want := render(st.Props["DefaultRouteSettings"]), `{"ThrottlingBurstLimit":100,"ThrottlingRateLimit":50}`; got != want {
		t.Errorf("throttling: got %s, want %s", got, want)
	}
	if got := render(get(st.Props, "AccessLogSettings", "DestinationArn")); got != "<HttpApiAccessLogs.Arn>" {
		t.Errorf("access log destination: got %s", got)
	}
	var line map[string]string
	format := render(get(st.Props, "AccessLogSettings", "Format"))
	if err := json.Unmarshal([]byte(format), &line); err != nil {
		t.Fatalf("access log format is not JSON: %v\n%s", err, format)
	}
	for _, k := range []string{"requestId", "status", "routeKey", "integrationError", "responseLatency"} {
		if line[k] == "" {
			t.Errorf("access log lacks %s", k)
		}
	}
}

func TestCORSPreflightUsesTheAllowList(t *testing.T) {
	for name, c := range map[string]struct {
		s    synthesis
		want []string
	}{
		"main":    {mainStack(t), []string{"https://relay.example.com"}},
		"variant": {variantStack(t), []string{"https://ops.example.com", "https://relay.example.com"}},
	} {
		api := c.s.one(t, "AWS::ApiGatewayV2::Api", "HttpApi")
		var got []string
		for _, o := range asList(get(api.Props, "CorsConfiguration", "AllowOrigins")) {
			got = append(got, o.(string))
		}
		sort.Strings(got)
		if !equalStrings(got, c.want) {
			t.Errorf("%s AllowOrigins: got %v, want %v", name, got, c.want)
		}
		fn := c.s.one(t, "AWS::Lambda::Function", "ApiFunction")
		env := strings.Split(render(get(fn.Props, "Environment", "Variables", "RELAY_CORS_ORIGINS")), ",")
		sort.Strings(env)
		if !equalStrings(env, c.want) {
			t.Errorf("%s RELAY_CORS_ORIGINS: got %v, want the same list %v", name, env, c.want)
		}
		if got := render(get(api.Props, "CorsConfiguration", "AllowMethods")); got != "[GET,POST,OPTIONS]" {
			t.Errorf("%s AllowMethods: got %s", name, got)
		}
	}
}

func TestCognitoUserPool(t *testing.T) {
	s := mainStack(t)
	check(t, "user pool", func() {
		s.template.HasResource(jsii.String("AWS::Cognito::UserPool"), map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": map[string]any{
				"AdminCreateUserConfig": map[string]any{"AllowAdminCreateUserOnly": true},
				"MfaConfiguration":      "ON",
				"EnabledMfas":           []any{"SOFTWARE_TOKEN_MFA"},
				"DeletionProtection":    "ACTIVE",
			},
		})
	})
	pool := s.one(t, "AWS::Cognito::UserPool", "UserPool")
	var tenant bool
	for _, a := range asList(pool.Props["Schema"]) {
		tenant = tenant || get(a, "Name") == "tenant_id"
	}
	if !tenant {
		t.Errorf("user pool lacks the tenant_id custom attribute")
	}
	client := s.one(t, "AWS::Cognito::UserPoolClient", "UserPoolDashboardClient")
	if got := render(client.Props["WriteAttributes"]); strings.Contains(got, "tenant_id") {
		t.Errorf("app client can write the tenant attribute: %s", got)
	}
	if got := render(client.Props["ReadAttributes"]); !strings.Contains(got, "custom:tenant_id") {
		t.Errorf("app client cannot read custom:tenant_id: %s", got)
	}
	if got := render(client.Props["GenerateSecret"]); got != "false" {
		t.Errorf("browser client with a secret: %s", got)
	}
}
