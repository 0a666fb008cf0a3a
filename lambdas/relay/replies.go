package relay

import (
	"strconv"
	"strings"
)

// ReplyAction is what an operator's text asks for.
type ReplyAction int

// Reply actions.
const (
	// ReplyText is free text, relayed to the customer when the tenant allows two-way replies.
	ReplyText ReplyAction = iota
	// ReplyAck acknowledges a relay.
	ReplyAck
	// ReplyPass hands a relay to the next operator now.
	ReplyPass
	// ReplyHelp asks for the usage text.
	ReplyHelp
)

// Reply is a parsed operator text.
type Reply struct {
	Action ReplyAction
	// Code names the relay; 0 means the operator's most recent one.
	Code int
	// Text is the free text for ReplyText.
	Text string
}

// ParseReply reads an operator's text with GoAlert-style reply codes:
// "OK"/"ACK" acknowledge the most recent relay, "<code> OK" a given one
// (case-insensitive, the space optional), "PASS"/"<code> PASS" hand off,
// "HELP" asks for usage, "<code> <text>" and anything else is free text.
func ParseReply(body string) Reply {
	s := strings.TrimSpace(body)
	word := strings.ToUpper(strings.TrimRight(s, ".!"))
	if a, ok := keyword(word); ok {
		return Reply{Action: a}
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 6 {
		return Reply{Action: ReplyText, Text: s}
	}
	code, _ := strconv.Atoi(s[:i])
	rest := strings.TrimSpace(s[i:])
	if a, ok := keyword(strings.ToUpper(strings.TrimRight(rest, ".!"))); ok && a != ReplyHelp {
		return Reply{Action: a, Code: code}
	}
	if rest == "" || code == 0 || rest[0] >= '0' && rest[0] <= '9' {
		return Reply{Action: ReplyText, Text: s}
	}
	return Reply{Action: ReplyText, Code: code, Text: rest}
}

func keyword(w string) (ReplyAction, bool) {
	switch w {
	case "OK", "ACK", "OKAY", "K":
		return ReplyAck, true
	case "PASS":
		return ReplyPass, true
	case "HELP", "?", "INFO":
		return ReplyHelp, true
	}
	return ReplyText, false
}

// Opt-out and opt-in keywords Twilio honours for long codes
// (https://help.twilio.com/articles/223134027).
var (
	optOutWords = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true, "OPTOUT": true, "REVOKE": true}
	optInWords  = map[string]bool{"START": true, "YES": true, "UNSTOP": true, "OPTIN": true}
)

// OptKeyword reports whether a customer's text is an opt-out (out=true) or an
// opt-in keyword (out=false); ok is false for any other text.
func OptKeyword(body string) (out, ok bool) {
	w := strings.ToUpper(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(body), ".!")))
	if optOutWords[w] {
		return true, true
	}
	if optInWords[w] {
		return false, true
	}
	return false, false
}
