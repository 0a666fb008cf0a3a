package relay

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// PhoneProblem says what is wrong with a directory phone number, or "" when
// it can work: an E.164 number and, in the North American Numbering Plan
// (+1), ten digits whose area code and exchange start with 2-9 and whose
// area code is not an N11 service code (211-911). Inbound webhooks are only
// checked for E.164 (ValidPhone): Twilio decides who may text.
func PhoneProblem(p string) string {
	if !ValidPhone(p) {
		return "is not an E.164 number like +16195550111"
	}
	if !strings.HasPrefix(p, "+1") {
		return ""
	}
	d := p[2:]
	switch {
	case len(d) != 10:
		return "is not a North American number: +1 and ten digits"
	case d[0] < '2':
		return "has an area code starting with 0 or 1, which North America does not use"
	case d[1] == '1' && d[2] == '1':
		return "has an N11 service code (such as 911) as its area code"
	case d[3] < '2':
		return "has an exchange starting with 0 or 1, which North America does not use"
	}
	return ""
}

// WindowSeconds is the conversation window in API documents: Seconds,
// with errors that name the field.
type WindowSeconds Seconds

// MarshalJSON writes the window as Seconds does.
func (w WindowSeconds) MarshalJSON() ([]byte, error) { return Seconds(w).MarshalJSON() }

// UnmarshalJSON reads a duration string or a number of seconds.
func (w *WindowSeconds) UnmarshalJSON(b []byte) error {
	var s Seconds
	if err := s.UnmarshalJSON(b); err != nil {
		return fmt.Errorf("conversation_window %s is not a duration like 30m", strings.TrimSpace(string(b)))
	}
	*w = WindowSeconds(s)
	return nil
}

// ValidateOptions reports every bad option of threads, keywords and
// encoding (conversation_window, help_text, prefix); Validate includes it.
func (t Tenant) ValidateOptions() error {
	var fe FieldErrors
	t.checkConversation(&fe)
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// checkConversation checks the options of threads, keywords and encoding.
func (t Tenant) checkConversation(fe *FieldErrors) {
	if d := t.ConversationWindow; d != 0 && (d < time.Second || d > MaxConversationWindow) {
		fe.add("conversation_window", "%s must be between 1s and %s", d, MaxConversationWindow)
	}
	if !utf8.ValidString(t.HelpText) || utf8.RuneCountInString(t.HelpText) > maxReply {
		fe.add("help_text", "must be text of at most %d characters", maxReply)
	}
	if t.Prefix != nil {
		p := *t.Prefix
		if !utf8.ValidString(p) || utf8.RuneCountInString(p) > maxPrefixChars || strings.ContainsAny(p, "\r\n") {
			fe.add("prefix", "must be at most %d characters on one line", maxPrefixChars)
		}
	}
}
