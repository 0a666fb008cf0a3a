package relay

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxBodyChars is Twilio's limit on a message body
// (https://www.twilio.com/docs/messaging/api/message-resource): 1,600 characters.
// Counted in UTF-16 code units, which is never fewer than characters.
const MaxBodyChars = 1600

// maxNameChars bounds the customer name in a forward so that a long name
// cannot crowd out the message.
const maxNameChars = 60

// Encodings of an SMS body.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// gsmBasic is the GSM 03.38 default alphabet; gsmExtended are the characters
// sent as an escape plus one septet (two septets each).
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtended = "^{}\\[~]|€\f"
)

var gsmBasicSet, gsmExtSet = runeSet(gsmBasic), runeSet(gsmExtended)

func runeSet(s string) map[rune]bool {
	m := make(map[rune]bool, len(s))
	for _, r := range s {
		m[r] = true
	}
	return m
}

// Segments reports how many SMS segments body takes and in which encoding:
// GSM-7 when every character is in the GSM alphabet (160 septets in one
// segment, 153 per segment when concatenated), UCS-2 otherwise (70 UTF-16
// units, 67 when concatenated).
func Segments(body string) (int, string) {
	if body == "" {
		return 0, EncodingGSM7
	}
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case gsmBasicSet[r]:
			septets++
		case gsmExtSet[r]:
			septets += 2
		default:
			gsm = false
		}
		if !gsm {
			break
		}
	}
	if gsm {
		if septets <= 160 {
			return 1, EncodingGSM7
		}
		return (septets + 152) / 153, EncodingGSM7
	}
	units := utf16Len(body)
	if units <= 70 {
		return 1, EncodingUCS2
	}
	return (units + 66) / 67, EncodingUCS2
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// truncateUTF16 cuts s to at most max UTF-16 units on a character boundary.
func truncateUTF16(s string, max int) string {
	n := 0
	for i, r := range s {
		l := utf16.RuneLen(r)
		if n+l > max {
			return s[:i]
		}
		n += l
	}
	return s
}

// MaskPhone hides the middle of a phone number for logs and for unknown
// customers' display names: "+16195551234" becomes "+1******1234".
func MaskPhone(p string) string {
	if utf8.RuneCountInString(p) <= 6 {
		return strings.Repeat("*", utf8.RuneCountInString(p))
	}
	keep := 2
	if !strings.HasPrefix(p, "+") {
		keep = 1
	}
	return p[:keep] + strings.Repeat("*", len(p)-keep-4) + p[len(p)-4:]
}

// ForwardText is the text operators receive, `📦 <name>: <message>`, and the
// hint that follows it on its own line. When the whole would exceed
// MaxBodyChars the customer's message is shortened (ending in "…") and
// truncated is true; the name is capped at 60 characters.
func ForwardText(name, body, hint string) (text string, truncated bool) {
	return ForwardTextPrefix(DefaultPrefix, name, body, hint)
}

// ForwardTextPrefix is ForwardText with the tenant's prefix ("" for none).
func ForwardTextPrefix(prefix, name, body, hint string) (text string, truncated bool) {
	name = strings.TrimSpace(name)
	if utf16Len(name) > maxNameChars {
		name = truncateUTF16(name, maxNameChars-1) + "…"
	}
	return forwardWith(headOf(prefix, name), body, hint)
}

// forwardWith joins a head ("📦 Acme:") and the customer's message,
// shortening the message so that the whole and the hint fit in one text.
func forwardWith(head, body, hint string) (text string, truncated bool) {
	prefix := head + " "
	room := MaxBodyChars - utf16Len(prefix)
	if hint != "" {
		room -= 1 + utf16Len(hint)
	}
	if utf16Len(body) > room {
		// "…" is outside GSM-7: a text that is GSM-7 otherwise ends in "..."
		// so that it keeps 153-character segments.
		if _, enc := Segments(prefix + body); enc == EncodingGSM7 {
			body = truncateUTF16(body, room-3) + "..."
		} else {
			body = truncateUTF16(body, room-1) + "…"
		}
		truncated = true
	}
	return prefix + body, truncated
}

// hintFor returns hint in the GSM-7 alphabet when text is GSM-7, so that a
// tenant's GSM-7 prefix is not undone by the hint's "·" (one character
// outside GSM-7 makes the whole text UCS-2: 70-character segments).
func hintFor(text, hint string) string {
	if _, enc := Segments(text); enc != EncodingGSM7 {
		return hint
	}
	return strings.ReplaceAll(hint, " · ", ", ")
}

// WithHint joins a forward text and its reply hint.
func WithHint(text, hint string) string {
	if hint == "" {
		return text
	}
	return text + "\n" + hint
}

// ReplyHint is the line under a forward that tells an operator how to answer.
func ReplyHint(code int) string {
	if code == 0 {
		return "Reply OK to confirm · PASS to hand off"
	}
	return fmt.Sprintf("Reply %d OK to confirm · %d PASS to hand off", code, code)
}

// UsageText answers HELP and replies the relay cannot understand.
const UsageText = "Reply OK (or <code> OK) to confirm, <code> PASS to hand off, HELP for this text."
