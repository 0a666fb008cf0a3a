package relay_test

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

func TestSegments(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		segments int
		encoding string
	}{
		{"empty", "", 0, relay.EncodingGSM7},
		{"short ascii", "need a pickup", 1, relay.EncodingGSM7},
		{"160 gsm", strings.Repeat("a", 160), 1, relay.EncodingGSM7},
		{"161 gsm", strings.Repeat("a", 161), 2, relay.EncodingGSM7},
		{"306 gsm", strings.Repeat("a", 306), 2, relay.EncodingGSM7},
		{"307 gsm", strings.Repeat("a", 307), 3, relay.EncodingGSM7},
		{"extension chars count twice", strings.Repeat("€", 80), 1, relay.EncodingGSM7},
		{"extension chars overflow", strings.Repeat("€", 81), 2, relay.EncodingGSM7},
		{"emoji is ucs2", "📦 hi", 1, relay.EncodingUCS2},
		{"70 ucs2", strings.Repeat("ж", 70), 1, relay.EncodingUCS2},
		{"71 ucs2", strings.Repeat("ж", 71), 2, relay.EncodingUCS2},
		{"surrogates count as two units", strings.Repeat("📦", 35), 1, relay.EncodingUCS2},
		{"surrogates overflow", strings.Repeat("📦", 36), 2, relay.EncodingUCS2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, enc := relay.Segments(tt.body)
			if n != tt.segments || enc != tt.encoding {
				t.Errorf("Segments(%q) = %d, %s; want %d, %s", tt.body, n, enc, tt.segments, tt.encoding)
			}
		})
	}
}

func TestForwardText(t *testing.T) {
	hint := relay.ReplyHint(3)
	tests := []struct {
		name, customer, body string
		want                 string
		truncated            bool
	}{
		{"seed format", "Acme Waste Inc.", "need a pickup", "📦 Acme Waste Inc.: need a pickup", false},
		{"trims name", "  Acme  ", "hi", "📦 Acme: hi", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, trunc := relay.ForwardText(tt.customer, tt.body, hint)
			if got != tt.want || trunc != tt.truncated {
				t.Errorf("ForwardText = %q, %v; want %q, %v", got, trunc, tt.want, tt.truncated)
			}
		})
	}
	t.Run("long message is truncated within Twilio's limit", func(t *testing.T) {
		body := strings.Repeat("x", 3000)
		text, trunc := relay.ForwardText("Acme", body, hint)
		full := relay.WithHint(text, hint)
		if !trunc {
			t.Errorf("truncated = false, want true")
		}
		if n := len(utf16.Encode([]rune(full))); n > relay.MaxBodyChars {
			t.Errorf("forward is %d UTF-16 units, want <= %d", n, relay.MaxBodyChars)
		}
		if !strings.HasPrefix(text, "📦 Acme: xxx") || !strings.HasSuffix(text, "…") {
			t.Errorf("truncated text = %.40q…%q, want the prefix kept and an ellipsis", text, text[len(text)-6:])
		}
	})
	t.Run("exactly at the limit is not truncated", func(t *testing.T) {
		prefix := "📦 A: "
		room := relay.MaxBodyChars - len(utf16.Encode([]rune(prefix))) - 1 - len(utf16.Encode([]rune(hint)))
		_, trunc := relay.ForwardText("A", strings.Repeat("y", room), hint)
		if trunc {
			t.Errorf("truncated = true at exactly %d units of room, want false", room)
		}
	})
	t.Run("long names are capped", func(t *testing.T) {
		text, _ := relay.ForwardText(strings.Repeat("N", 200), "hi", hint)
		if !strings.HasSuffix(text, "…: hi") || len(text) > 80 {
			t.Errorf("text = %q, want a capped name", text)
		}
	})
}

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+16195551234", "+1******1234"},
		{"6195551234", "6*****1234"},
		{"12345", "*****"},
	}
	for _, tt := range tests {
		if got := relay.MaskPhone(tt.in); got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		in   string
		want relay.Reply
	}{
		{"OK", relay.Reply{Action: relay.ReplyAck}},
		{" ack ", relay.Reply{Action: relay.ReplyAck}},
		{"ok!", relay.Reply{Action: relay.ReplyAck}},
		{"2 OK", relay.Reply{Action: relay.ReplyAck, Code: 2}},
		{"2ok", relay.Reply{Action: relay.ReplyAck, Code: 2}},
		{"12 ack", relay.Reply{Action: relay.ReplyAck, Code: 12}},
		{"PASS", relay.Reply{Action: relay.ReplyPass}},
		{"3 pass", relay.Reply{Action: relay.ReplyPass, Code: 3}},
		{"3pass", relay.Reply{Action: relay.ReplyPass, Code: 3}},
		{"help", relay.Reply{Action: relay.ReplyHelp}},
		{"on my way", relay.Reply{Action: relay.ReplyText, Text: "on my way"}},
		{"2 on my way", relay.Reply{Action: relay.ReplyText, Code: 2, Text: "on my way"}},
		{"2", relay.Reply{Action: relay.ReplyText, Text: "2"}},
		{"10 15 minutes", relay.Reply{Action: relay.ReplyText, Text: "10 15 minutes"}},
		{"1234567 ok", relay.Reply{Action: relay.ReplyText, Text: "1234567 ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := relay.ParseReply(tt.in); got != tt.want {
				t.Errorf("ParseReply(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestOptKeyword(t *testing.T) {
	tests := []struct {
		in      string
		out, ok bool
	}{
		{"STOP", true, true}, {"stop.", true, true}, {"Unsubscribe", true, true},
		{"start", false, true}, {"need a pickup", false, false}, {"stop by at 5", false, false},
	}
	for _, tt := range tests {
		out, ok := relay.OptKeyword(tt.in)
		if out != tt.out || ok != tt.ok {
			t.Errorf("OptKeyword(%q) = %v, %v; want %v, %v", tt.in, out, ok, tt.out, tt.ok)
		}
	}
}
