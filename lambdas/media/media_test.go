package media_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/media"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

func newLocal(t *testing.T, fake *faketwilio.Server, now time.Time) *media.Local {
	return &media.Local{Dir: t.TempDir(), BaseURL: "http://relay.test", Secret: []byte("s3cret"),
		Now:     func() time.Time { return now },
		Fetcher: media.Fetcher{AccountSID: fake.AccountSID(), AuthToken: fake.AuthToken(), APIBase: fake.URL()}}
}

func TestStoreFetchesBehindAuthAndRedirect(t *testing.T) {
	fake := faketwilio.Start(t)
	now := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	l := newLocal(t, fake, now)
	ctx := context.Background()
	src := fake.AddMedia("image/jpeg", []byte("JPEGDATA"))
	ct, n, err := l.Store(ctx, "qdn/SMrelay1/SMin1-0", src, relay.MaxMediaBytes)
	if err != nil || ct != "image/jpeg" || n != 8 {
		t.Fatalf("Store = %q, %d, %v", ct, n, err)
	}
	if fake.MediaLeaks() != 0 {
		t.Errorf("credentials followed the redirect %d times", fake.MediaLeaks())
	}
	if err := l.DeleteSource(ctx, src); err != nil || !fake.MediaDeleted(src) {
		t.Errorf("DeleteSource: %v, deleted %v", err, fake.MediaDeleted(src))
	}

	u, err := l.URL(ctx, "qdn/SMrelay1/SMin1-0", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		url    string
		now    time.Time
		status int
		body   string
	}{
		{"signed", u, now, http.StatusOK, "JPEGDATA"},
		{"expired", u, now.Add(2 * time.Hour), http.StatusGone, ""},
		{"tampered signature", u[:len(u)-2] + "00", now, http.StatusForbidden, ""},
		{"other key", strings.Replace(u, "SMin1-0", "SMin1-1", 1), now, http.StatusForbidden, ""},
		{"path traversal", "http://relay.test/media/../relay.db?exp=1&sig=x", now, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l.Now = func() time.Time { return tt.now }
			rec := httptest.NewRecorder()
			l.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.url, nil))
			b, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.status || (tt.body != "" && string(b) != tt.body) {
				t.Errorf("GET %s: %d %q, want %d %q", tt.url, rec.Code, b, tt.status, tt.body)
			}
			if tt.status == http.StatusOK && rec.Header().Get("Content-Type") != "image/jpeg" {
				t.Errorf("content type %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestStoreRefuses(t *testing.T) {
	fake := faketwilio.Start(t)
	l := newLocal(t, fake, time.Now())
	ctx := context.Background()
	big := fake.AddMedia("image/jpeg", make([]byte, 2048))
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("credentials sent to a host that is not Twilio's")
		}
		_, _ = w.Write([]byte("x"))
	}))
	defer other.Close()
	tests := []struct {
		name, key, src string
		max            int64
		kind           relay.Kind
	}{
		{"over the cap", "qdn/SMr/SMi-0", big, 1024, relay.Permanent},
		{"bad key", "../etc/SMi-0", big, 1 << 20, relay.Invalid},
		{"not http", "qdn/SMr/SMi-1", "file:///etc/passwd", 1 << 20, relay.Invalid},
		{"unknown item", "qdn/SMr/SMi-2", fake.URL() + "/2010-04-01/Accounts/" + fake.AccountSID() + "/Messages/MM1/Media/ME1", 1 << 20, relay.Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := l.Store(ctx, tt.key, tt.src, tt.max); !relay.IsKind(err, tt.kind) {
				t.Errorf("Store: %v, want %s", err, tt.kind)
			}
		})
	}
	if _, _, err := l.Store(ctx, "qdn/SMr/SMi-3", other.URL+"/x", 1<<20); err != nil {
		t.Errorf("Store from another host: %v", err)
	}
}
