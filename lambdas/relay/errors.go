package relay

import (
	"errors"
	"fmt"
)

// Kind classifies an error so that callers can decide between answering the
// client, retrying and dropping without inspecting messages.
type Kind int

// The kinds of error the domain distinguishes.
const (
	// Internal is a fault of ours or of an outside system that retrying will not fix.
	Internal Kind = iota
	// Invalid means the input was malformed or refused; retrying the same input fails again.
	Invalid
	// NotFound means the named entity does not exist (in the caller's tenant).
	NotFound
	// Conflict means a conditional write lost: the item exists already or changed under us.
	Conflict
	// Transient means an outside system was unavailable or throttled; a retry may succeed.
	Transient
	// Permanent means an outside system refused the request for good (for example an
	// invalid or opted-out phone number); the domain skips rather than retries.
	Permanent
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	default:
		return "internal"
	}
}

// Error is a domain error: a Kind, a message safe to show a caller, an optional
// provider code (Twilio's error code, for example) and the wrapped cause.
type Error struct {
	Kind Kind
	// Code is an outside system's error code, such as Twilio's 21211, or 0.
	Code int
	// Msg is a short lowercase message that is safe to return to a caller.
	Msg string
	// Err is the underlying cause, logged but never returned to callers.
	Err error
}

func (e *Error) Error() string {
	s := e.Msg
	if e.Code != 0 {
		s = fmt.Sprintf("%s (code %d)", s, e.Code)
	}
	if e.Err != nil {
		if s == "" {
			return e.Err.Error()
		}
		return s + ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of the given kind with a formatted message.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Wrap builds an *Error of the given kind that wraps err.
func Wrap(kind Kind, err error, msg string) error {
	return &Error{Kind: kind, Msg: msg, Err: err}
}

// KindOf reports the Kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// CodeOf reports the provider code of the first *Error in err's chain that has one.
func CodeOf(err error) int {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return 0
		}
		if e.Code != 0 {
			return e.Code
		}
		err = e.Err
	}
	return 0
}

// MessageOf returns the caller-safe message of the first *Error in err's chain.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Msg != "" {
		return e.Msg
	}
	return "internal error"
}

// IsKind reports whether err is classified as kind.
func IsKind(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }
