package awserr_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/dispatchrelay/dispatch-relay/lambdas/awserr"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

func status(code int) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("x")}}
}

func TestClassify(t *testing.T) {
	codes := map[string]relay.Kind{"PreconditionFailed": relay.Conflict, "SlowDown": relay.Transient}
	tests := []struct {
		name string
		err  error
		want relay.Kind
	}{
		{"service code first", &smithy.GenericAPIError{Code: "PreconditionFailed"}, relay.Conflict},
		{"throttling code", &smithy.GenericAPIError{Code: "SlowDown"}, relay.Transient},
		{"unknown code", &smithy.GenericAPIError{Code: "AccessDenied"}, relay.Internal},
		{"deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), relay.Transient},
		{"send failed", &smithyhttp.RequestSendError{Err: errors.New("connection refused")}, relay.Transient},
		{"429", status(429), relay.Transient},
		{"503", status(503), relay.Transient},
		{"404", status(404), relay.NotFound},
		{"412", status(412), relay.Conflict},
		{"400", status(400), relay.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := awserr.Classify(tt.err, "op failed", codes)
			if got := relay.KindOf(err); got != tt.want {
				t.Errorf("KindOf = %v, want %v", got, tt.want)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("the cause is not wrapped")
			}
		})
	}
	if awserr.Classify(nil, "x", nil) != nil {
		t.Errorf("Classify(nil) != nil")
	}
}
