package apigw

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Queued describes webhooks that API Gateway wrote into an SQS queue through
// a service integration (SQS-SendMessage: the raw body as the message body,
// X-Twilio-Signature as a message attribute) instead of invoking a function,
// so they are accepted even while the API function is failing.
type Queued struct {
	// Path is the route the webhook was posted to; the replayed request uses
	// it, so the signature is checked against PUBLIC_BASE_URL + Path.
	Path string
	// SignatureAttribute is the message attribute holding X-Twilio-Signature.
	SignatureAttribute string
	// Log receives one line per message that is dropped or retried.
	Log *slog.Logger
	// Reserve is the least time a message is started with before the
	// function's deadline; with less, the rest of the batch is left for
	// redelivery instead of being cut off mid-relay. Zero means 0.
	Reserve time.Duration
}

// Handler returns the Lambda handler for the queue: each message is replayed
// through h as the POST Twilio made, with its body and signature. A 2xx answer
// is done; a 4xx other than 409 and 429 (bad signature, malformed or unknown
// number) can never succeed and is dropped, logged (h counts signature
// rejections); anything else (5xx, a store or Twilio outage, a conflict) is
// reported as a partial batch failure
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting)
// and redelivered after the visibility timeout, then moved to the DLQ. A
// message that an earlier delivery already relayed is answered as a
// duplicate by the MessageSid claim.
func (q Queued) Handler(h http.Handler) func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := q.Log
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for _, m := range ev.Records {
			if ctx.Err() != nil || !timeLeft(ctx, q.Reserve) || !q.replay(ctx, h, log, m) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return resp, nil
	}
}

// replay serves one queued webhook and reports whether it is done with.
func (q Queued) replay(ctx context.Context, h http.Handler, log *slog.Logger, m events.SQSMessage) bool {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, q.Path, strings.NewReader(m.Body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if a, ok := m.MessageAttributes[q.SignatureAttribute]; ok && a.StringValue != nil {
		req.Header.Set("X-Twilio-Signature", *a.StringValue)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	switch st := rec.Code; {
	case st >= 200 && st < 300:
		return true
	case st == http.StatusConflict || st == http.StatusTooManyRequests:
		// A lost race or a limit: the same request can succeed later.
		log.WarnContext(ctx, "queued webhook conflicted, will be redelivered", "message_id", m.MessageId, "status", st)
		return false
	case st >= 400 && st < 500:
		log.ErrorContext(ctx, "dropping queued webhook", "message_id", m.MessageId, "status", st,
			"answer", strings.TrimSpace(rec.Body.String()))
		return true
	default:
		log.WarnContext(ctx, "queued webhook failed, will be redelivered", "message_id", m.MessageId, "status", st)
		return false
	}
}

// timeLeft reports whether ctx has no deadline or at least d before it.
func timeLeft(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) >= d
}
