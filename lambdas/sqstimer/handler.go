package sqstimer

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Early is how far ahead of its Due a delivered tick may be and still be
// handled; a tick further out was cut short by MaxDelay and is re-scheduled.
const Early = time.Second

// Reserve is the least time a tick is started with before the function's
// deadline: one escalation (store writes and a Twilio send, whose attempts
// are bounded by a 10 s client timeout) fits in it. With less left, the rest
// of the batch goes back to the queue untouched rather than being cut off by
// the Lambda timeout mid-send.
const Reserve = 20 * time.Second

// TickHandler runs a due tick; relay.Service implements it.
type TickHandler interface {
	HandleTick(ctx context.Context, t relay.Tick) error
}

// Handler returns the Lambda handler for the timer queue. It reports partial
// batch failures (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting),
// so the event source mapping must enable ReportBatchItemFailures: only
// messages whose tick failed for a reason worth retrying (Transient,
// Internal or Conflict) are returned to the queue, to be redelivered after
// the visibility timeout and, after maxReceiveCount, moved to the DLQ. A
// body that is not a tick, or a tick the service refuses for good, is
// logged and dropped so it cannot loop. Ticks still more than Early ahead
// are sent again through t with the remaining delay.
func (t *Timer) Handler(h TickHandler, logger *slog.Logger) func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	if logger == nil {
		logger = slog.Default()
	}
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, m := range ev.Records {
			if ctx.Err() != nil || !timeLeft(ctx, Reserve) {
				// Out of time: leave the rest for redelivery.
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				continue
			}
			if !t.handle(ctx, h, logger, m) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return resp, nil
	}
}

// handle runs one message and reports whether it is done with (handled,
// re-scheduled or dropped) rather than due for redelivery.
func (t *Timer) handle(ctx context.Context, h TickHandler, logger *slog.Logger, m events.SQSMessage) bool {
	var tk relay.Tick
	if err := json.Unmarshal([]byte(m.Body), &tk); err != nil || tk.RelayID == "" || tk.Kind == "" {
		logger.ErrorContext(ctx, "dropping undecodable timer message", "message_id", m.MessageId, "err", err, "body_bytes", len(m.Body))
		return true
	}
	log := logger.With("message_id", m.MessageId, "kind", tk.Kind, "tenant", tk.TenantID, "relay", tk.RelayID, "attempt", tk.Attempt)
	if wait := tk.Due.Sub(t.now()); wait > Early {
		if err := t.Schedule(ctx, tk); err != nil {
			log.ErrorContext(ctx, "re-scheduling tick failed", "due", tk.Due, "err", err)
			return false
		}
		log.DebugContext(ctx, "tick re-scheduled", "due", tk.Due, "wait", wait)
		return true
	}
	err := h.HandleTick(ctx, tk)
	if err == nil {
		return true
	}
	switch k := relay.KindOf(err); k {
	case relay.Transient, relay.Internal, relay.Conflict:
		log.WarnContext(ctx, "tick failed, will be redelivered", "kind", k.String(), "err", err)
		return false
	default:
		log.ErrorContext(ctx, "tick refused, dropping", "kind", k.String(), "err", err)
		return true
	}
}

// timeLeft reports whether ctx has no deadline or at least d before it.
func timeLeft(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) >= d
}
