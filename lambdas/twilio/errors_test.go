package twilio_test

import (
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   int
		want   relay.Kind
	}{
		{"no response (network error)", 0, 0, relay.Transient},
		{"429 throttled", 429, 20429, relay.Transient},
		{"429 without a code", 429, 0, relay.Transient},
		{"500", 500, 20500, relay.Transient},
		{"502 from a proxy, no code", 502, 0, relay.Transient},
		{"503", 503, 20503, relay.Transient},
		{"rate limit code on 400", 400, 14107, relay.Transient},
		{"21211 invalid To", 400, 21211, relay.Permanent},
		{"21614 not a mobile number", 400, 21614, relay.Permanent},
		{"21610 recipient opted out", 400, 21610, relay.Permanent},
		{"21612 unreachable route", 400, 21612, relay.Permanent},
		{"21408 region not enabled", 400, 21408, relay.Permanent},
		{"21606 From not capable for this destination", 400, 21606, relay.Permanent},
		{"21659 From country mismatch", 400, 21659, relay.Permanent},
		{"21635 landline", 400, 21635, relay.Permanent},
		{"21614 on a 5xx still permanent", 503, 21614, relay.Permanent},
		{"21617 body too long", 400, 21617, relay.Invalid},
		{"21604 To missing", 400, 21604, relay.Invalid},
		{"21624 bad validity period", 400, 21624, relay.Invalid},
		{"20003 authentication", 401, 20003, relay.Internal},
		{"20404 account not found", 404, 20404, relay.Internal},
		{"401 without a code", 401, 0, relay.Internal},
		{"403 without a code", 403, 0, relay.Internal},
		{"twilio-go refused the credentials", 400, 21222, relay.Internal},
		{"other 4xx", 400, 21999, relay.Invalid},
		{"422 without a code", 422, 0, relay.Invalid},
		{"delivery 30006 landline", 0, 30006, relay.Permanent},
		{"delivery 30003 handset off", 0, 30003, relay.Transient},
		{"unexpected success status", 200, 0, relay.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := twilio.Classify(tt.status, tt.code); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
