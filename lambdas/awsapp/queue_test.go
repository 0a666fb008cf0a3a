package awsapp

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

type tally map[string]int

func (t tally) Count(_ context.Context, name, _ string, n int) { t[name] += n }

func TestCountFailures(t *testing.T) {
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "a"}, {MessageId: "b"}, {MessageId: "c"}}}
	tests := []struct {
		name     string
		failures []string
		err      error
		want     int
	}{
		{"all done", nil, nil, 0},
		{"two handed back", []string{"a", "c"}, nil, 2},
		{"invocation error fails the batch", nil, errors.New("boom"), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
				var resp events.SQSEventResponse
				for _, id := range tc.failures {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
				}
				return resp, tc.err
			}
			m := tally{}
			_, _ = CountFailures(h, m)(context.Background(), ev)
			if got := m[config.MetricMessagesFailed]; got != tc.want {
				t.Errorf("%s: got %d, want %d", config.MetricMessagesFailed, got, tc.want)
			}
		})
	}
}

// The alarms (infra) watch config's names; the domain counts its own constants.
func TestMetricNamesMatchTheAlarms(t *testing.T) {
	for _, c := range []struct{ domain, alarm string }{
		{relay.MetricExhausted, config.MetricExhausted},
		{relay.MetricSendError, config.MetricSendErrors},
		{relay.MetricOperatorOptedOut, config.MetricOperatorsOptedOut},
	} {
		if c.domain != c.alarm {
			t.Errorf("the relay counts %q, the alarm watches %q", c.domain, c.alarm)
		}
	}
}
