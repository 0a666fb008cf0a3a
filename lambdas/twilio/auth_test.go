package twilio_test

import (
	"errors"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

func TestIsAuthError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"authenticate", &relay.Error{Kind: relay.Internal, Code: 20003}, true},
		{"wrapped", errors.Join(errors.New("send"), &relay.Error{Kind: relay.Internal, Code: 20003}), true},
		{"other code", &relay.Error{Kind: relay.Permanent, Code: 21211}, false},
		{"unknown outcome never retried", &relay.Error{Kind: relay.Transient, Code: 20003, Err: twilio.ErrUnknownOutcome}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := twilio.IsAuthError(tc.err); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
