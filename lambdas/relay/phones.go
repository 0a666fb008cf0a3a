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
		if !countryCodes[p[1:2]] && !countryCodes[p[1:3]] && !countryCodes[p[1:4]] {
			return "has no assigned country code (ITU-T E.164)"
		}
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

// countryCodes are the assigned E.164 country codes (ITU-T E.164 annex),
// +1 (checked as North American numbers) aside.
var countryCodes = func() map[string]bool {
	m := map[string]bool{"7": true}
	for _, c := range strings.Fields(`20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58
		60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98
		211 212 213 216 218 290 291 297 298 299 420 421 423 670 800 808 850 852 853 855 856 870 878 880 881
		882 883 886 888 992 993 994 995 996 998`) {
		m[c] = true
	}
	for _, r := range [][2]int{{220, 258}, {260, 269}, {350, 359}, {370, 383}, {385, 387}, {389, 389},
		{500, 509}, {590, 599}, {672, 683}, {685, 692}, {960, 968}, {970, 977}, {979, 979}} {
		for c := r[0]; c <= r[1]; c++ {
			m[fmt.Sprint(c)] = true
		}
	}
	return m
}()

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
