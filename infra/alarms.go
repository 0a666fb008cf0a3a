package infra

import (
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// ExhaustedMetric is the EMF metric the escalator writes when a relay runs out of operators.
const ExhaustedMetric = config.MetricExhausted

// Alarm settings. Every alarm evaluates one 5-minute period, so it fires within 5 minutes
// of the first occurrence; docs/deploy.md ("Runbook") says what each means and what to do.
const (
	alarmPeriodMinutes = 5
	// 4xx share of API requests above which someone is probing or a client is broken
	// (throttling answers 429, which counts as 4xx), once there is enough traffic to judge.
	api4xxRatePercent = 25
	api4xxMinRequests = 20
)

// Alarms is the alarm topic and the alarms that publish to it.
type Alarms struct {
	Topic awssns.Topic
	// ByID holds every alarm by construct id, in creation order in IDs.
	ByID map[string]awscloudwatch.Alarm
	IDs  []string
}

// All lists every alarm.
func (a *Alarms) All() []awscloudwatch.Alarm {
	out := make([]awscloudwatch.Alarm, 0, len(a.IDs))
	for _, id := range a.IDs {
		out = append(out, a.ByID[id])
	}
	return out
}

// routeID turns "POST /api/sms/incoming" into "PostApiSmsIncoming" for construct ids.
func routeID(key string) string {
	var b strings.Builder
	for _, f := range strings.FieldsFunc(strings.ToLower(key), func(r rune) bool { return r == ' ' || r == '/' }) {
		b.WriteString(strings.ToUpper(f[:1]) + f[1:])
	}
	return b.String()
}

func newAlarms(scope constructs.Construct, s Settings, fns *Functions, timers *Timers, fallback *Fallback, api *API) *Alarms {
	a := &Alarms{ByID: map[string]awscloudwatch.Alarm{}}
	a.Topic = awssns.NewTopic(scope, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("dispatch-relay alarms"),
		// Publishers must use TLS.
		EnforceSSL: jsii.Bool(true),
	})
	if s.AlarmEmail != "" {
		a.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.AlarmEmail), nil))
	} else {
		// Impossible to miss at synth and deploy: a warning here and the AlarmSubscriber output.
		awscdk.Annotations_Of(a.Topic).AddWarningV2(jsii.String("dispatch-relay:no-alarm-subscriber"),
			jsii.String(NoAlarmSubscriber))
	}

	period := awscdk.Duration_Minutes(jsii.Number(alarmPeriodMinutes))
	sum := func(m awscloudwatch.Metric) awscloudwatch.Metric {
		return m.With(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period})
	}
	custom := func(name string) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(config.MetricNamespace),
			MetricName:    jsii.String(name),
			DimensionsMap: &map[string]*string{config.MetricServiceDimension: jsii.String(config.MetricServiceValue)},
			Statistic:     jsii.String("Sum"),
			Period:        period,
		})
	}
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64) {
		al := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description + " Runbook: docs/deploy.md#" + strings.ToLower(id) + "."),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			// No data means nothing happened (no traffic, no errors).
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		al.AddAlarmAction(awscloudwatchactions.NewSnsAction(a.Topic))
		al.AddOkAction(awscloudwatchactions.NewSnsAction(a.Topic))
		a.ByID[id] = al
		a.IDs = append(a.IDs, id)
	}

	// Queues.
	alarm("TimerDeadLetterAlarm",
		"Ack timers failed repeatedly and landed in the dead-letter queue: escalations are not happening.",
		timers.DeadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: period}), 1)
	alarm("FallbackDeadLetterAlarm",
		"Webhooks queued by Twilio's Fallback URL could not be relayed and landed in the dead-letter queue: customers' texts are waiting.",
		fallback.DeadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: period}), 1)
	alarm("QueueMessagesFailedAlarm",
		"An ack timer or a queued fallback webhook failed and went back to its queue for a retry (per-message failures, long before the DLQ).",
		custom(config.MetricMessagesFailed), 1)

	// Functions: whole-invocation errors and throttles.
	for _, f := range []struct {
		id string
		fn *Function
	}{{"ApiFunction", fns.API}, {"EscalatorFunction", fns.Escalator}, {"FallbackFunction", fns.Fallback}} {
		alarm(f.id+"ErrorsAlarm", "The "+f.id+" failed whole invocations (crashes, timeouts, initialisation errors).",
			sum(f.fn.Fn.MetricErrors(nil)), 1)
		alarm(f.id+"ThrottlesAlarm", "Lambda throttled the "+f.id+" (reserved or account concurrency exhausted); requests or messages were refused or delayed.",
			sum(f.fn.Fn.MetricThrottles(nil)), 1)
	}

	// The relay's own metrics (EMF, namespace config.MetricNamespace).
	alarm("RelaysExhaustedAlarm",
		"A relay went through its whole chain without an acknowledgement; the tenant's fallback contact was texted.",
		custom(ExhaustedMetric), 1)
	alarm("OperatorOptedOutAlarm",
		"An operator texted STOP: they are out of every chain (and Twilio blocks texts to them) until they text START.",
		custom(config.MetricOperatorsOptedOut), 1)
	alarm("SendErrorsAlarm",
		"Twilio refused or failed a text to an operator (bad number, blocked, credentials, outage).",
		custom(config.MetricSendErrors), 1)
	alarm("SignatureRejectedAlarm",
		"A Twilio webhook was refused for its X-Twilio-Signature: a rotated Auth Token or a wrong PUBLIC_BASE_URL drops every inbound text.",
		custom(config.MetricSignatureRejected), 1)

	// The HTTP API: any 5xx, any 5xx on each Twilio route (detailed metrics), and the 4xx share.
	alarm("HttpApi5xxAlarm",
		"The HTTP API answered 5xx (function errors, integration throttling, timeouts).",
		sum(api.HttpApi.MetricServerError(nil)), 1)
	for _, key := range TwilioRouteKeys() {
		method, path, _ := strings.Cut(key, " ")
		alarm("TwilioRoute"+routeID(key)+"5xxAlarm",
			"Twilio's "+key+" answered 5xx: Twilio turns to the Fallback URL (or, for the fallback itself, gives up).",
			awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:  jsii.String("AWS/ApiGateway"),
				MetricName: jsii.String("5xx"),
				DimensionsMap: &map[string]*string{
					"ApiId": api.HttpApi.ApiId(), "Stage": jsii.String("$default"), "Method": jsii.String(method), "Resource": jsii.String(path),
				},
				Statistic: jsii.String("Sum"),
				Period:    period,
			}), 1)
	}
	alarm("HttpApi4xxRateAlarm",
		"More than a quarter of API requests were refused with 4xx, 429 throttling included: a probe, a flood or a broken client.",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String("IF(requests >= " + strconv.Itoa(api4xxMinRequests) + ", 100 * errors / requests, 0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"errors":   sum(api.HttpApi.MetricClientError(nil)),
				"requests": sum(api.HttpApi.MetricCount(nil)),
			},
			Label:  jsii.String("4xx % of requests"),
			Period: period,
		}), api4xxRatePercent)

	// CloudWatch may publish to the topic only for these alarms.
	arns := make([]*string, 0, len(a.IDs))
	for _, al := range a.All() {
		arns = append(arns, al.AlarmArn())
	}
	a.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{a.Topic.TopicArn()},
		Conditions: &map[string]any{
			"ArnEquals":    map[string]any{"aws:SourceArn": arns},
			"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
		},
	}))
	return a
}
