package infra

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Item 1: Twilio's Fallback URL writes the raw webhook into SQS with no function in the
// request path, and a consumer relays it.
func TestFallbackIntegration(t *testing.T) {
	s := mainStack(t)
	route := s.one(t, "AWS::ApiGatewayV2::Route", "HttpApiPOSTapismsfallback")
	if got := render(route.Props["RouteKey"]); got != "POST "+config.FallbackPath {
		t.Errorf("route key: got %s", got)
	}
	in := s.one(t, "AWS::ApiGatewayV2::Integration", "HttpApiPOSTapismsfallbackFallbackIntegration")
	if got, want := render(route.Props["Target"]), "integrations/<"+strings.TrimSuffix(in.ID, in.ID[len(in.ID)-8:])+">"; got != want {
		t.Errorf("fallback route target: got %s, want %s", got, want)
	}
	q := s.one(t, "AWS::SQS::Queue", "FallbackQueue")
	dlq := s.one(t, "AWS::SQS::Queue", "FallbackDeadLetterQueue")
	for _, c := range []struct{ what, got, want string }{
		{"type", render(in.Props["IntegrationType"]), "AWS_PROXY"},
		{"subtype (service integration, no Lambda)", render(in.Props["IntegrationSubtype"]), "SQS-SendMessage"},
		{"queue", render(get(in.Props, "RequestParameters", "QueueUrl")), "<FallbackQueue>"},
		{"raw body", render(get(in.Props, "RequestParameters", "MessageBody")), "$request.body"},
		{"signature attribute", render(get(in.Props, "RequestParameters", "MessageAttributes")),
			`{"` + config.FallbackSignatureAttribute + `":{"DataType":"String","StringValue":"${request.header.x-twilio-signature}"}}`},
		{"credentials", render(in.Props["CredentialsArn"]), "<HttpApiPOSTapismsfallbackInvokeRole.Arn>"},
		{"no authorizer", render(route.Props["AuthorizationType"]), "NONE"},
		{"redrive", render(q.Props["RedrivePolicy"]), `{"deadLetterTargetArn":{"Fn::GetAtt":["` + dlq.ID + `","Arn"]},"maxReceiveCount":5}`},
		{"queue SSE", render(q.Props["SqsManagedSseEnabled"]), "true"},
		{"visibility (consumer timeout + 30 s)", render(q.Props["VisibilityTimeout"]), "90"},
	} {
		if c.got != c.want {
			t.Errorf("fallback %s: got %s, want %s", c.what, c.got, c.want)
		}
	}
	// API Gateway's role may send to this queue and nothing else.
	role := s.one(t, "AWS::IAM::Role", "HttpApiPOSTapismsfallbackInvokeRole")
	perms := s.permissions(role.ID)
	if len(perms) != 1 || strings.Join(perms["sqs:SendMessage"], ",") != "<FallbackQueue.Arn>" {
		t.Errorf("fallback integration role: got %v, want sqs:SendMessage on the fallback queue only", perms)
	}
	// The consumer: the fallback function, partial batch failures, the fallback queue only.
	var found bool
	for _, m := range s.resources("AWS::Lambda::EventSourceMapping") {
		if render(m.Props["EventSourceArn"]) != "<FallbackQueue.Arn>" {
			continue
		}
		found = true
		if got := render(m.Props["FunctionName"]); got != "<FallbackFunction>" {
			t.Errorf("fallback queue consumer: got %s, want the fallback function", got)
		}
		if got := render(m.Props["FunctionResponseTypes"]); got != "[ReportBatchItemFailures]" {
			t.Errorf("fallback consumer response types: got %s", got)
		}
	}
	if !found {
		t.Error("nothing consumes the fallback queue")
	}
	fn := s.one(t, "AWS::Lambda::Function", "FallbackFunction")
	if got := render(get(fn.Props, "Environment", "Variables", config.EnvPublicBaseURL)); got != "https://relay.example.com" {
		t.Errorf("fallback %s: got %s (signatures are checked against it + %s)", config.EnvPublicBaseURL, got, config.FallbackPath)
	}
	// The Fallback URL to paste into Twilio.
	out := get(s.doc, "Outputs", OutputFallbackURL, "Value")
	if got := render(out); got != "https://relay.example.com"+config.FallbackPath {
		t.Errorf("output %s: got %s", OutputFallbackURL, got)
	}
	if !strings.Contains(readFile(t, "docs/deploy.md"), OutputFallbackURL) {
		t.Errorf("docs/deploy.md does not tell where to paste %s", OutputFallbackURL)
	}
}

