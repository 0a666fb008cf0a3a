package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

type principalKey struct{}

// authed requires a valid credential with at least the role need and puts
// the Principal in the context; a weaker role is answered 403.
func (h *handler) authed(need Role, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.Auth == nil {
			writeError(w, http.StatusUnauthorized, "authentication is not configured")
			return
		}
		p, err := h.cfg.Auth.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dispatch-relay"`)
			writeError(w, http.StatusUnauthorized, "missing or invalid credential: "+err.Error())
			return
		}
		if !p.Role.AtLeast(need) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("role %s may not %s %s; it needs the %s role",
				p.Role, r.Method, r.URL.Path, need))
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

func principal(r *http.Request) Principal {
	p, _ := r.Context().Value(principalKey{}).(Principal)
	return p
}

func (p Principal) actor() relay.Actor {
	return relay.Actor{Name: "api:" + p.Subject}
}

// decode reads a JSON body strictly: unknown fields and trailing data are errors.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return relay.Errorf(relay.Invalid, "content type must be application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return relay.Errorf(relay.Invalid, "request body is empty; a JSON object is required")
		}
		return relay.Errorf(relay.Invalid, "malformed JSON body: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return relay.Errorf(relay.Invalid, "malformed JSON body: trailing data")
	}
	return nil
}

// relayRef is the body of forward and ack: the inbound sid, or relay_id for it.
type relayRef struct {
	MessageSid string `json:"message_sid"`
	RelayID    string `json:"relay_id"`
	Operator   string `json:"operator"`
}

func (b relayRef) id() (string, error) {
	id := b.MessageSid
	if id == "" {
		id = b.RelayID
	}
	switch {
	case id == "":
		return "", relay.Errorf(relay.Invalid, "message_sid (or relay_id) is required")
	case b.MessageSid != "" && b.RelayID != "" && b.MessageSid != b.RelayID:
		return "", relay.Errorf(relay.Invalid, "message_sid and relay_id name different relays")
	case !relay.ValidSid(id):
		return "", relay.Errorf(relay.Invalid, "message_sid %q is not a Twilio message sid", id)
	}
	return id, nil
}

// relayView is a relay as the API shows it.
type relayView struct {
	relay.Relay
	MessageSid string `json:"message_sid"`
}

func view(r relay.Relay) relayView { return relayView{Relay: r, MessageSid: r.ID} }

var operatorIDRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func (h *handler) forward(w http.ResponseWriter, r *http.Request) {
	var b relayRef
	if err := decode(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := b.id()
	if err == nil && b.Operator != "" && !operatorIDRe.MatchString(b.Operator) {
		err = relay.Errorf(relay.Invalid, "operator must be an operator id")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := principal(r)
	rel, err := h.cfg.Service.Forward(r.Context(), p.TenantID, id, b.Operator, p.actor())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(rel))
}

func (h *handler) ack(w http.ResponseWriter, r *http.Request) {
	var b relayRef
	if err := decode(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := b.id()
	if err == nil && b.Operator != "" {
		err = relay.Errorf(relay.Invalid, "operator is not a field of an ack")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := principal(r)
	rel, err := h.cfg.Service.Ack(r.Context(), p.TenantID, id, p.actor())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(rel))
}

var reasonRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_:.-]{0,63}$`)

const maxNote = 2000

func (h *handler) postAudit(w http.ResponseWriter, r *http.Request) {
	var b struct {
		MessageSid    string `json:"message_sid"`
		RelayID       string `json:"relay_id"`
		RoutingReason string `json:"routing_reason"`
		Note          string `json:"note"`
	}
	if err := decode(r, &b); err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := relayRef{MessageSid: b.MessageSid, RelayID: b.RelayID}.id()
	var bad []string
	if err != nil {
		bad = append(bad, relay.MessageOf(err))
	}
	if !reasonRe.MatchString(b.RoutingReason) {
		bad = append(bad, "routing_reason is required: lowercase letters, digits and _ (at most 64)")
	}
	if utf8.RuneCountInString(b.Note) > maxNote || !utf8.ValidString(b.Note) {
		bad = append(bad, fmt.Sprintf("note must be valid text of at most %d characters", maxNote))
	}
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, strings.Join(bad, "; "))
		return
	}
	p := principal(r)
	ev, err := h.cfg.Service.AddNote(r.Context(), p.TenantID, id, b.RoutingReason, b.Note, p.actor())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, ev)
}

// auditQuery reads and validates GET /api/sms/audit's parameters.
func (h *handler) auditQuery(r *http.Request) (relay.AuditQuery, error) {
	v := r.URL.Query()
	q := relay.AuditQuery{CustomerID: v.Get("customer_id"), Operator: v.Get("operator"),
		MessageSid: v.Get("message_sid"), Event: v.Get("event"), Cursor: v.Get("cursor")}
	var bad []string
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				bad = append(bad, f.name+" must be an RFC 3339 time such as 2024-01-15T14:23:45Z")
			}
			*f.dst = t
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		bad = append(bad, "until must be after since")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			bad = append(bad, "limit must be an integer from 1 to 1000")
		}
		q.Limit = n
	}
	param := v.Get("tenant_id")
	if param == "" {
		param = v.Get("tenant") // the Directory API's name for it
	}
	tenant, err := h.tenantOf(r, param, q.MessageSid)
	if err != nil {
		bad = append(bad, relay.MessageOf(err))
	}
	q.TenantID = tenant
	if len(bad) > 0 {
		return q, relay.Errorf(relay.Invalid, "%s", strings.Join(bad, "; "))
	}
	return q, nil
}

// tenantOf resolves the tenant an audit read is for: the caller's own, or for
// a platform-wide caller the tenant_id parameter, the relay's tenant, or the
// only tenant there is.
func (h *handler) tenantOf(r *http.Request, param, sid string) (string, error) {
	p := principal(r)
	if p.TenantID != "" {
		if param != "" && param != p.TenantID {
			return "", relay.Errorf(relay.Invalid, "tenant_id is not the caller's tenant")
		}
		return p.TenantID, nil
	}
	if param != "" {
		return param, nil
	}
	if sid != "" {
		if rel, err := h.cfg.Store.Relay(r.Context(), sid); err == nil {
			return rel.TenantID, nil
		}
	}
	if ts, err := h.cfg.Store.Tenants(r.Context()); err == nil && len(ts) == 1 {
		return ts[0].ID, nil
	}
	return "", relay.Errorf(relay.Invalid, "tenant_id is required with a platform-wide token")
}

func (h *handler) getAudit(w http.ResponseWriter, r *http.Request) {
	q, err := h.auditQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.cfg.Audit.Query(r.Context(), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if page.Records == nil {
		page.Records = []relay.AuditEvent{}
	}
	writeJSON(w, http.StatusOK, page)
}

func (h *handler) export(w http.ResponseWriter, r *http.Request) {
	q, err := h.auditQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.cfg.Export == nil {
		writeError(w, http.StatusNotImplemented, "export is not configured")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="maintenance.json"`)
	if err := h.cfg.Export(r.Context(), w, q.TenantID, q.Since, q.Until); err != nil {
		h.log.ErrorContext(r.Context(), "export failed", "tenant", q.TenantID, "err", err)
	}
}
