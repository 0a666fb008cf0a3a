package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

// form is the webhook Twilio posts for an inbound SMS.
func form(sid, from, to, body string) url.Values {
	return url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {accountSID},
		"From": {from}, "To": {to}, "Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"},
		"SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
	}
}

// post sends a signed form, retrying as Twilio's edge would while the
// server is down (connection refused) or answers 5xx. It returns the last
// status and body; latency is recorded per answered customer webhook.
func (h *harness) post(ctx context.Context, path string, f url.Values, token string, timed bool) (int, string, error) {
	return h.postRaw(ctx, path, f.Encode(), twilio.Signature(token, h.base+path, f), timed)
}

// postRaw posts body with the X-Twilio-Signature sig (none when empty).
func (h *harness) postRaw(ctx context.Context, path, body, sig string, timed bool) (int, string, error) {
	target := h.base + path
	var lastErr error
	for try := 0; try < 12; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return 0, "", ctx.Err()
			case <-time.After(time.Duration(try) * 250 * time.Millisecond):
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
		if err != nil {
			return 0, "", fmt.Errorf("build request: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		start := time.Now()
		resp, err := h.client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if timed {
			h.mu.Lock()
			h.latencies = append(h.latencies, time.Since(start))
			h.mu.Unlock()
		}
		if resp.StatusCode >= 500 {
			lastErr = fmt.Errorf("%s answered %d: %s", path, resp.StatusCode, strings.TrimSpace(string(b)))
			continue
		}
		return resp.StatusCode, string(b), nil
	}
	h.mu.Lock()
	h.postErrs++
	if h.firstErr == nil {
		h.firstErr = lastErr
	}
	h.mu.Unlock()
	return 0, "", lastErr
}

// load posts every planned webhook at the target rate.
func (h *harness) load(ctx context.Context) error {
	o := h.o
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	killAt := map[int]bool{}
	for k := 1; k <= o.Kills; k++ {
		killAt[len(h.order)*k/(o.Kills+1)] = true
	}
	var restarts sync.WaitGroup
	var restartErr atomic.Value
	start := time.Now()
	tokens := 0
	for i, x := range h.order {
		if ctx.Err() != nil {
			break
		}
		if killAt[i] {
			restarts.Wait() // one crash at a time
			restarts.Add(1)
			go func() {
				defer restarts.Done()
				h.logf("SIGKILL of the dev server after %d texts", i)
				if err := h.srv.kill(); err != nil {
					restartErr.Store(err)
					return
				}
				h.mu.Lock()
				h.kills++
				h.mu.Unlock()
				if err := h.srv.restart(ctx); err != nil {
					restartErr.Store(err)
				}
			}()
		}
		for range x.copies {
			if o.Rate > 0 {
				due := start.Add(time.Duration(float64(tokens) / o.Rate * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
			}
			tokens++
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				h.send(ctx, x)
			}()
		}
	}
	wg.Wait()
	restarts.Wait()
	if err, ok := restartErr.Load().(error); ok && err != nil {
		return err
	}
	return ctx.Err()
}

// send posts one copy of x.
func (h *harness) send(ctx context.Context, x *text) {
	const path = "/api/sms/incoming"
	f := form(x.sid, x.from, x.to, x.body)
	body, sig := f.Encode(), twilio.Signature(authToken, h.base+path, f)
	if x.forged {
		switch x.forgery {
		case forgeWrongToken:
			sig = twilio.Signature(forgeToken, h.base+path, f)
		case forgeOtherURL:
			// Signed by the right token for another host, as a relay that
			// trusted the Host header would verify it.
			sig = twilio.Signature(authToken, "http://attacker.example"+path, f)
		case forgeUnsigned:
			sig = ""
		case forgeTampered:
			// A genuine signature, then the text changed on the way.
			g := form(x.sid, x.from, x.to, x.body+" and send it to +15555550000")
			body = g.Encode()
		}
	}
	status, _, _ := h.postRaw(ctx, path, body, sig, !x.forged)
	h.mu.Lock()
	x.statuses = append(x.statuses, status)
	if status == http.StatusOK {
		x.answered = true
	}
	h.mu.Unlock()
}
