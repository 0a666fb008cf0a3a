package twilio

import (
	"errors"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// codeAuthenticate is Twilio's "Authenticate" error: the Account SID and Auth
// Token were refused (https://www.twilio.com/docs/api/errors/20003).
const codeAuthenticate = 20003

// IsAuthError reports whether err is Twilio refusing the credentials on a
// request it did not act on, which is what a rotated or revoked Auth Token
// looks like to a warm function. A send whose outcome is unknown never counts:
// it may have been created before the credentials were refused, so resending
// it would risk a duplicate text.
func IsAuthError(err error) bool {
	return err != nil && relay.CodeOf(err) == codeAuthenticate && !errors.Is(err, ErrUnknownOutcome)
}
