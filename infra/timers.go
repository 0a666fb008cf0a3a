package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Timer settings. The runtime sends each ack timer with DelaySeconds = the tenant's
// ack window (at most 900 s, the SQS limit:
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-timers.html).
const (
	// A batch of escalatorBatchSize ticks; the escalator starts a tick only with
	// sqstimer.Reserve (20 s: one Twilio send with its 10 s client timeout) left.
	escalatorTimeoutSeconds = 60
	// Visibility sized to the work (the function timeout plus a margin, the least Lambda
	// accepts is the timeout): a failed tick is retried after 1.5 minutes, not 6.
	timerVisibilitySeconds = escalatorTimeoutSeconds + 30
	// After this many failed receives a timer goes to the DLQ (and the DLQ alarm fires).
	timerMaxReceiveCount = 5
)

// Timers is the ack-timer queue and its dead-letter queue.
type Timers struct {
	Queue       awssqs.Queue
	DeadLetters awssqs.Queue
}

func newTimers(scope constructs.Construct) *Timers {
	dlq := awssqs.NewQueue(scope, jsii.String("TimerDeadLetterQueue"), &awssqs.QueueProps{
		// Encrypted at rest with the SQS-owned key (no KMS grants needed by producers).
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		// Deny any request not made over TLS.
		EnforceSSL: jsii.Bool(true),
		// The longest SQS allows: time to investigate and redrive.
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	q := awssqs.NewQueue(scope, jsii.String("TimerQueue"), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(timerVisibilitySeconds)),
		// A timer that cannot be processed for 4 days is moot; the DLQ keeps the evidence.
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(4)),
		// Poison timers stop retrying and surface on the DLQ alarm.
		DeadLetterQueue: &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(timerMaxReceiveCount)},
	})
	return &Timers{Queue: q, DeadLetters: dlq}
}
