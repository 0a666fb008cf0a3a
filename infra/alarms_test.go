package infra

import (
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

func TestAlarmsPublishToTheTopic(t *testing.T) {
	s := mainStack(t)
	topic := "<AlarmTopic>"
	want := map[string]struct{ namespace, metric, dimension, threshold string }{
		"TimerDeadLetterAlarm":         {"AWS/SQS", "ApproximateNumberOfMessagesVisible", `[{"Name":"QueueName","Value":{"Fn::GetAtt":["` + s.one(t, "AWS::SQS::Queue", "TimerDeadLetterQueue").ID + `","QueueName"]}}]`, "1"},
		"ApiFunctionErrorsAlarm":       {"AWS/Lambda", "Errors", `[{"Name":"FunctionName","Value":{"Ref":"` + s.one(t, "AWS::Lambda::Function", "ApiFunction").ID + `"}}]`, "1"},
		"EscalatorFunctionErrorsAlarm": {"AWS/Lambda", "Errors", `[{"Name":"FunctionName","Value":{"Ref":"` + s.one(t, "AWS::Lambda::Function", "EscalatorFunction").ID + `"}}]`, "1"},
		"RelaysExhaustedAlarm":         {config.MetricNamespace, ExhaustedMetric, `[{"Name":"` + config.MetricServiceDimension + `","Value":"` + config.MetricServiceValue + `"}]`, "1"},
		"HttpApi5xxAlarm":              {"AWS/ApiGateway", "5xx", `[{"Name":"ApiId","Value":{"Ref":"` + s.one(t, "AWS::ApiGatewayV2::Api", "HttpApi").ID + `"}}]`, "5"},
	}
	if n := len(s.resources("AWS::CloudWatch::Alarm")); n != len(want) {
		t.Errorf("got %d alarms, want %d", n, len(want))
	}
	for prefix, w := range want {
		a := s.one(t, "AWS::CloudWatch::Alarm", prefix)
		for _, c := range []struct{ what, got, want string }{
			{"namespace", render(a.Props["Namespace"]), w.namespace},
			{"metric", render(a.Props["MetricName"]), w.metric},
			{"dimensions", render(a.Props["Dimensions"]), w.dimension},
			{"threshold", render(a.Props["Threshold"]), w.threshold},
			{"actions", render(a.Props["AlarmActions"]), "[" + topic + "]"},
			{"ok actions", render(a.Props["OKActions"]), "[" + topic + "]"},
			{"missing data", render(a.Props["TreatMissingData"]), "notBreaching"},
		} {
			if c.got != c.want {
				t.Errorf("%s %s: got %s, want %s", prefix, c.what, c.got, c.want)
			}
		}
	}
	// Publishing requires TLS; CloudWatch may publish for these alarms only.
	pol := s.one(t, "AWS::SNS::TopicPolicy", "AlarmTopicPolicy")
	var tls, cw bool
	for _, st := range statements(pol.Props["PolicyDocument"]) {
		tls = tls || (st.Effect == "Deny" && render(st.Condition) == `{"Bool":{"aws:SecureTransport":"false"}}`)
		cw = cw || (st.Effect == "Allow" && st.Principals == `{"Service":"cloudwatch.amazonaws.com"}` && len(asList(get(st.Condition, "ArnEquals", "aws:SourceArn"))) == len(want))
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
