package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// Output names (stable: docs/deploy.md and scripts read them).
const (
	OutputTwilioWebhookURL  = "TwilioWebhookUrl"
	OutputFallbackURL       = "TwilioFallbackUrl"
	OutputFallbackDLQURL    = "FallbackDeadLetterQueueUrl"
	OutputStatusCallbackURL = "TwilioStatusCallbackUrl"
	OutputDashboardURL      = "DashboardUrl"
	OutputTrackURL          = "TrackPageUrl"
	OutputUserPoolID        = "UserPoolId"
	OutputUserPoolClientID  = "UserPoolClientId"
	OutputTwilioSecretARN   = "TwilioSecretArn"
	OutputDistributionID    = "DistributionId"
	OutputAlarmTopicARN     = "AlarmTopicArn"
	OutputAlarmSubscriber   = "AlarmSubscriber"
	OutputDeadLetterURL     = "TimerDeadLetterQueueUrl"
	OutputTableName         = "TableName"
	OutputAuditBucketName   = "AuditBucketName"
)

// NoAlarmSubscriber is the warning (and output) when alarmEmail is empty.
const NoAlarmSubscriber = "NONE: alarmEmail is empty, the alarms publish to a topic nobody reads; set alarmEmail or subscribe to the AlarmTopicArn output (docs/deploy.md#runbook)"

func newOutputs(scope constructs.Construct, s Settings, r *RelayStack) {
	out := func(id, value, description string) {
		awscdk.NewCfnOutput(scope, jsii.String(id), &awscdk.CfnOutputProps{Value: jsii.String(value), Description: jsii.String(description)})
	}
	outToken := func(id string, value *string, description string) {
		awscdk.NewCfnOutput(scope, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	base := s.PublicBaseURL()
	out(OutputTwilioWebhookURL, base+"/api/sms/incoming", "Twilio console > Phone Numbers > your number > Messaging: 'A message comes in' webhook, HTTP POST")
	out(OutputFallbackURL, base+config.FallbackPath, "Twilio console > the same number > Messaging: 'Primary handler fails' URL, HTTP POST (queued, relayed by the fallback function)")
	out(OutputStatusCallbackURL, base+"/api/sms/delivery", "Delivery status callback: the relay sets it (with per-message parameters) on every text it sends; nothing to paste")
	out(OutputDashboardURL, base+"/", "Dispatch dashboard")
	out(OutputTrackURL, base+"/track", "Customer tracking page")
	if r.Auth.UserPool != nil {
		outToken(OutputUserPoolID, r.Auth.UserPool.UserPoolId(), "Cognito user pool for dashboard users (custom:tenant_id holds the tenant)")
		outToken(OutputUserPoolClientID, r.Auth.Client.UserPoolClientId(), "Cognito app client id (the JWT audience)")
	}
	outToken(OutputTwilioSecretARN, r.Secrets.Twilio.SecretArn(), "Fill once: aws secretsmanager put-secret-value --secret-id <this> --secret-string '{\"account_sid\":\"AC...\",\"auth_token\":\"...\"}'")
	outToken(OutputDistributionID, r.Edge.Distribution.DistributionId(), "CloudFront distribution")
	outToken(OutputAlarmTopicARN, r.Alarms.Topic.TopicArn(), "SNS topic the alarms publish to")
	subscriber := s.AlarmEmail
	if subscriber == "" {
		subscriber = NoAlarmSubscriber
	}
	out(OutputAlarmSubscriber, subscriber, "Who receives the alarms (alarmEmail context)")
	outToken(OutputTableName, r.Data.Table.TableName(), "DynamoDB table (relayctl load -table, RELAY_TABLE_NAME)")
	outToken(OutputAuditBucketName, r.Audit.Bucket.BucketName(), "Audit bucket (relayctl export -bucket, AUDIT_BUCKET_NAME)")
	outToken(OutputDeadLetterURL, r.Timers.DeadLetters.QueueUrl(), "Dead-letter queue of failed ack timers")
	outToken(OutputFallbackDLQURL, r.Fallback.DeadLetters.QueueUrl(), "Dead-letter queue of fallback webhooks that could not be relayed")
}
