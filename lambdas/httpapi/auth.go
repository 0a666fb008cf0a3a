package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
)

// Role is what a caller may do. Each role includes the ones before it.
type Role string

// The roles, weakest first.
const (
	// RoleViewer reads: relays, audit, the directory.
	RoleViewer Role = "viewer"
	// RoleDispatcher also acts on relays (ack, forward, notes) and keeps jobs.
	RoleDispatcher Role = "dispatcher"
	// RoleAdmin may do everything: tenant settings, operators, customers.
	RoleAdmin Role = "admin"
)

// Roles lists the roles, weakest first.
var Roles = []Role{RoleViewer, RoleDispatcher, RoleAdmin}

func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// AtLeast reports whether r includes need; an unknown role includes nothing.
func (r Role) AtLeast(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// ParseRole returns the role named s, or false.
func ParseRole(s string) (Role, bool) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	return r, r.rank() > 0
}

// Tokens authenticates the dev server's bearer tokens: the admin token sees
// every tenant with the admin role; a tenant token (TenantToken) is an admin
// of one tenant; a role token (RoleToken) has one role in one tenant. The
// tenant and role tokens are derived from the admin token, so nothing but
// the admin token needs storing.
type Tokens struct {
	Admin string
}

// RoleToken derives the token of one role in one tenant from the admin
// token: "rt_<role>_<tenant>_<first 24 hex digits of HMAC-SHA256(admin, role/tenant)>".
func RoleToken(admin, tenantID string, role Role) string {
	m := hmac.New(sha256.New, []byte(admin))
	m.Write([]byte("role\x00" + string(role) + "\x00" + tenantID))
	return "rt_" + string(role) + "_" + tenantID + "_" + hex.EncodeToString(m.Sum(nil))[:24]
}

// TenantToken derives a tenant-scoped token from the admin token:
// "tt_<tenant>_<first 24 hex digits of HMAC-SHA256(admin, tenant)>".
func TenantToken(admin, tenantID string) string {
	m := hmac.New(sha256.New, []byte(admin))
	m.Write([]byte(tenantID))
	return "tt_" + tenantID + "_" + hex.EncodeToString(m.Sum(nil))[:24]
}

// Authenticate checks an Authorization: Bearer header.
func (t Tokens) Authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return Principal{}, errors.New("an Authorization: Bearer token is required")
	}
	if t.Admin == "" {
		return Principal{}, errors.New("no token is configured")
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(t.Admin)) == 1 {
		return Principal{Subject: "admin", Role: RoleAdmin}, nil
	}
	if rest, ok := strings.CutPrefix(tok, "rt_"); ok {
		role, rest, _ := strings.Cut(rest, "_")
		if i := strings.LastIndexByte(rest, '_'); i > 0 {
			tenant := rest[:i]
			if r, ok := ParseRole(role); ok && subtle.ConstantTimeCompare([]byte(tok), []byte(RoleToken(t.Admin, tenant, r))) == 1 {
				return Principal{TenantID: tenant, Subject: string(r) + "@" + tenant, Role: r}, nil
			}
		}
	}
	if rest, ok := strings.CutPrefix(tok, "tt_"); ok {
		if i := strings.LastIndexByte(rest, '_'); i > 0 {
			tenant := rest[:i]
			if subtle.ConstantTimeCompare([]byte(tok), []byte(TenantToken(t.Admin, tenant))) == 1 {
				return Principal{TenantID: tenant, Subject: "tenant:" + tenant, Role: RoleAdmin}, nil
			}
		}
	}
	return Principal{}, errors.New("the token is not valid")
}
