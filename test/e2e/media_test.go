package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

// textMedia sends an MMS: NumMedia, MediaUrl{N} and MediaContentType{N} as
// Twilio posts them; media are (content type, Twilio URL) pairs.
func (s *server) textMedia(from, to, body string, media ...[2]string) webhook {
	s.t.Helper()
	sid := faketwilio.NewMessageSid()
	form := url.Values{"MessageSid": {sid}, "From": {from}, "To": {to}, "Body": {body}, "NumMedia": {fmt.Sprint(len(media))}}
	for i, m := range media {
		form.Set(fmt.Sprintf("MediaContentType%d", i), m[0])
		form.Set(fmt.Sprintf("MediaUrl%d", i), m[1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := s.Fake.Inbound(ctx, s.URL+"/api/sms/incoming", form)
	if err != nil {
		s.t.Fatalf("post inbound mms: %v", err)
	}
	w := readWebhook(s.t, sid, resp)
	if w.Status != http.StatusOK {
		s.t.Fatalf("mms webhook answered %d %s", w.Status, w.Body)
	}
	return w
}

// TestMMSInAndOut: a customer's photo is fetched from Twilio (basic auth,
// then a 302 to the content, credentials not following), stored, Twilio's
// copy deleted, and forwarded as MMS with a signed URL Twilio can fetch; an
// operator's photo reply reaches the customer the same way; a type MMS does
// not carry goes as a link.
func TestMMSInAndOut(t *testing.T) {
	t.Parallel()
	s := start(t, setup{AckTimeout: "60s"})
	photo := s.Fake.AddMedia("image/jpeg", []byte("\xff\xd8\xff\xe0 a blocked gate"))
	pdf := s.Fake.AddMedia("application/pdf", []byte("%PDF-1.4 invoice"))
	w := s.textMedia(acme, numA, "the gate is blocked", [2]string{"image/jpeg", photo}, [2]string{"application/pdf", pdf})
	m := waitMessages(t, s.Fake, 1, 5*time.Second)[0]
	if m.To != sergioBackup || len(m.MediaURLs) != 1 {
		t.Fatalf("forward → %s with media %v, want one MMS item to sergio_backup", m.To, m.MediaURLs)
	}
	if got := s.Fake.MediaFetch(m.MediaURLs[0]); got != http.StatusOK {
		t.Errorf("Twilio fetching the MMS URL got %d, want 200", got)
	}
	if !strings.Contains(m.MediaURLs[0], "/media/a/"+w.Sid+"/") {
		t.Errorf("media URL %s is not under the tenant and relay", m.MediaURLs[0])
	}
	link := regexp.MustCompile(`File: (\S+)`).FindStringSubmatch(m.Body)
	if link == nil {
		t.Fatalf("forward %q carries no link for the PDF", m.Body)
	}
	resp, err := http.Get(link[1])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "%PDF-1.4 invoice" {
		t.Errorf("GET the PDF link: %d %q", resp.StatusCode, b)
	}
	if resp, err := http.Get(strings.Replace(link[1], "sig=", "sig=0", 1)); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a tampered link answered %d, want 403", resp.StatusCode)
		}
	}
	if s.Fake.MediaLeaks() != 0 {
		t.Errorf("credentials followed Twilio's redirect %d times", s.Fake.MediaLeaks())
	}
	if !s.Fake.MediaDeleted(photo) || !s.Fake.MediaDeleted(pdf) {
		t.Errorf("Twilio's copies not deleted (delete_twilio_media defaults to true)")
	}
	rec := only(s.waitAudit(w.Sid, "routed"), "routed")[0]
	var items []struct {
		ContentType string `json:"content_type"`
		Size        int64  `json:"size"`
		Key         string `json:"key"`
		Link        string `json:"link"`
	}
	if err := json.Unmarshal(rec.Raw["media"], &items); err != nil || len(items) != 2 ||
		items[0].ContentType != "image/jpeg" || items[0].Size == 0 || items[0].Key == "" || items[1].Link != "unsupported_media_type" {
		t.Errorf("audit media %s, want both items with type, size and key, the PDF as a link", rec.Raw["media"])
	}

	// The operator's photo reply reaches the customer as MMS.
	reply := s.Fake.AddMedia("image/png", []byte("\x89PNG on my way"))
	s.textMedia(sergioBackup, numA, "here is the truck", [2]string{"image/png", reply})
	out := waitMessages(t, s.Fake, 2, 5*time.Second)[1]
	if out.To != acme || out.Body != "here is the truck" || len(out.MediaURLs) != 1 || s.Fake.MediaFetch(out.MediaURLs[0]) != http.StatusOK {
		t.Errorf("reply → %s %q media %v, want the photo to the customer", out.To, out.Body, out.MediaURLs)
	}
}
