package s3audit

import (
	"context"
	"errors"
	"net"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Bucket is the object store the audit log writes to: S3 on AWS, a
// directory in the dev server. Keys are slash-separated and compared as
// byte strings.
type Bucket interface {
	// Put stores body under key unless an object already exists there, in
	// which case it returns an error of Kind Conflict. Audit objects are
	// written once and never replaced.
	Put(ctx context.Context, key string, body []byte) error
	// Get returns the object stored under key, or an error of Kind NotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// List returns up to max keys that start with prefix and sort strictly
	// after startAfter, in lexical order, and whether more such keys follow.
	List(ctx context.Context, prefix, startAfter string, max int) (keys []string, more bool, err error)
}

// classify gives an SDK error a relay Kind: throttling, server faults and
// network trouble are Transient, a missing object is NotFound, a lost
// create-only race is Conflict, anything else (access denied, no such
// bucket) is Internal because retrying will not fix configuration.
func classify(err error, msg string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return relay.Wrap(relay.Transient, err, msg)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return relay.Wrap(relay.NotFound, err, msg)
		case "NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
			return relay.Wrap(relay.Internal, err, msg)
		case "PreconditionFailed":
			return relay.Wrap(relay.Conflict, err, msg)
		case "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
			"InternalError", "ServiceUnavailable", "ConditionalRequestConflict":
			return relay.Wrap(relay.Transient, err, msg)
		}
	}
	var sendErr *smithyhttp.RequestSendError
	var netErr net.Error
	if errors.As(err, &sendErr) || errors.As(err, &netErr) {
		return relay.Wrap(relay.Transient, err, msg)
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		switch code := resp.HTTPStatusCode(); {
		case code == 404:
			return relay.Wrap(relay.NotFound, err, msg)
		case code == 412:
			return relay.Wrap(relay.Conflict, err, msg)
		case code == 409 || code == 429 || code >= 500:
			return relay.Wrap(relay.Transient, err, msg)
		}
		return relay.Wrap(relay.Internal, err, msg)
	}
	return relay.Wrap(relay.Internal, err, msg)
}
