// Package sqstimer implements the relay's ack timers on Amazon SQS: each
// Tick is a message whose per-message DelaySeconds hides it until the tick
// is due (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-delay-queues.html),
// and a Lambda consumer hands delivered ticks to the relay service. Unlike a
// scheduled rule per message it fires within seconds and has no per-account
// rule limit; the consumer re-reads state, so SQS's at-least-once delivery is
// harmless.
package sqstimer

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/dispatchrelay/dispatch-relay/lambdas/awserr"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// MaxDelay is the longest delay SQS allows on one message; a tick due later
// is delivered early and re-scheduled for the rest.
const MaxDelay = 900 * time.Second

// SQSAPI is the part of *sqs.Client that Timer uses.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Timer is a relay.Timer that sends each tick as a delayed SQS message.
type Timer struct {
	client   SQSAPI
	queueURL string
	now      func() time.Time
}

var _ relay.Timer = (*Timer)(nil)

// Option configures a Timer.
type Option func(*Timer)

// WithClock sets the clock delays are computed from.
func WithClock(now func() time.Time) Option { return func(t *Timer) { t.now = now } }

// New returns a Timer that sends ticks to the queue at queueURL.
func New(client SQSAPI, queueURL string, opts ...Option) *Timer {
	t := &Timer{client: client, queueURL: queueURL, now: time.Now}
	for _, o := range opts {
		o(t)
	}
	return t
}

// DelaySeconds is the SQS delay that delivers a tick due at due, seen at
// now: the wait rounded up to whole seconds, so a tick never arrives before
// it is due unless it is more than MaxDelay away, clamped to 0..900.
func DelaySeconds(now, due time.Time) int32 {
	d := due.Sub(now)
	if d <= 0 {
		return 0
	}
	if d >= MaxDelay {
		return int32(MaxDelay / time.Second)
	}
	return int32((d + time.Second - 1) / time.Second)
}

// Schedule sends tk as a JSON message delayed until tk.Due (at most
// MaxDelay ahead).
func (t *Timer) Schedule(ctx context.Context, tk relay.Tick) error {
	body, err := json.Marshal(tk)
	if err != nil {
		return fmt.Errorf("encode tick for relay %s: %w", tk.RelayID, relay.Wrap(relay.Internal, err, "bad tick"))
	}
	_, err = t.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     aws.String(t.queueURL),
		MessageBody:  aws.String(string(body)),
		DelaySeconds: DelaySeconds(t.now(), tk.Due),
	})
	if err != nil {
		return fmt.Errorf("schedule %s tick for relay %s: %w", tk.Kind, tk.RelayID, classify(err))
	}
	return nil
}

// errorCodes are SQS's throttling and fault codes; awserr classifies the
// transport (deadlines, network failures, 429 and 5xx).
var errorCodes = map[string]relay.Kind{
	"RequestThrottled": relay.Transient, "ThrottlingException": relay.Transient, "KmsThrottled": relay.Transient,
	"ServiceUnavailable": relay.Transient, "InternalError": relay.Transient, "InternalFailure": relay.Transient,
}

// classify gives an SDK error a relay Kind.
func classify(err error) error { return awserr.Classify(err, "timer queue error", errorCodes) }