// Item 2: stateful resources survive deletes and replacements but not a rolled-back create.
func TestRemovalPoliciesRetainOnUpdateOrDelete(t *testing.T) {
	stateful := map[string]bool{
		"AWS::DynamoDB::Table": true, "AWS::S3::Bucket": true, "AWS::Cognito::UserPool": true,
		"AWS::SecretsManager::Secret": true, "AWS::Logs::LogGroup": true,
	}
	for name, s := range map[string]synthesis{"main": mainStack(t), "variant": variantStack(t)} {
		var retained int
		for id, v := range s.doc["Resources"].(map[string]any) {
			r := v.(map[string]any)
			del, _ := r["DeletionPolicy"].(string)
			if del == "Retain" {
				t.Errorf("%s %s: DeletionPolicy Retain orphans it when a first create rolls back; want RetainExceptOnCreate", name, id)
			}
			if del == "RetainExceptOnCreate" {
				retained++
				if r["UpdateReplacePolicy"] != "Retain" {
					t.Errorf("%s %s: UpdateReplacePolicy %v, want Retain", name, id, r["UpdateReplacePolicy"])
				}
			}
			if stateful[r["Type"].(string)] && del == "" {
				t.Errorf("%s %s (%s) has no DeletionPolicy", name, id, r["Type"])
			}
		}
		if retained < 8 {
			t.Errorf("%s: %d resources RetainExceptOnCreate, want the table, buckets, pool, secret and log groups", name, retained)
		}
	}
}

// Item 2: account-wide names carry the stack name and the region; the stack name is context.
func TestAccountWideNamesIncludeStackAndRegion(t *testing.T) {
	for name, c := range map[string]struct {
		s         synthesis
		stackName string
	}{"main": {mainStack(t), DefaultStackName}, "variant": {variantStack(t), "RelayTwo"}} {
		if got := *c.s.stack.StackName(); got != c.stackName {
			t.Errorf("%s: stack name %s, want %s", name, got, c.stackName)
		}
		for _, n := range []struct{ typ, path string }{
			{"AWS::CloudFront::ResponseHeadersPolicy", "ResponseHeadersPolicyConfig.Name"},
			{"AWS::CloudFront::OriginRequestPolicy", "OriginRequestPolicyConfig.Name"},
			{"AWS::CloudFront::CachePolicy", "CachePolicyConfig.Name"},
			{"AWS::CloudFront::OriginAccessControl", "OriginAccessControlConfig.Name"},
			{"AWS::CloudFront::Function", "Name"},
		} {
			rs := c.s.resources(n.typ)
			if len(rs) == 0 {
				t.Errorf("%s: no %s", name, n.typ)
			}
			for _, r := range rs {
				var v any = r.Props
				for _, k := range strings.Split(n.path, ".") {
					v = get(v, k)
				}
				got := render(v)
				if !strings.HasPrefix(got, "<AWS::StackName>-<AWS::Region>-") {
					t.Errorf("%s %s name: got %s, want <AWS::StackName>-<AWS::Region>-...", name, r.ID, got)
				}
			}
		}
	}
	if strings.Contains(readFile(t, "docs/deploy.md"), "secret-id DispatchRelay/twilio") {
		t.Error("docs/deploy.md still names the Twilio secret by a fixed name")
	}
}

