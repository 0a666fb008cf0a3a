package relay_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// fakeMedia is a relay.Media in memory: sources are "twilio://<type>/<size>".
type fakeMedia struct {
	mu      sync.Mutex
	stored  map[string]string
	deleted []string
}

func (f *fakeMedia) Store(_ context.Context, key, src string, maxBytes int64) (string, int64, error) {
	parts := strings.Split(strings.TrimPrefix(src, "twilio://"), "/")
	if len(parts) != 3 {
		return "", 0, relay.Errorf(relay.Permanent, "bad source %s", src)
	}
	ct := parts[0] + "/" + parts[1]
	var size int64
	if _, err := fmt.Sscanf(parts[2], "%d", &size); err != nil {
		return "", 0, relay.Errorf(relay.Permanent, "bad size in %s", src)
	}
	if size > maxBytes {
		return "", 0, relay.Errorf(relay.Permanent, "media is over %d bytes", maxBytes)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stored[key] = ct
	return ct, size, nil
}

func (f *fakeMedia) URL(_ context.Context, key string, expires time.Time) (string, error) {
	return fmt.Sprintf("https://relay.example/media/%s?exp=%d", key, expires.Unix()), nil
}

func (f *fakeMedia) DeleteSource(_ context.Context, src string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, src)
	return nil
}

func src(ct string, size int) relay.MediaItem {
	return relay.MediaItem{Source: fmt.Sprintf("twilio://%s/%d", ct, size), ContentType: ct}
}

func (h *harness) mms(sid, from, body string, items ...relay.MediaItem) relay.InboundResult {
	h.t.Helper()
	res, err := h.svc.HandleInbound(context.Background(), relay.Inbound{MessageSid: sid, From: from, To: qdnNumber, Body: body, Media: items})
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func TestMediaTravelsBothWays(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(h *harness)
		items      []relay.MediaItem
		wantURLs   int
		wantLinks  int
		wantErrors []string // item errors or link reasons in the audit
		wantDelete int
	}{
		{name: "two photos as MMS", items: []relay.MediaItem{src("image/jpeg", 1000), src("image/png", 2000)},
			wantURLs: 2, wantDelete: 2},
		{name: "a PDF goes as a link", items: []relay.MediaItem{src("application/pdf", 1000)},
			wantLinks: 1, wantErrors: []string{relay.MediaUnsupported}, wantDelete: 1},
		{name: "over 5 MB in total: the rest as links", items: []relay.MediaItem{src("image/jpeg", 3<<20), src("image/jpeg", 3<<20)},
			wantURLs: 1, wantLinks: 1, wantErrors: []string{relay.MediaTooBig}, wantDelete: 2},
		{name: "one item over the cap is not stored", items: []relay.MediaItem{src("image/jpeg", 6<<20)},
			wantErrors: []string{relay.MediaNotStored}},
		{name: "more than ten items", items: func() []relay.MediaItem {
			var out []relay.MediaItem
			for range 11 {
				out = append(out, src("image/gif", 10))
			}
			return out
		}(), wantURLs: 10, wantErrors: []string{relay.MediaTooMany}, wantDelete: 10},
		{name: "recipient outside North America gets links", setup: func(h *harness) {
			must(h.t, h.store.PutOperator(context.Background(), relay.Operator{TenantID: "qdn", ID: "sergio_main", Name: "Sergio",
				Phone: "+442071838750", Active: true}))
		}, items: []relay.MediaItem{src("image/jpeg", 1000)}, wantLinks: 1, wantErrors: []string{relay.MediaNoMMS}, wantDelete: 1},
		{name: "delete_twilio_media false keeps Twilio's copy", setup: func(h *harness) {
			no := false
			h.setTenant(func(t *relay.Tenant) { t.DeleteMedia = &no })
		}, items: []relay.MediaItem{src("image/jpeg", 1000)}, wantURLs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			fm := &fakeMedia{stored: map[string]string{}}
			h.svc.Media = fm
			if tt.setup != nil {
				tt.setup(h)
			}
			res := h.mms("SM00000000000000000000000000000m01", custPhone, "bin is overflowing", tt.items...)
			sent := h.sender.sent()
			if len(sent) != 1 {
				t.Fatalf("sent %d, want 1", len(sent))
			}
			m := sent[0]
			if len(m.MediaURLs) != tt.wantURLs {
				t.Errorf("MMS with %d URLs, want %d", len(m.MediaURLs), tt.wantURLs)
			}
			for _, u := range m.MediaURLs {
				if !strings.HasPrefix(u, "https://relay.example/media/qdn/"+res.RelayID+"/") {
					t.Errorf("media URL %s not under the tenant and relay", u)
				}
			}
			if got := strings.Count(m.Body, "https://relay.example/media/"); got != tt.wantLinks {
				t.Errorf("body %q has %d links, want %d", m.Body, got, tt.wantLinks)
			}
			ev := h.audit.of(relay.EventRouted)
			if len(ev) != 1 || len(ev[0].Media) != len(tt.items) {
				t.Fatalf("audit media %+v, want %d items", ev, len(tt.items))
			}
			var reasons []string
			for _, mi := range ev[0].Media {
				if mi.Source != "" {
					t.Errorf("Twilio's URL in the audit: %+v", mi)
				}
				if mi.Key != "" && (mi.Size == 0 || mi.ContentType == "") {
					t.Errorf("stored item without size or type: %+v", mi)
				}
				reasons = append(reasons, mi.Error+mi.Link)
			}
			for _, w := range tt.wantErrors {
				if !strings.Contains(strings.Join(reasons, " "), w) {
					t.Errorf("audit reasons %v lack %s", reasons, w)
				}
			}
			if len(fm.deleted) != tt.wantDelete {
				t.Errorf("%d Twilio copies deleted, want %d", len(fm.deleted), tt.wantDelete)
			}
		})
	}
}

func TestOperatorPhotoReachesTheCustomer(t *testing.T) {
	h := newHarness(t)
	h.svc.Media = &fakeMedia{stored: map[string]string{}}
	res := h.text(custPhone, qdnNumber, "where are you?")
	h.mms("SM00000000000000000000000000000m02", mainPhone, "", src("image/jpeg", 500))
	got := h.sender.to(custPhone)
	if len(got) != 1 || len(got[0].MediaURLs) != 1 || !strings.Contains(got[0].MediaURLs[0], "/qdn/"+res.RelayID+"/") {
		t.Fatalf("customer got %+v, want the operator's photo as MMS", got)
	}
	if r := h.relay(res.RelayID); r.Status != relay.StatusAcked || len(r.Replies) != 1 || len(r.Replies[0].Media) != 1 {
		t.Errorf("relay %s with replies %+v", r.Status, r.Replies)
	}
}

func TestMediaFollowUpAndLostAnswer(t *testing.T) {
	h := newHarness(t)
	h.svc.Media = &fakeMedia{stored: map[string]string{}}
	h.text(custPhone, qdnNumber, "need a pickup")
	h.sender.lost[mainPhone] = 1
	h.mms("SM00000000000000000000000000000m03", custPhone, "here is the gate", src("image/jpeg", 500))
	h.advance(30 * time.Second)
	got := h.sender.to(mainPhone)
	if len(got) != 2 || len(got[1].MediaURLs) != 1 || !strings.Contains(got[1].Body, "(follow-up)") {
		t.Fatalf("operator got %+v, want the follow-up photo once", got)
	}
	if h.sender.lookups != 1 {
		t.Errorf("%d lookups, want the lost MMS looked up once", h.sender.lookups)
	}
}
