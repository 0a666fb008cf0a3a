// Package media implements relay.Media for the dev server: photos and files
// of texts are fetched from Twilio (basic auth sent to Twilio's host only,
// redirects followed without the credentials, a size cap) and stored under
// a directory, and served back by Handler at /media/<key> with an HMAC
// signature and an expiry in the query, so only URLs the relay made work,
// and only for a while.
package media

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Fetcher downloads Twilio media.
type Fetcher struct {
	// AccountSID and AuthToken authenticate to Twilio's host (APIBase).
	AccountSID, AuthToken string
	// APIBase is Twilio's API base URL; credentials go to its host only.
	APIBase string
	// Client makes the requests; nil means a client with a 20 s timeout.
	Client *http.Client
	// Credentials, when set, returns the current account sid and token
	// (rotated secrets); it overrides AccountSID and AuthToken.
	Credentials func() (accountSID, authToken string)
}

func (f Fetcher) creds() (string, string) {
	if f.Credentials != nil {
		return f.Credentials()
	}
	return f.AccountSID, f.AuthToken
}

func (f Fetcher) client() *http.Client {
	c := &http.Client{Timeout: 20 * time.Second}
	if f.Client != nil {
		cc := *f.Client
		c = &cc
	}
	// Twilio answers a media URL with a redirect to its storage: the
	// credentials never follow it.
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		req.Header.Del("Authorization")
		return nil
	}
	return c
}

// authFor reports whether a request to u carries the credentials: only to
// Twilio's API host, or to a resource of this account's own path
// (/2010-04-01/Accounts/<sid>/...) as a signed webhook named it; never
// across a redirect.
func (f Fetcher) authFor(u *url.URL) bool {
	sid, _ := f.creds()
	if sid == "" {
		return false
	}
	if strings.HasPrefix(u.EscapedPath(), "/2010-04-01/Accounts/"+sid+"/") {
		return true
	}
	base, err := url.Parse(f.APIBase)
	if err != nil || f.APIBase == "" {
		return strings.EqualFold(u.Hostname(), "api.twilio.com")
	}
	return strings.EqualFold(u.Host, base.Host)
}

// request builds a request to Twilio's media URL src.
func (f Fetcher) request(ctx context.Context, method, src string) (*http.Request, error) {
	u, err := url.Parse(src)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, relay.Errorf(relay.Invalid, "media URL is not an http(s) URL")
	}
	req, err := http.NewRequestWithContext(ctx, method, src, nil)
	if err != nil {
		return nil, relay.Wrap(relay.Invalid, err, "bad media URL")
	}
	if f.authFor(u) {
		req.SetBasicAuth(f.creds())
	}
	return req, nil
}

// Fetch downloads src into w, at most maxBytes, and returns its content type and size.
func (f Fetcher) Fetch(ctx context.Context, src string, maxBytes int64, w io.Writer) (string, int64, error) {
	req, err := f.request(ctx, http.MethodGet, src)
	if err != nil {
		return "", 0, err
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return "", 0, relay.Wrap(relay.Transient, err, "fetch media")
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", 0, relay.Errorf(relay.Permanent, "fetch media: status %d", resp.StatusCode)
	}
	if resp.ContentLength > maxBytes {
		return "", 0, relay.Errorf(relay.Permanent, "media is %d bytes, over %d", resp.ContentLength, maxBytes)
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return "", 0, relay.Wrap(relay.Transient, err, "read media")
	}
	if n > maxBytes {
		return "", 0, relay.Errorf(relay.Permanent, "media is over %d bytes", maxBytes)
	}
	ct := resp.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	if ct == "application/octet-stream" || ct == "binary/octet-stream" {
		ct = "" // storage that does not know: the webhook's MediaContentType stands
	}
	return ct, n, nil
}

// Delete deletes Twilio's copy of src.
func (f Fetcher) Delete(ctx context.Context, src string) error {
	req, err := f.request(ctx, http.MethodDelete, src)
	if err != nil {
		return err
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return relay.Wrap(relay.Transient, err, "delete media")
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
		return relay.Errorf(relay.Permanent, "delete media: status %d", resp.StatusCode)
	}
	return nil
}

// Local stores media under Dir and signs URLs under BaseURL + "/media/".
type Local struct {
	Fetcher
	Dir     string
	BaseURL string
	// Secret signs URLs.
	Secret []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

var _ relay.Media = (*Local)(nil)

// keyRe is what the relay's keys look like: tenant/relay/sid-n.
var keyRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}/[A-Za-z0-9]{2,64}/[A-Za-z0-9]{2,64}-[0-9]{1,3}$`)

func (l *Local) path(key string) (string, error) {
	if !keyRe.MatchString(key) || strings.Contains(key, "..") {
		return "", relay.Errorf(relay.Invalid, "bad media key")
	}
	return filepath.Join(l.Dir, filepath.FromSlash(key)), nil
}

type meta struct {
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// Store fetches src and stores it under key with its content type.
func (l *Local) Store(ctx context.Context, key, src string, maxBytes int64) (string, int64, error) {
	p, err := l.path(key)
	if err != nil {
		return "", 0, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", 0, fmt.Errorf("media dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".fetch-*")
	if err != nil {
		return "", 0, fmt.Errorf("media file: %w", err)
	}
	defer os.Remove(tmp.Name())
	ct, n, err := l.Fetch(ctx, src, maxBytes, tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	b, _ := json.Marshal(meta{ContentType: ct, Size: n})
	if err := os.WriteFile(p+".json", b, 0o600); err != nil {
		return "", 0, fmt.Errorf("media meta: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", 0, fmt.Errorf("media file: %w", err)
	}
	return ct, n, nil
}

// DeleteSource deletes Twilio's copy.
func (l *Local) DeleteSource(ctx context.Context, src string) error { return l.Delete(ctx, src) }

func (l *Local) sign(key string, exp int64) string {
	m := hmac.New(sha256.New, l.Secret)
	fmt.Fprintf(m, "%s\n%d", key, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// URL returns the signed URL of key, valid until expires.
func (l *Local) URL(_ context.Context, key string, expires time.Time) (string, error) {
	if _, err := l.path(key); err != nil {
		return "", err
	}
	exp := expires.Unix()
	return fmt.Sprintf("%s/media/%s?exp=%d&sig=%s", strings.TrimRight(l.BaseURL, "/"), key, exp, l.sign(key, exp)), nil
}

// ServeHTTP serves GET /media/<key>?exp=&sig= while the signature holds.
func (l *Local) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/media/")
	exp, err := strconv.ParseInt(r.URL.Query().Get("exp"), 10, 64)
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	p, perr := l.path(key)
	switch {
	case perr != nil || err != nil:
		http.Error(w, "not found", http.StatusNotFound)
		return
	case !hmac.Equal([]byte(l.sign(key, exp)), []byte(r.URL.Query().Get("sig"))):
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	case now().Unix() > exp:
		http.Error(w, "link expired", http.StatusGone)
		return
	}
	var m meta
	if b, err := os.ReadFile(p + ".json"); err == nil {
		_ = json.Unmarshal(b, &m)
	}
	f, err := os.Open(p)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	if m.ContentType != "" {
		w.Header().Set("Content-Type", m.ContentType)
	}
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", time.Time{}, f)
}