// Item 3: WAF on the distribution, Twilio's own budgets.
func TestEdgeProtection(t *testing.T) {
	s := mainStack(t)
	acl := s.resources("AWS::WAFv2::WebACL")
	if len(acl) != 1 {
		t.Fatalf("got %d web ACLs, want 1", len(acl))
	}
	a := acl[0]
	if a.Props["Scope"] != "CLOUDFRONT" || render(get(a.Props, "DefaultAction")) != `{"Allow":{}}` {
		t.Errorf("web ACL scope/default: %v %s", a.Props["Scope"], render(get(a.Props, "DefaultAction")))
	}
	if a.Raw["Condition"] != "WebAclRegion" || render(get(s.doc, "Conditions", "WebAclRegion")) != `{"Fn::Equals":[{"Ref":"AWS::Region"},"us-east-1"]}` {
		t.Errorf("web ACL condition: got %v %s; CLOUDFRONT ACLs exist only in us-east-1", a.Raw["Condition"], render(get(s.doc, "Conditions", "WebAclRegion")))
	}
	rules := map[string]map[string]any{}
	for _, r := range asList(a.Props["Rules"]) {
		rules[get(r, "Name").(string)] = r.(map[string]any)
	}
	for _, c := range []struct {
		rule  string
		limit float64
	}{{"TwilioWebhooksRatePerIp", wafTwilioLimit}, {"ApiRatePerIp", wafAPILimit}} {
		rb := get(rules[c.rule], "Statement", "RateBasedStatement")
		if get(rb, "AggregateKeyType") != "IP" || get(rb, "Limit") != c.limit || get(rb, "EvaluationWindowSec") != float64(wafWindowSeconds) {
			t.Errorf("%s: got %s, want per-IP limit %v per %d s", c.rule, render(rb), c.limit, wafWindowSeconds)
		}
		if got := render(get(rules[c.rule], "Action", "Block", "CustomResponse", "ResponseCode")); got != "429" {
			t.Errorf("%s answers %s, want 429", c.rule, got)
		}
	}
	twilioScope := render(get(rules["TwilioWebhooksRatePerIp"], "Statement", "RateBasedStatement", "ScopeDownStatement"))
	for _, p := range []string{"/api/sms/incoming", "/api/sms/delivery", config.FallbackPath} {
		if !strings.Contains(twilioScope, `"SearchString":"`+p+`"`) {
			t.Errorf("Twilio rate rule does not cover %s: %s", p, twilioScope)
		}
	}
	// Sized for Twilio bursts: the Twilio budget is far above the anonymous one.
	if wafTwilioLimit < 10*wafAPILimit {
		t.Errorf("Twilio per-IP limit %d is not well above the API's %d", wafTwilioLimit, wafAPILimit)
	}
	if _, ok := rules["TwilioWebhooksNeedSignature"]; !ok {
		t.Error("no rule blocking unsigned Twilio webhooks at the edge")
	}
	d := s.one(t, "AWS::CloudFront::Distribution", "Distribution")
	if got := render(get(d.Props, "DistributionConfig", "WebACLId")); got != `{"Fn::If":["WebAclRegion",{"Fn::GetAtt":["WebAcl","Arn"]},{"Ref":"AWS::NoValue"}]}` {
		t.Errorf("distribution web ACL: got %s", got)
	}
	// An existing ACL (any region) is attached as given and none is created.
	v := variantStack(t)
	if n := len(v.resources("AWS::WAFv2::WebACL")); n != 0 {
		t.Errorf("variant: got %d web ACLs, want 0 (webAclArn given)", n)
	}
	if got := render(get(v.one(t, "AWS::CloudFront::Distribution", "Distribution").Props, "DistributionConfig", "WebACLId")); got != variantWebACL {
		t.Errorf("variant web ACL: got %s, want %s", got, variantWebACL)
	}

	// Route-level throttles: each Twilio route its own budget, detailed metrics for its alarm.
	stage := s.one(t, "AWS::ApiGatewayV2::Stage", "HttpApiDefaultStage")
	settings, _ := stage.Props["RouteSettings"].(map[string]any)
	keys := TwilioRouteKeys()
	if len(settings) != len(keys) || len(keys) != 3 {
		t.Errorf("route settings: got %v, want one per Twilio route %v", sortedKeys(settings), keys)
	}
	for _, k := range keys {
		rs := settings[k]
		if get(rs, "ThrottlingRateLimit") != float64(100) || get(rs, "ThrottlingBurstLimit") != float64(200) || get(rs, "DetailedMetricsEnabled") != true {
			t.Errorf("%s route settings: got %s", k, render(rs))
		}
	}
	if got := render(get(stage.Props, "DefaultRouteSettings")); got != `{"ThrottlingBurstLimit":100,"ThrottlingRateLimit":50}` {
		t.Errorf("default route throttle: got %s", got)
	}
}

