// Package awserr gives AWS SDK v2 errors a relay Kind, so every AWS adapter
// classifies the same way: a service's own error codes first, then the
// transport (deadlines, network failures, throttling and 5xx are Transient).
package awserr

import (
	"context"
	"errors"
	"net"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Classify wraps err as a relay error with msg. codes maps the service's
// error codes (smithy.APIError.ErrorCode) to kinds and is consulted first.
// Then: cancelled or expired contexts, failed sends and network errors are
// Transient; HTTP 429 and 5xx are Transient, 404 NotFound, 412 Conflict;
// anything else is Internal, because retrying will not fix it.
func Classify(err error, msg string, codes map[string]relay.Kind) error {
	if err == nil {
		return nil
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if k, ok := codes[api.ErrorCode()]; ok {
			return relay.Wrap(k, err, msg)
		}
	}
	var sendErr *smithyhttp.RequestSendError
	var netErr net.Error
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &sendErr) || errors.As(err, &netErr) {
		return relay.Wrap(relay.Transient, err, msg)
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		switch code := resp.HTTPStatusCode(); {
		case code == 429 || code >= 500:
			return relay.Wrap(relay.Transient, err, msg)
		case code == 404:
			return relay.Wrap(relay.NotFound, err, msg)
		case code == 412:
			return relay.Wrap(relay.Conflict, err, msg)
		}
	}
	return relay.Wrap(relay.Internal, err, msg)
}
