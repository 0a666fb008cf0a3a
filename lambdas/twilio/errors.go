package twilio

import (
	"errors"
	"net/http"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// ErrUnknownOutcome is wrapped in the error Send returns when a request may
// have reached Twilio but no answer came back and no matching message could be
// found afterwards. Retrying such a send may text the recipient twice.
var ErrUnknownOutcome = errors.New("twilio: outcome of send unknown")

// codeKinds classifies the Twilio error codes whose meaning is known. Codes
// not listed fall back to the HTTP status (see Classify). References:
// https://www.twilio.com/docs/api/errors/<code>.
var codeKinds = map[int]relay.Kind{
	// Account and credentials: our configuration is wrong; retrying will not help.
	20003: relay.Internal, // authentication failed
	20005: relay.Internal, // account not active
	20008: relay.Internal, // resource not accessible with test credentials
	20404: relay.Internal, // resource (account) not found
	21222: relay.Internal, // invalid username: illegal characters in the account sid (twilio-go)
	21224: relay.Internal, // invalid password: illegal characters in the auth token (twilio-go)
	21212: relay.Internal, // invalid 'From' number: not a phone number, short code or sender id
	21661: relay.Internal, // 'From' number is not SMS-capable at all

	// Throttling and outages: a later retry may succeed.
	20429: relay.Transient, // too many requests
	20500: relay.Transient, // internal server error
	20503: relay.Transient, // service unavailable
	14107: relay.Transient, // SMS send rate limit exceeded
	21611: relay.Transient, // 'From' number has too many queued messages
	30001: relay.Transient, // delivery: queue overflow
	30003: relay.Transient, // delivery: unreachable destination handset (phone off)
	30008: relay.Transient, // delivery: unknown error

	// This destination will not work: skip it.
	21211: relay.Permanent, // invalid 'To' phone number
	21214: relay.Permanent, // 'To' phone number cannot be reached
	21217: relay.Permanent, // phone number does not appear to be valid
	21219: relay.Permanent, // 'To' number not verified (trial account)
	21265: relay.Permanent, // 'To' number cannot be a short code
	21268: relay.Permanent, // premium numbers are not permitted
	21407: relay.Permanent, // this phone number type does not support SMS
	21408: relay.Permanent, // permission to send an SMS has not been enabled for the region
	21421: relay.Permanent, // phone number is invalid
	21606: relay.Permanent, // 'From' number not capable of messaging this destination
	21608: relay.Permanent, // 'To' number unverified for a trial account
	21610: relay.Permanent, // recipient unsubscribed (replied STOP)
	21612: relay.Permanent, // 'To' number not reachable via SMS from this 'From' (no route)
	21614: relay.Permanent, // 'To' number is not a valid mobile number
	21635: relay.Permanent, // 'To' number cannot be a landline
	21659: relay.Permanent, // 'From' is not a Twilio number, or country mismatch with 'To'
	30004: relay.Permanent, // delivery: message blocked (recipient opted out or blocked)
	30005: relay.Permanent, // delivery: unknown destination handset
	30006: relay.Permanent, // delivery: landline or unreachable carrier
	30007: relay.Permanent, // delivery: message filtered by the carrier

	// The request itself is wrong; the same request fails again.
	21602: relay.Invalid, // message body is required
	21603: relay.Invalid, // 'From' number is required
	21604: relay.Invalid, // 'To' number is required
	21617: relay.Invalid, // body exceeds the 1600 character limit
	21619: relay.Invalid, // a text body or media URL is required
	21624: relay.Invalid, // invalid validity period
}

// Classify returns the Kind of a failed Twilio request from the HTTP status
// (0 when no response arrived) and Twilio's error code (0 when none). A known
// code decides; otherwise no response, 429 and 5xx are Transient, 401, 403 and
// 404 (credentials or account) are Internal and any other 4xx is Invalid.
// It also classifies the ErrorCode of a delivery status callback.
func Classify(status, code int) relay.Kind {
	if k, ok := codeKinds[code]; ok {
		return k
	}
	switch {
	case status == 0, status == http.StatusTooManyRequests, status >= 500:
		return relay.Transient
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound:
		return relay.Internal
	case status >= 400:
		return relay.Invalid
	default:
		return relay.Internal
	}
}
