package loadtest

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

// codeRe finds the reply code in a forward's hint; confirmRe recognises the
// relay's answer to an acknowledgement it took.
var (
	codeRe    = regexp.MustCompile(`Reply (\d+) OK`)
	confirmRe = regexp.MustCompile(`Confirmed:`)
)

// forward is a message the fake accepted, tied to its relay and attempt by
// the StatusCallback URL the relay gave it.
type forward struct {
	faketwilio.Message
	relay   string
	attempt int
}

func parseForward(m faketwilio.Message) forward {
	f := forward{Message: m}
	if u, err := url.Parse(m.StatusCallback); err == nil {
		q := u.Query()
		f.relay = q.Get("relay")
		f.attempt, _ = strconv.Atoi(q.Get("attempt"))
	}
	return f
}

// watch follows the fake's messages and plays the operators: an "OK" to
// the first forward of an ack text, an undelivered report for the first
// forward of an undeliverable one.
func (h *harness) watch(ctx context.Context) {
	seen := 0
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		msgs := h.fake.Messages()
		for _, m := range msgs[seen:] {
			f := parseForward(m)
			h.mu.Lock()
			x := h.texts[f.relay]
			if x == nil || m.To == h.dir.Tenants[x.tenant].Fallback {
				h.mu.Unlock()
				continue
			}
			doAck := x.ack && !x.ackPosted
			doUndeliv := x.undeliv && !x.undelivDone && f.attempt == 1
			x.ackPosted = x.ackPosted || doAck
			x.undelivDone = x.undelivDone || doUndeliv
			h.mu.Unlock()
			if doAck {
				h.helpers.Add(1)
				go func() { defer h.helpers.Done(); h.ack(ctx, x, f) }()
			}
			if doUndeliv {
				h.helpers.Add(1)
				go func() { defer h.helpers.Done(); h.undeliver(ctx, m) }()
			}
		}
		seen = len(msgs)
	}
}

// ack answers a forward as its operator would, within half the window (or,
// for a late ack, within 150 ms of its end), with the reply code the
// forward shows.
func (h *harness) ack(ctx context.Context, x *text, f forward) {
	m := f.Message
	delay := time.Duration((0.1 + 0.4*h.float()) * float64(h.o.Window))
	if x.lateAck {
		delay = h.o.Window + time.Duration((h.float()-0.5)*float64(300*time.Millisecond)) - time.Since(m.AcceptedAt)
	}
	select {
	case <-ctx.Done():
	case <-time.After(delay):
	}
	body := "OK"
	if c := codeRe.FindStringSubmatch(m.Body); c != nil {
		body = c[1] + " OK"
	}
	// The operator texts the number the forward came from.
	status, answer, _ := h.post(context.WithoutCancel(ctx), "/api/sms/incoming", form(newSid(), m.To, m.From, body), authToken, false)
	h.mu.Lock()
	defer h.mu.Unlock()
	x.ackBy, x.ackAttempt = h.dir.Tenants[x.tenant].Operators[m.To], f.attempt
	x.ackConfirmed = status == http.StatusOK && confirmRe.MatchString(answer)
	x.ackSilent = !x.ackConfirmed && status == http.StatusOK && !strings.Contains(answer, "<Message>")
}

// undeliver reports the forward undelivered (30006: landline or unreachable).
func (h *harness) undeliver(ctx context.Context, m faketwilio.Message) {
	for try := range 12 {
		if err := h.fake.SetStatus(m.Sid, "undelivered", 30006); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(try+1) * 250 * time.Millisecond):
		}
	}
}
