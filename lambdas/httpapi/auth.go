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

// Tokens authenticates the dev server's bearer tokens: the admin token sees
// every tenant; a tenant token, derived from the admin token with
// TenantToken, sees one.
type Tokens struct {
	Admin string
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
		return Principal{Subject: "admin"}, nil
	}
	if rest, ok := strings.CutPrefix(tok, "tt_"); ok {
		if i := strings.LastIndexByte(rest, '_'); i > 0 {
			tenant := rest[:i]
			if subtle.ConstantTimeCompare([]byte(tok), []byte(TenantToken(t.Admin, tenant))) == 1 {
				return Principal{TenantID: tenant, Subject: "tenant:" + tenant}, nil
			}
		}
	}
	return Principal{}, errors.New("the token is not valid")
}
