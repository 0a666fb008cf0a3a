package infra

import (
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

func TestAlarmsPublishToTheTopic(t *testing.T) {
	s := mainStack(t)
	topic := "<AlarmTopic>"
	fn := func(prefix string) string {
		return `[{"Name":"FunctionName","Value":{"Ref":"` + s.one(t, "AWS::Lambda::Function", prefix).ID + `"}}]`
	}
	queue := func(prefix string) string {
		return `[{"Name":"QueueName","Value":{"Fn::GetAtt":["` + s.one(t, "AWS::SQS::Queue", prefix).ID + `","QueueName"]}}]`
	}
	apiID := s.one(t, "AWS::ApiGatewayV2::Api", "HttpApi").ID
	route := func(method, path string) string {
		return `[{"Name":"ApiId","Value":{"Ref":"` + apiID + `"}},{"Name":"Method","Value":"` + method + `"},{"Name":"Resource","Value":"` + path + `"},{"Name":"Stage","Value":"$default"}]`
	}
	service := `[{"Name":"` + config.MetricServiceDimension + `","Value":"` + config.MetricServiceValue + `"}]`
	want := map[string]struct{ namespace, metric, dimension, threshold string }{
		"TimerDeadLetterAlarm":                  {"AWS/SQS", "ApproximateNumberOfMessagesVisible", queue("TimerDeadLetterQueue"), "1"},
		"FallbackDeadLetterAlarm":               {"AWS/SQS", "ApproximateNumberOfMessagesVisible", queue("FallbackDeadLetterQueue"), "1"},
		"QueueMessagesFailedAlarm":              {config.MetricNamespace, config.MetricMessagesFailed, service, "1"},
		"ApiFunctionErrorsAlarm":                {"AWS/Lambda", "Errors", fn("ApiFunction"), "1"},
		"EscalatorFunctionErrorsAlarm":          {"AWS/Lambda", "Errors", fn("EscalatorFunction"), "1"},
		"FallbackFunctionErrorsAlarm":           {"AWS/Lambda", "Errors", fn("FallbackFunction"), "1"},
		"ApiFunctionThrottlesAlarm":             {"AWS/Lambda", "Throttles", fn("ApiFunction"), "1"},
		"EscalatorFunctionThrottlesAlarm":       {"AWS/Lambda", "Throttles", fn("EscalatorFunction"), "1"},
		"FallbackFunctionThrottlesAlarm":        {"AWS/Lambda", "Throttles", fn("FallbackFunction"), "1"},
		"RelaysExhaustedAlarm":                  {config.MetricNamespace, ExhaustedMetric, service, "1"},
		"SendErrorsAlarm":                       {config.MetricNamespace, config.MetricSendErrors, service, "1"},
		"OperatorOptedOutAlarm":                 {config.MetricNamespace, config.MetricOperatorsOptedOut, service, "1"},
		"SignatureRejectedAlarm":                {config.MetricNamespace, config.MetricSignatureRejected, service, "1"},
		"HttpApi5xxAlarm":                       {"AWS/ApiGateway", "5xx", `[{"Name":"ApiId","Value":{"Ref":"` + apiID + `"}}]`, "1"},
		"TwilioRoutePostApiSmsIncoming5xxAlarm": {"AWS/ApiGateway", "5xx", route("POST", "/api/sms/incoming"), "1"},
		"TwilioRoutePostApiSmsDelivery5xxAlarm": {"AWS/ApiGateway", "5xx", route("POST", "/api/sms/delivery"), "1"},
		"TwilioRoutePostApiSmsFallback5xxAlarm": {"AWS/ApiGateway", "5xx", route("POST", "/api/sms/fallback"), "1"},
	}
	all := s.resources("AWS::CloudWatch::Alarm")
	if n := len(all); n != len(want)+1 { // + the 4xx rate (metric math, checked below)
		t.Errorf("got %d alarms, want %d", n, len(want)+1)
	}
	for prefix, w := range want {
		a := s.one(t, "AWS::CloudWatch::Alarm", prefix)
		for _, c := range []struct{ what, got, want string }{
			{"namespace", render(a.Props["Namespace"]), w.namespace},
			{"metric", render(a.Props["MetricName"]), w.metric},
			{"dimensions", render(a.Props["Dimensions"]), w.dimension},
			{"threshold", render(a.Props["Threshold"]), w.threshold},
			{"period (fires within 5 minutes)", render(a.Props["Period"]), "300"},
			{"evaluation periods", render(a.Props["EvaluationPeriods"]), "1"},
			{"actions", render(a.Props["AlarmActions"]), "[" + topic + "]"},
			{"ok actions", render(a.Props["OKActions"]), "[" + topic + "]"},
			{"missing data", render(a.Props["TreatMissingData"]), "notBreaching"},
		} {
			if c.got != c.want {
				t.Errorf("%s %s: got %s, want %s", prefix, c.what, c.got, c.want)
			}
		}
		if d := render(a.Props["AlarmDescription"]); !strings.Contains(d, "docs/deploy.md#"+strings.ToLower(prefix)) {
			t.Errorf("%s: description %q does not point at its runbook entry", prefix, d)
		}
	}
	// 4xx (429 included) share of requests, as metric math over 4xx and Count.
	rate := s.one(t, "AWS::CloudWatch::Alarm", "HttpApi4xxRateAlarm")
	var expr string
	var metrics []string
	for _, m := range asList(rate.Props["Metrics"]) {
		if e, ok := get(m, "Expression").(string); ok {
			expr = e
		}
		if n, ok := get(m, "MetricStat", "Metric", "MetricName").(string); ok {
			metrics = append(metrics, n)
		}
	}
	if !strings.Contains(expr, "100 * errors / requests") || strings.Join(sortedCopy(metrics), ",") != "4xx,Count" || render(rate.Props["Threshold"]) != "25" {
		t.Errorf("4xx rate alarm: expression %q over %v, threshold %s", expr, metrics, render(rate.Props["Threshold"]))
	}
	// Publishing requires TLS; CloudWatch may publish for these alarms only.
	pol := s.one(t, "AWS::SNS::TopicPolicy", "AlarmTopicPolicy")
	var tls, cw bool
	for _, st := range statements(pol.Props["PolicyDocument"]) {
		tls = tls || (st.Effect == "Deny" && render(st.Condition) == `{"Bool":{"aws:SecureTransport":"false"}}`)
		cw = cw || (st.Effect == "Allow" && st.Principals == `{"Service":"cloudwatch.amazonaws.com"}` && len(asList(get(st.Condition, "ArnEquals", "aws:SourceArn"))) == len(all))
	}
	if !tls || !cw {
		t.Errorf("alarm topic policy: TLS-only %v, CloudWatch scoped to the alarms %v", tls, cw)
	}
	if n := len(s.resources("AWS::SNS::Subscription")); n != 0 {
		t.Errorf("got %d subscriptions without alarmEmail, want 0", n)
	}
}

func TestAlarmEmailSubscription(t *testing.T) {
	s := variantStack(t)
	subs := s.resources("AWS::SNS::Subscription")
	if len(subs) != 1 || subs[0].Props["Protocol"] != "email" || subs[0].Props["Endpoint"] != "oncall@example.com" {
		t.Errorf("subscriptions: got %+v, want one email to oncall@example.com", subs)
	}
}

// The runbook names every alarm the stack creates.
func TestRunbookCoversEveryAlarm(t *testing.T) {
	s := mainStack(t)
	doc := readFile(t, "docs/deploy.md")
	for _, a := range s.resources("AWS::CloudWatch::Alarm") {
		name := a.ID[:len(a.ID)-8]
		if !strings.Contains(doc, "`"+name+"`") || !strings.Contains(doc, `<a id="`+strings.ToLower(name)+`"></a>`) {
			t.Errorf("docs/deploy.md has no runbook entry for %s (want `%s` and an anchor %q)", name, name, strings.ToLower(name))
		}
	}
}