// Item 5: the audit bucket is lock-capable from creation; retention is optional.
func TestAuditBucketLockCapableAlways(t *testing.T) {
	for name, c := range map[string]struct {
		s         synthesis
		retention string
	}{"main": {mainStack(t), "null"}, "variant": {variantStack(t), `{"Days":2555,"Mode":"COMPLIANCE"}`}} {
		b := c.s.one(t, "AWS::S3::Bucket", "AuditBucket")
		if got := render(b.Props["ObjectLockEnabled"]); got != "true" {
			t.Errorf("%s: ObjectLockEnabled %s, want true whatever auditObjectLockDays says", name, got)
		}
		if got := render(get(b.Props, "ObjectLockConfiguration", "Rule", "DefaultRetention")); got != c.retention {
			t.Errorf("%s: default retention %s, want %s", name, got, c.retention)
		}
	}
}

// Item 7: timeouts, visibility, reserved concurrency and tracing.
func TestOperationsSettings(t *testing.T) {
	s := mainStack(t)
	timeout := func(syn synthesis, prefix string) float64 {
		v, _ := syn.one(t, "AWS::Lambda::Function", prefix).Props["Timeout"].(float64)
		return v
	}
	api, esc, fb := timeout(s, "ApiFunction"), timeout(s, "EscalatorFunction"), timeout(s, "FallbackFunction")
	// The Twilio client's per-request timeout (awsapp) and the webhook budget (httpapi).
	const twilioClientSeconds, webhookBudgetSeconds = 10, 25
	if api <= webhookBudgetSeconds || api <= twilioClientSeconds || api >= 30 {
		t.Errorf("API timeout %v s: want above the Twilio client's %d s and the webhook budget %d s, below API Gateway's 30 s", api, twilioClientSeconds, webhookBudgetSeconds)
	}
	// The escalator starts a tick only with 20 s left (sqstimer.Reserve); a batch must fit.
	if esc < 20*2 {
		t.Errorf("escalator timeout %v s leaves no room for a batch", esc)
	}
	for _, q := range []struct {
		queue string
		fn    float64
	}{{"TimerQueue", esc}, {"FallbackQueue", fb}} {
		vis, _ := s.one(t, "AWS::SQS::Queue", q.queue).Props["VisibilityTimeout"].(float64)
		if vis < q.fn || vis > q.fn+60 {
			t.Errorf("%s visibility %v s: want sized to its consumer (%v s .. +60 s)", q.queue, vis, q.fn)
		}
	}
	if got := s.one(t, "AWS::Lambda::Function", "ApiFunction").Props["ReservedConcurrentExecutions"]; got != float64(20) {
		t.Errorf("API reserved concurrency: got %v, want 20", got)
	}
	for _, f := range relayFunctions {
		if got := s.one(t, "AWS::Lambda::Function", f.prefix).Props["TracingConfig"]; got != nil {
			t.Errorf("%s tracing on by default: %v", f.prefix, got)
		}
	}
	v := variantStack(t)
	if got := v.one(t, "AWS::Lambda::Function", "ApiFunction").Props["ReservedConcurrentExecutions"]; got != nil {
		t.Errorf("variant (apiReservedConcurrency 0): got %v, want none", got)
	}
	for _, f := range relayFunctions {
		fn := v.one(t, "AWS::Lambda::Function", f.prefix)
		if got := render(get(fn.Props, "TracingConfig", "Mode")); got != "Active" {
			t.Errorf("variant %s tracing: got %s, want Active", f.prefix, got)
		}
		if _, ok := v.permissions(f.role)["xray:PutTraceSegments"]; !ok {
			t.Errorf("variant %s: tracing on but no xray:PutTraceSegments", f.role)
		}
	}
}
