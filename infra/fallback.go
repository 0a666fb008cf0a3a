package infra

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// Fallback queue settings. Twilio requests the number's Fallback URL when the
// webhook answers 429/5xx or takes longer than 15 s
// (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides).
const (
	// The consumer replays a webhook in at most 25 s (httpapi's webhook budget) and only
	// starts one with that much left; 60 s fits a batch of fallbackBatchSize at worst.
	fallbackTimeoutSeconds = 60
	fallbackBatchSize      = 2
	// Visibility sized to the work: the function timeout plus a margin, so a failed replay
	// is retried within about 1.5 minutes (Lambda requires at least the function timeout).
	fallbackVisibilitySeconds = fallbackTimeoutSeconds + 30
	// A texted customer is waiting: retry a few times, then keep the evidence in the DLQ.
	fallbackMaxReceiveCount = 5
	// Enough parallel consumers to drain a full outage's backlog quickly without
	// hammering a store that may be the reason the primary failed.
	fallbackMaxConcurrency = 5
)

// Fallback is Twilio's Fallback URL on AWS: POST /api/sms/fallback is an API
// Gateway service integration (SQS-SendMessage) that writes the raw webhook
// into Queue with no Lambda in the request path, so texts are accepted while
// the API function is failing, slow or throttled. The fallback function
// consumes the queue (see newFunctions).
type Fallback struct {
	Queue       awssqs.Queue
	DeadLetters awssqs.Queue
}

func newFallback(scope constructs.Construct) *Fallback {
	dlq := awssqs.NewQueue(scope, jsii.String("FallbackDeadLetterQueue"), &awssqs.QueueProps{
		// Same protections as the timer queues: SSE-SQS, TLS only, the longest retention.
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	q := awssqs.NewQueue(scope, jsii.String("FallbackQueue"), &awssqs.QueueProps{
		// SSE-SQS: API Gateway's role can send without any KMS grant.
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(fallbackVisibilitySeconds)),
		// A webhook not relayed within 4 days is moot; the DLQ keeps the evidence.
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(4)),
		DeadLetterQueue: &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(fallbackMaxReceiveCount)},
	})
	return &Fallback{Queue: q, DeadLetters: dlq}
}

// FallbackMessageAttributes is the SQS MessageAttributes mapping: Twilio's signature
// header travels beside the untouched body (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-parameter-mapping.html).
var FallbackMessageAttributes = fmt.Sprintf(`{"%s":{"DataType":"String","StringValue":"${request.header.x-twilio-signature}"}}`,
	config.FallbackSignatureAttribute)

// integration is the SQS-SendMessage integration: the raw body (form-encoded, as
// Twilio signed it) and the signature, nothing parsed at the edge.
func (f *Fallback) integration() awsapigatewayv2.HttpRouteIntegration {
	return awsapigatewayv2integrations.NewHttpSqsIntegration(jsii.String("FallbackIntegration"), &awsapigatewayv2integrations.HttpSqsIntegrationProps{
		Queue:   f.Queue,
		Subtype: awsapigatewayv2.HttpIntegrationSubtype_SQS_SEND_MESSAGE,
		ParameterMapping: awsapigatewayv2.NewParameterMapping().
			Custom(jsii.String("QueueUrl"), f.Queue.QueueUrl()).
			Custom(jsii.String("MessageBody"), jsii.String("$request.body")).
			Custom(jsii.String("MessageAttributes"), jsii.String(FallbackMessageAttributes)),
	})
}
