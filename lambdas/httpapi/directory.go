package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// The Directory API: a tenant's settings, operators, customers and jobs as
// JSON with the data file's field names, scoped to the caller's tenant. An
// admin credential of the whole platform names the tenant with ?tenant=ID.
// PUT creates (201) or replaces (200) and answers the stored document with
// its ETag; If-Match with a stale tag is 412.

//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3.1 document of every route.
func OpenAPI() []byte { return openAPIDoc }

func (h *handler) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
}

// forbidden is a 403 answer.
func forbidden(format string, args ...any) error {
	return &statusError{status: http.StatusForbidden, msg: fmt.Sprintf(format, args...)}
}

// scope returns the tenant a directory request is for: the credential's
// own, or for a platform-wide credential ?tenant= (the only tenant when
// there is just one).
func (h *handler) scope(r *http.Request) (string, error) {
	p := principal(r)
	param := r.URL.Query().Get("tenant")
	if param == "" {
		param = r.URL.Query().Get("tenant_id")
	}
	if p.TenantID != "" {
		if param != "" && param != p.TenantID {
			return "", forbidden("the credential is scoped to tenant %s, not %s", p.TenantID, param)
		}
		return p.TenantID, nil
	}
	if param != "" {
		if !relay.ValidID(param) {
			return "", relay.Errorf(relay.Invalid, "tenant %q is not a tenant id", param)
		}
		return param, nil
	}
	if ts, err := h.cfg.Store.Tenants(r.Context()); err == nil && len(ts) == 1 {
		return ts[0].ID, nil
	}
	return "", relay.Errorf(relay.Invalid, "tenant is required: a platform-wide credential names the tenant with ?tenant=ID")
}

// directory runs fn with the caller's tenant, or answers the error.
func (h *handler) directory(w http.ResponseWriter, r *http.Request, fn func(tenantID string) error) {
	if h.cfg.Registry == nil {
		writeError(w, http.StatusNotImplemented, "the directory API is not configured")
		return
	}
	tenant, err := h.scope(r)
	if err == nil {
		err = fn(tenant)
	}
	if err != nil {
		h.fail(w, r, err)
	}
}

func precondition(r *http.Request) relay.Precondition {
	return relay.Precondition{IfMatch: r.Header.Get("If-Match"), IfNoneMatch: r.Header.Get("If-None-Match")}
}

// writeSaved answers a stored document with its ETag: 201 when created.
func writeSaved[D any](w http.ResponseWriter, s relay.Saved[D]) {
	w.Header().Set("ETag", s.ETag)
	status := http.StatusOK
	if s.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, s.Doc)
}

// listQuery reads and checks a list's parameters; allowed names the
// filters the list takes.
func listQuery(r *http.Request, allowed ...string) (relay.ListQuery, error) {
	v := r.URL.Query()
	q := relay.ListQuery{Cursor: v.Get("cursor"), Phone: v.Get("phone"), State: v.Get("state"),
		Operator: v.Get("operator"), Customer: v.Get("customer")}
	var bad []string
	known := map[string]bool{"limit": true, "cursor": true, "tenant": true, "tenant_id": true}
	for _, a := range allowed {
		known[a] = true
	}
	for name := range v {
		if !known[name] {
			bad = append(bad, fmt.Sprintf("%s is not a parameter of this list (use %s)", name, strings.Join(append([]string{"limit", "cursor"}, allowed...), ", ")))
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > relay.MaxListLimit {
			bad = append(bad, fmt.Sprintf("limit must be an integer from 1 to %d", relay.MaxListLimit))
		}
		q.Limit = n
	}
	if rest, ok := strings.CutPrefix(q.Phone, " "); ok && relay.ValidPhone("+"+rest) {
		q.Phone = "+" + rest // an unencoded "+" in a query string arrives as a space
	}
	if q.Phone != "" && !relay.ValidPhone(q.Phone) {
		bad = append(bad, fmt.Sprintf("phone %q is not an E.164 number like +16195551234", q.Phone))
	}
	for _, f := range []struct{ name, v string }{{"operator", q.Operator}, {"customer", q.Customer}} {
		if f.v != "" && !relay.ValidID(f.v) {
			bad = append(bad, fmt.Sprintf("%s %q must be 1-64 letters, digits, '_', '-' or '.'", f.name, f.v))
		}
	}
	if q.State != "" && !relay.ValidState(q.State) {
		bad = append(bad, fmt.Sprintf("state %q must be 1-64 letters, digits, spaces, '_', '-' or '.'", q.State))
	}
	if q.Cursor != "" {
		if _, err := q.After(); err != nil {
			bad = append(bad, relay.MessageOf(err))
		}
	}
	if len(bad) > 0 {
		return q, relay.Errorf(relay.Invalid, "%s", strings.Join(bad, "; "))
	}
	return q, nil
}

func (h *handler) getTenant(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		s, err := h.cfg.Registry.GetTenant(r.Context(), tenant)
		if err == nil {
			writeSaved(w, s)
		}
		return err
	})
}

func (h *handler) putTenant(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		var d relay.TenantDoc
		if err := decode(r, &d); err != nil {
			return err
		}
		s, err := h.cfg.Registry.PutTenant(r.Context(), tenant, d, precondition(r), principal(r).actor())
		if err == nil {
			writeSaved(w, s)
		}
		return err
	})
}

func (h *handler) listOperators(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		q, err := listQuery(r, "phone")
		if err != nil {
			return err
		}
		docs, next, err := h.cfg.Registry.ListOperators(r.Context(), tenant, q)
		if err == nil {
			writeJSON(w, http.StatusOK, struct {
				Items []relay.OperatorDoc `json:"operators"`
				Next  string              `json:"next"`
			}{docs, next})
		}
		return err
	})
}

