package httpapi

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// twiml writes a TwiML answer (https://www.twilio.com/docs/messaging/twiml):
// an empty <Response/> or one <Message> back to the sender.
func twiml(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	if message == "" {
		b.WriteString("<Response/>")
	} else {
		b.WriteString("<Response><Message>")
		_ = xml.EscapeText(&b, []byte(message))
		b.WriteString("</Message></Response>")
	}
	_, _ = w.Write([]byte(b.String()))
}

// parseSigned parses a Twilio form and checks its signature; it answers the
// request itself and returns false when the request must go no further.
func (h *handler) parseSigned(w http.ResponseWriter, r *http.Request) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeError(w, http.StatusUnsupportedMediaType, "Twilio webhooks are application/x-www-form-urlencoded")
		return false
	}
	if err := r.ParseForm(); err != nil {
		if statusOf(err) == http.StatusRequestEntityTooLarge {
			h.fail(w, r, err)
			return false
		}
		writeError(w, http.StatusBadRequest, "malformed form body")
		return false
	}
	if h.cfg.Signature == nil || r.Header.Get("X-Twilio-Signature") == "" || !h.cfg.Signature.Verify(r) {
		// Fail closed: nothing is read, written or sent for an unsigned request.
		h.log.WarnContext(r.Context(), "twilio signature rejected", "path", r.URL.Path,
			"signed", r.Header.Get("X-Twilio-Signature") != "")
		if h.cfg.Metrics != nil {
			h.cfg.Metrics.Count(r.Context(), SignatureRejectedMetric, "", 1)
		}
		writeError(w, http.StatusForbidden, "invalid or missing X-Twilio-Signature")
		return false
	}
	return true
}

func (h *handler) incoming(w http.ResponseWriter, r *http.Request) {
	if !h.parseSigned(w, r) {
		return
	}
	in := relay.Inbound{
		MessageSid: r.PostForm.Get("MessageSid"),
		From:       r.PostForm.Get("From"),
		To:         r.PostForm.Get("To"),
		Body:       r.PostForm.Get("Body"),
	}
	if in.MessageSid == "" {
		in.MessageSid = r.PostForm.Get("SmsSid")
	}
	in.Media = inboundMedia(r.PostForm)
	ctx, cancel := detached(r)
	defer cancel()
	res, err := h.cfg.Service.HandleInbound(ctx, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "inbound", "outcome", res.Outcome, "tenant", res.TenantID, "message_sid", in.MessageSid,
		"from", relay.MaskPhone(in.From))
	twiml(w, http.StatusOK, h.withTrackLink(ctx, res))
}

func (h *handler) delivery(w http.ResponseWriter, r *http.Request) {
	if !h.parseSigned(w, r) {
		return
	}
	q := r.URL.Query()
	u := relay.DeliveryUpdate{
		TenantID:   q.Get("tenant"),
		RelayID:    q.Get("relay"),
		MessageSid: r.PostForm.Get("MessageSid"),
		Status:     r.PostForm.Get("MessageStatus"),
	}
	if u.Status == "" {
		u.Status = r.PostForm.Get("SmsStatus")
	}
	var bad []string
	if u.RelayID == "" || u.TenantID == "" {
		bad = append(bad, "tenant and relay query parameters are required")
	}
	if n, err := strconv.Atoi(q.Get("attempt")); err == nil && n > 0 {
		u.Attempt = n
	} else if q.Get("attempt") != "" {
		bad = append(bad, "attempt must be a positive integer")
	}
	if u.Status == "" {
		bad = append(bad, "MessageStatus is missing")
	}
	if c := r.PostForm.Get("ErrorCode"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			bad = append(bad, "ErrorCode must be an integer")
		}
		u.ErrorCode = n
	}
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, strings.Join(bad, "; "))
		return
	}
	ctx, cancel := detached(r)
	defer cancel()
	if err := h.cfg.Service.HandleDelivery(ctx, u); err != nil {
		h.fail(w, r, err)
		return
	}
	twiml(w, http.StatusOK, "")
}

// webhookBudget bounds the work of one webhook once it has started.
const webhookBudget = 25 * time.Second

// detached returns a context that outlives the caller hanging up: once a
// message is claimed, its forward must finish even if Twilio (15 s timeout)
// or a client disconnects, or the relay would be left half-sent.
func detached(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), webhookBudget)
}

// CallbackURL returns the StatusCallback builder for forwards: the delivery
// route under the public base URL, naming the tenant, relay and attempt that
// the delivery handler reads back. Twilio signs the URL with its query.
func CallbackURL(base string) func(tenantID, relayID string, attempt int) string {
	base = strings.TrimRight(base, "/")
	return func(tenantID, relayID string, attempt int) string {
		q := url.Values{"tenant": {tenantID}, "relay": {relayID}, "attempt": {strconv.Itoa(attempt)}}
		return base + "/api/sms/delivery?" + q.Encode()
	}
}

// inboundMedia reads Twilio's NumMedia, MediaUrl{N} and MediaContentType{N}.
func inboundMedia(f url.Values) []relay.MediaItem {
	n, err := strconv.Atoi(f.Get("NumMedia"))
	if err != nil || n <= 0 {
		return nil
	}
	n = min(n, 100) // Twilio sends at most 10; a forged count cannot make us loop
	var out []relay.MediaItem
	for i := range n {
		u := f.Get(fmt.Sprintf("MediaUrl%d", i))
		if u == "" {
			continue
		}
		out = append(out, relay.MediaItem{Source: u, ContentType: f.Get(fmt.Sprintf("MediaContentType%d", i))})
	}
	return out
}
