package awsapp

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// SQSHandler is a queue consumer reporting partial batch failures.
type SQSHandler = func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// CountFailures counts every message h hands back to SQS as
// config.MetricMessagesFailed, so a failing message raises an alarm at once
// instead of only after maxReceiveCount redeliveries land it in the DLQ.
func CountFailures(h SQSHandler, m relay.Metrics) SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp, err := h(ctx, ev)
		n := len(resp.BatchItemFailures)
		if err != nil {
			n = len(ev.Records)
		}
		if n > 0 && m != nil {
			m.Count(ctx, config.MetricMessagesFailed, "", n)
		}
		return resp, err
	}
}
