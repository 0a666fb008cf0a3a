package relay_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// FuzzParseReply checks the operator reply grammar on any text: no panic;
// a code is 1..999999 and only with an action; an ack or pass with a code
// reads back the same when rendered as "<code> OK" / "<code> PASS"; free
// text keeps the operator's words; the opt-out parser never panics either.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"OK", "ok.", " 2 ok ", "12PASS", "2 PASS!", "HELP", "?", "10 minutes away",
		"0 OK", "1234567 OK", "2 hello", "K", "STOP", "start", "", "\xff\xfe", "3 ok ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rp := relay.ParseReply(body)
		if rp.Code < 0 || rp.Code > 999999 {
			t.Fatalf("ParseReply(%q): code %d out of range", body, rp.Code)
		}
		switch rp.Action {
		case relay.ReplyAck, relay.ReplyPass:
			if rp.Code != 0 {
				word := map[relay.ReplyAction]string{relay.ReplyAck: "OK", relay.ReplyPass: "PASS"}[rp.Action]
				again := relay.ParseReply(fmt.Sprintf("%d %s", rp.Code, word))
				if again.Action != rp.Action || again.Code != rp.Code {
					t.Fatalf("ParseReply(%q) = %+v, but its rendering reads %+v", body, rp, again)
				}
			}
		case relay.ReplyHelp:
			if rp.Code != 0 {
				t.Fatalf("ParseReply(%q): HELP with code %d", body, rp.Code)
			}
		case relay.ReplyText:
			if rp.Text == "" && strings.TrimSpace(body) != "" {
				t.Fatalf("ParseReply(%q): free text lost the operator's words", body)
			}
			if utf8.ValidString(body) && !utf8.ValidString(rp.Text) {
				t.Fatalf("ParseReply(%q): text %q is not valid UTF-8", body, rp.Text)
			}
		default:
			t.Fatalf("ParseReply(%q): unknown action %d", body, rp.Action)
		}
		_, _ = relay.OptKeyword(body)
	})
}
