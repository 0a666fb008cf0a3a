package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// DefaultTrackTTL is how long a customer tracking link works.
const DefaultTrackTTL = 7 * 24 * time.Hour

// TrackSigner makes and checks customer tracking links: /track?t=<token>,
// where the token names one job of one tenant and an expiry, signed with
// HMAC-SHA256. The link carries no phone number and no name; the page shows
// only what GET /api/track answers for a valid, unexpired token.
type TrackSigner struct {
	key []byte
	// BaseURL is the public URL the links start with (PUBLIC_BASE_URL).
	BaseURL string
	// TTL is how long a new link works; 0 means DefaultTrackTTL.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewTrackSigner returns a signer whose key is derived from secret (the dev
// server's persisted key, or on AWS the origin-verify secret), with a label
// so the derived key signs nothing else.
func NewTrackSigner(secret, baseURL string) *TrackSigner {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("dispatch-relay tracking link v1"))
	return &TrackSigner{key: m.Sum(nil), BaseURL: strings.TrimRight(baseURL, "/")}
}

// trackClaims is what a token says.
type trackClaims struct {
	Tenant   string `json:"t"`
	Job      string `json:"j"`
	Customer string `json:"c"`
	Expires  int64  `json:"e"` // Unix seconds
}

func (s *TrackSigner) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *TrackSigner) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Sign returns a token for the job and when it expires.
func (s *TrackSigner) Sign(j relay.Job) (string, time.Time) {
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultTrackTTL
	}
	exp := s.now().Add(ttl).Truncate(time.Second)
	b, _ := json.Marshal(trackClaims{Tenant: j.TenantID, Job: j.ID, Customer: j.CustomerID, Expires: exp.Unix()})
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(s.mac(payload)), exp
}

// URL returns the tracking page's address for a token.
func (s *TrackSigner) URL(token string) string {
	return s.BaseURL + "/track?t=" + url.QueryEscape(token)
}

// errLinkExpired is every refusal of a token: forged, malformed, expired or
// naming a job that is gone look the same to the visitor.
var errLinkExpired = errors.New("link expired")

// Verify checks a token's signature and expiry and returns its claims.
func (s *TrackSigner) Verify(token string) (trackClaims, error) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 512 {
		return trackClaims{}, errLinkExpired
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(payload)) {
		return trackClaims{}, errLinkExpired
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var c trackClaims
	if err != nil || json.Unmarshal(b, &c) != nil || c.Tenant == "" || c.Job == "" {
		return trackClaims{}, errLinkExpired
	}
	if !s.now().Before(time.Unix(c.Expires, 0)) {
		return trackClaims{}, errLinkExpired
	}
	return c, nil
}

// trackView is what the customer's page shows: no phone numbers, no
// operator names.
type trackView struct {
	Business   string    `json:"business"`
	Reference  string    `json:"reference"`
	State      string    `json:"state"`
	LastUpdate time.Time `json:"last_update,omitzero"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// findJob returns the job named by a tenant, customer and id.
func (h *handler) findJob(ctx context.Context, tenantID, customerID, jobID string) (relay.Job, error) {
	jobs, err := h.cfg.Store.JobsForCustomer(ctx, tenantID, customerID)
	if err != nil {
		return relay.Job{}, err
	}
	for _, j := range jobs {
		if j.ID == jobID {
			return j, nil
		}
	}
	return relay.Job{}, relay.Errorf(relay.NotFound, "job %s of customer %s not found", jobID, customerID)
}

// track answers GET /api/track?t=<token> for the public tracking page.
func (h *handler) track(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Track == nil {
		writeError(w, http.StatusNotImplemented, "tracking links are not configured")
		return
	}
	c, err := h.cfg.Track.Verify(r.URL.Query().Get("t"))
	if err != nil {
		writeError(w, http.StatusGone, errLinkExpired.Error())
		return
	}
	ctx := r.Context()
	t, terr := h.cfg.Store.Tenant(ctx, c.Tenant)
	j, jerr := h.findJob(ctx, c.Tenant, c.Customer, c.Job)
	if terr != nil || jerr != nil {
		if relay.KindOf(terr) == relay.NotFound || relay.KindOf(jerr) == relay.NotFound {
			writeError(w, http.StatusGone, errLinkExpired.Error())
			return
		}
		h.fail(w, r, errors.Join(terr, jerr))
		return
	}
	v := trackView{Business: t.Name, Reference: j.ID, State: j.State, ExpiresAt: time.Unix(c.Expires, 0).UTC()}
	if h.cfg.Relays != nil {
		// The last update the customer can see: the newest activity on their texts.
		if page, err := h.cfg.Relays.ListRelays(ctx, relay.RelayQuery{TenantID: t.ID, CustomerID: c.Customer, Limit: 1}); err == nil && len(page.Relays) == 1 {
			v.LastUpdate = page.Relays[0].UpdatedAt.UTC()
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// trackLink answers GET /api/track/link?job_id=&customer_id= for a
// dispatcher: the job's tracking URL.
func (h *handler) trackLink(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Track == nil {
		writeError(w, http.StatusNotImplemented, "tracking links are not configured")
		return
	}
	v := r.URL.Query()
	jobID, customerID := v.Get("job_id"), v.Get("customer_id")
	var bad []string
	if !operatorIDRe.MatchString(jobID) {
		bad = append(bad, "job_id is required: a job id")
	}
	if !operatorIDRe.MatchString(customerID) {
		bad = append(bad, "customer_id is required: the job's customer id")
	}
	tenant, err := h.tenantOf(r, firstNonEmpty(v.Get("tenant_id"), v.Get("tenant")), "")
	if err != nil {
		bad = append(bad, relay.MessageOf(err))
	}
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, strings.Join(bad, "; "))
		return
	}
	j, err := h.findJob(r.Context(), tenant, customerID, jobID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tok, exp := h.cfg.Track.Sign(j)
	writeJSON(w, http.StatusOK, map[string]any{"url": h.cfg.Track.URL(tok), "token": tok, "expires_at": exp.UTC(), "job_id": j.ID})
}

// withTrackLink appends the job's tracking link to an automatic reply when
// the tenant asks for it (Tenant.TrackLink) and the new relay has a job.
func (h *handler) withTrackLink(ctx context.Context, res relay.InboundResult) string {
	if res.Reply == "" || res.Outcome != relay.OutcomeRelayed || h.cfg.Track == nil {
		return res.Reply
	}
	t, err := h.cfg.Store.Tenant(ctx, res.TenantID)
	if err != nil || !t.TrackLink {
		return res.Reply
	}
	rel, err := h.cfg.Store.Relay(ctx, res.RelayID)
	if err != nil || rel.JobID == "" || rel.TenantID != t.ID {
		return res.Reply
	}
	j, err := h.findJob(ctx, t.ID, rel.CustomerID, rel.JobID)
	if err != nil {
		return res.Reply
	}
	tok, _ := h.cfg.Track.Sign(j)
	return res.Reply + " Track your job: " + h.cfg.Track.URL(tok)
}
