package infra

import (
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
const ExhaustedMetric = "RelaysExhausted"

// Alarm thresholds over 5-minute periods.
const (
	alarmPeriodMinutes = 5
	// A handful of 5xx can be Twilio retries racing a deploy; sustained ones are an outage.
	api5xxThreshold = 5
)

// Alarms is the alarm topic and the alarms that publish to it.
type Alarms struct {
	Topic           awssns.Topic
	DeadLetters     awscloudwatch.Alarm
	APIErrors       awscloudwatch.Alarm
	EscalatorErrors awscloudwatch.Alarm
	Exhausted       awscloudwatch.Alarm
	API5xx          awscloudwatch.Alarm
}

// All lists every alarm.
func (a *Alarms) All() []awscloudwatch.Alarm {
	return []awscloudwatch.Alarm{a.DeadLetters, a.APIErrors, a.EscalatorErrors, a.Exhausted, a.API5xx}
}

func newAlarms(scope constructs.Construct, s Settings, fns *Functions, timers *Timers, api *API) *Alarms {
	a := &Alarms{}
	a.Topic = awssns.NewTopic(scope, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("dispatch-relay alarms"),
		// Publishers must use TLS.
		EnforceSSL: jsii.Bool(true),
	})
	if s.AlarmEmail != "" {
		a.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.AlarmEmail), nil))
	}

	period := awscdk.Duration_Minutes(jsii.Number(alarmPeriodMinutes))
	sum := func(m awscloudwatch.Metric) awscloudwatch.Metric {
		return m.With(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period})
	}
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64) awscloudwatch.Alarm {
		al := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			// No data means nothing happened (no traffic, no errors).
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		al.AddAlarmAction(awscloudwatchactions.NewSnsAction(a.Topic))
		al.AddOkAction(awscloudwatchactions.NewSnsAction(a.Topic))
		return al
	}

	a.DeadLetters = alarm("TimerDeadLetterAlarm",
		"Ack timers are failing repeatedly and landing in the dead-letter queue: escalations are not happening. Inspect and redrive (docs/deploy.md).",
		timers.DeadLetters.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: period}), 1)
	a.APIErrors = alarm("ApiFunctionErrorsAlarm",
		"The API function returned errors (unhandled failures, timeouts).",
		sum(fns.API.Fn.MetricErrors(nil)), 1)
	a.EscalatorErrors = alarm("EscalatorFunctionErrorsAlarm",
		"The escalator function failed whole invocations; timers are being retried.",
		sum(fns.Escalator.Fn.MetricErrors(nil)), 1)
	a.Exhausted = alarm("RelaysExhaustedAlarm",
		"A relay went through its whole chain without an acknowledgement; the tenant's fallback contact was texted.",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(config.MetricNamespace),
			MetricName:    jsii.String(ExhaustedMetric),
			DimensionsMap: &map[string]*string{config.MetricServiceDimension: jsii.String(config.MetricServiceValue)},
			Statistic:     jsii.String("Sum"),
			Period:        period,
		}), 1)
	a.API5xx = alarm("HttpApi5xxAlarm",
		"The HTTP API answered 5xx (Lambda errors, throttling of the integration, timeouts). Twilio retries webhooks that fail.",
		sum(api.HttpApi.MetricServerError(nil)), api5xxThreshold)

	// CloudWatch may publish to the topic only for these alarms.
	arns := make([]*string, 0, 5)
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
