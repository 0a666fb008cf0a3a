package s3audit

import (
	"context"

	"github.com/dispatchrelay/dispatch-relay/lambdas/awserr"
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

// errorCodes are S3's error codes with a meaning for the audit log: a
// missing object, a lost create-only race, configuration faults that a retry
// will not fix, and throttling; awserr classifies the transport.
var errorCodes = map[string]relay.Kind{
	"NoSuchKey": relay.NotFound, "NotFound": relay.NotFound,
	"NoSuchBucket": relay.Internal, "AccessDenied": relay.Internal,
	"InvalidAccessKeyId": relay.Internal, "SignatureDoesNotMatch": relay.Internal,
	"PreconditionFailed": relay.Conflict,
	"SlowDown":           relay.Transient, "Throttling": relay.Transient, "ThrottlingException": relay.Transient,
	"RequestTimeout": relay.Transient, "InternalError": relay.Transient, "ServiceUnavailable": relay.Transient,
	"ConditionalRequestConflict": relay.Transient,
}

// classify gives an SDK error a relay Kind.
func classify(err error, msg string) error { return awserr.Classify(err, msg, errorCodes) }