func (h *handler) getOperator(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		s, err := h.cfg.Registry.GetOperator(r.Context(), tenant, r.PathValue("id"))
		if err == nil {
			writeSaved(w, s)
		}
		return err
	})
}

func (h *handler) putOperator(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		var d relay.OperatorDoc
		if err := decode(r, &d); err != nil {
			return err
		}
		s, err := h.cfg.Registry.PutOperator(r.Context(), tenant, r.PathValue("id"), d, precondition(r), principal(r).actor())
		if err == nil {
			writeSaved(w, s)
		}
		return err
	})
}

func (h *handler) deleteOperator(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		err := h.cfg.Registry.DeleteOperator(r.Context(), tenant, r.PathValue("id"), precondition(r), principal(r).actor())
		if err == nil {
			w.WriteHeader(http.StatusNoContent)
		}
		return err
	})
}

func (h *handler) listCustomers(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		q, err := listQuery(r, "phone")
		if err != nil {
			return err
		}
		docs, next, err := h.cfg.Registry.ListCustomers(r.Context(), tenant, q)
		if err == nil {
			writeJSON(w, http.StatusOK, struct {
				Items []relay.CustomerDoc `json:"customers"`
				Next  string              `json:"next"`
			}{docs, next})
		}
		return err
	})
}

func (h *handler) getCustomer(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		s, err := h.cfg.Registry.GetCustomer(r.Context(), tenant, r.PathValue("id"))
		if err == nil {
			writeSaved(w, s)
		}
		return err
	})
}

func (h *handler) putCustomer(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		var d relay.CustomerDoc
		if err := decode(r, &d); err != nil {
			return err
		}
		s, err := h.cfg.Registry.PutCustomer(r.Context(), tenant, r.PathValue("id"), d, precondition(r), principal(r).actor())
		if err == nil {
			writeSaved(w, s)
		}
		return err
	})
}

func (h *handler) deleteCustomer(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		err := h.cfg.Registry.DeleteCustomer(r.Context(), tenant, r.PathValue("id"), precondition(r), principal(r).actor())
		if err == nil {
			w.WriteHeader(http.StatusNoContent)
		}
		return err
	})
}

func (h *handler) listJobs(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		q, err := listQuery(r, "state", "operator", "customer")
		if err != nil {
			return err
		}
		docs, next, err := h.cfg.Registry.ListJobs(r.Context(), tenant, q)
		if err == nil {
			writeJSON(w, http.StatusOK, struct {
				Items []relay.JobDoc `json:"jobs"`
				Next  string         `json:"next"`
			}{docs, next})
		}
		return err
	})
}

func (h *handler) getJob(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		s, err := h.cfg.Registry.GetJob(r.Context(), tenant, r.PathValue("id"))
		if err == nil {
			writeSaved(w, s)
		}
		return err
	})
}

func (h *handler) putJob(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		var d relay.JobDoc
		if err := decode(r, &d); err != nil {
			return err
		}
		s, err := h.cfg.Registry.PutJob(r.Context(), tenant, r.PathValue("id"), d, precondition(r), principal(r).actor())
		if err == nil {
			writeSaved(w, s)
		}
		return err
	})
}

// jobPatch reads PATCH /api/jobs/{id}: state, operator (null or "" to
// unassign) and customer; the id, if given, must be the path's.
func jobPatch(r *http.Request, id string) (relay.JobPatch, error) {
	var raw map[string]json.RawMessage
	if err := decode(r, &raw); err != nil {
		return relay.JobPatch{}, err
	}
	var p relay.JobPatch
	var fe relay.FieldErrors
	str := func(name string, v json.RawMessage, nullable bool) *string {
		s := ""
		if string(v) == "null" && nullable {
			return &s
		}
		if err := json.Unmarshal(v, &s); err != nil {
			fe = append(fe, relay.FieldError{Field: name, Message: "must be a string"})
			return nil
		}
		return &s
	}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		v := raw[name]
		switch name {
		case "state":
			p.State = str(name, v, false)
		case "operator":
			p.Operator = str(name, v, true)
		case "customer":
			p.Customer = str(name, v, false)
		case "id":
			if s := str(name, v, false); s != nil && *s != id {
				fe = append(fe, relay.FieldError{Field: "id", Message: fmt.Sprintf("%q does not match the id in the path, %q", *s, id)})
			}
		default:
			fe = append(fe, relay.FieldError{Field: name, Message: "is not a field of a job (id, customer, state, operator)"})
		}
	}
	if len(fe) > 0 {
		return p, &relay.Error{Kind: relay.Invalid, Msg: "invalid job: " + fe.Error(), Err: fe}
	}
	return p, nil
}

func (h *handler) patchJob(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		p, err := jobPatch(r, r.PathValue("id"))
		if err != nil {
			return err
		}
		s, err := h.cfg.Registry.PatchJob(r.Context(), tenant, r.PathValue("id"), p, precondition(r), principal(r).actor())
		if err == nil {
			writeSaved(w, s)
		}
		return err
	})
}

func (h *handler) deleteJob(w http.ResponseWriter, r *http.Request) {
	h.directory(w, r, func(tenant string) error {
		err := h.cfg.Registry.DeleteJob(r.Context(), tenant, r.PathValue("id"), precondition(r), principal(r).actor())
		if err == nil {
			w.WriteHeader(http.StatusNoContent)
		}
		return err
	})
}
