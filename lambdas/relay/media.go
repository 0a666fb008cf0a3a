package relay

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Photos and files (MMS) travel both ways. An inbound text's media items
// are fetched from Twilio and stored under the tenant and relay (Media
// port: S3 on AWS, RELAY_STATE_DIR locally) before the relay or note that
// carries them is stored, and forwarded as MMS with short-lived signed URLs;
// a recipient who cannot receive MMS (outside North America), a type MMS
// does not carry, or items past Twilio's limits get links in the text
// instead. Audit events list count, types, sizes and keys.

// Twilio's limits on one outbound MMS
// (https://www.twilio.com/docs/messaging/guides/accepted-mime-types).
const (
	// MaxMediaItems is the most media items one message carries.
	MaxMediaItems = 10
	// MaxMediaBytes is the most bytes of media one message carries, and the
	// cap on one fetched item.
	MaxMediaBytes = 5 << 20
	// MediaURLLife is how long an MMS's signed media URL works: Twilio
	// fetches it while sending.
	MediaURLLife = time.Hour
	// MediaLinkLife is how long a link in a text works.
	MediaLinkLife = 24 * time.Hour
)

// Reasons a media item is not sent as MMS.
const (
	MediaTooMany     = "media_limit_10_items"
	MediaTooBig      = "media_over_5mb"
	MediaUnsupported = "unsupported_media_type"
	MediaNotStored   = "media_not_stored"
	MediaNoMMS       = "recipient_cannot_receive_mms"
)

// MediaItem is one photo or file of a text.
type MediaItem struct {
	// Source is Twilio's URL of the item (inbound); kept until stored.
	Source      string `json:"source,omitempty"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size,omitempty"`
	// Key is where the relay stored the item; "" when it could not.
	Key string `json:"key,omitempty"`
	// Error says why the item is not forwarded (MediaNotStored and a cause).
	Error string `json:"error,omitempty"`
	// Link marks an item sent as a link in the text instead of as MMS, and why.
	Link string `json:"link,omitempty"`
}

// Media stores photos and files of texts.
type Media interface {
	// Store fetches src (a Twilio media URL: basic auth for Twilio's host
	// only, redirects followed without the credentials, at most maxBytes)
	// and stores it under key. It returns the content type and size.
	Store(ctx context.Context, key, src string, maxBytes int64) (contentType string, size int64, err error)
	// URL returns a URL that serves the stored key until expires.
	URL(ctx context.Context, key string, expires time.Time) (string, error)
	// DeleteSource deletes Twilio's copy of a stored item.
	DeleteSource(ctx context.Context, src string) error
}

// mmsTypes are the content types Twilio carries to phones as MMS.
var mmsTypes = map[string]bool{"image/jpeg": true, "image/jpg": true, "image/png": true, "image/gif": true}

// DeleteTwilioMedia reports whether Twilio's copy of stored media is
// deleted (tenant option delete_twilio_media, default true).
func (t Tenant) DeleteTwilioMedia() bool { return t.DeleteMedia == nil || *t.DeleteMedia }

// saveMedia fetches and stores the inbound items under the tenant and the
// relay; items it cannot store carry the reason.
func (s *Service) saveMedia(ctx context.Context, tenantID, relayID string, in Inbound) []MediaItem {
	if len(in.Media) == 0 {
		return nil
	}
	items := make([]MediaItem, len(in.Media))
	fs := make([]func() error, 0, len(in.Media))
	for i, m := range in.Media {
		items[i] = MediaItem{Source: m.Source, ContentType: m.ContentType}
		switch {
		case i >= MaxMediaItems:
			items[i].Error = MediaTooMany
			continue
		case s.Media == nil:
			items[i].Error = MediaNotStored + ": no media store"
			continue
		}
		key := fmt.Sprintf("%s/%s/%s-%d", tenantID, relayID, in.MessageSid, i)
		fs = append(fs, func() error {
			ct, size, err := s.Media.Store(ctx, key, m.Source, MaxMediaBytes)
			if err != nil {
				items[i].Error = MediaNotStored + ": " + MessageOf(err)
				s.log().WarnContext(ctx, "media not stored", "relay", relayID, "item", i, "err", err)
				return nil
			}
			items[i].Key, items[i].Size = key, size
			if ct != "" {
				items[i].ContentType = ct
			}
			return nil
		})
	}
	parallel(fs...)
	return items
}

// dropSources deletes Twilio's copies of stored items once the record that
// names them is stored (tenant option delete_twilio_media).
func (s *Service) dropSources(ctx context.Context, t Tenant, items []MediaItem) {
	if s.Media == nil || !t.DeleteTwilioMedia() {
		return
	}
	for _, m := range items {
		if m.Key == "" || m.Source == "" {
			continue
		}
		if err := s.Media.DeleteSource(ctx, m.Source); err != nil {
			s.log().WarnContext(ctx, "twilio media not deleted", "err", err)
		}
	}
}

// canMMS reports whether a phone can receive MMS from a Twilio long code:
// US and Canadian numbers.
func canMMS(phone string) bool { return strings.HasPrefix(phone, "+1") }

// attach decides how items go to phone in a text made at `at` (the
// intent's creation, so every try makes the same text): MMS URLs, and the
// lines the text carries for items sent as links or not sent. It also
// records per item how it went (Link).
func (s *Service) attach(ctx context.Context, items []MediaItem, phone string, at time.Time) (urls []string, lines []string) {
	var total int64
	failed := 0
	for i := range items {
		m := &items[i]
		if m.Key == "" {
			failed++
			continue
		}
		switch {
		case s.Media == nil:
			m.Link = MediaNotStored
		case !canMMS(phone):
			m.Link = MediaNoMMS
		case !mmsTypes[strings.ToLower(m.ContentType)]:
			m.Link = MediaUnsupported
		case len(urls) >= MaxMediaItems:
			m.Link = MediaTooMany
		case total+m.Size > MaxMediaBytes:
			m.Link = MediaTooBig
		default:
			u, err := s.Media.URL(ctx, m.Key, at.Add(MediaURLLife).Truncate(time.Second))
			if err == nil {
				urls = append(urls, u)
				total += m.Size
				continue
			}
			m.Link = MediaNotStored
		}
		if s.Media == nil {
			failed++
			continue
		}
		u, err := s.Media.URL(ctx, m.Key, at.Add(MediaLinkLife).Truncate(time.Second))
		if err != nil {
			failed++
			continue
		}
		lines = append(lines, fmt.Sprintf("%s: %s", mediaNoun(m.ContentType), u))
	}
	if failed > 0 {
		lines = append(lines, fmt.Sprintf("(%d attachment(s) could not be relayed)", failed))
	}
	return urls, lines
}

func mediaNoun(ct string) string {
	switch {
	case strings.HasPrefix(ct, "image/"):
		return "Photo"
	case strings.HasPrefix(ct, "video/"):
		return "Video"
	}
	return "File"
}

// withMedia returns the message with r's media attached for its recipient.
func (s *Service) withMedia(ctx context.Context, m Message, items []MediaItem, at time.Time) (Message, []MediaItem) {
	if len(items) == 0 {
		return m, nil
	}
	items = append([]MediaItem(nil), items...)
	urls, lines := s.attach(ctx, items, m.To, at)
	m.MediaURLs = urls
	if len(lines) > 0 {
		m.Body = strings.TrimSpace(m.Body + "\n" + strings.Join(lines, "\n"))
	}
	for i := range items {
		items[i].Source = "" // Twilio's URL stays out of the audit
	}
	return m, items
}

// mediaAudit is the audit form of items: count, types, sizes and keys.
func mediaAudit(items []MediaItem) []MediaItem {
	if len(items) == 0 {
		return nil
	}
	out := make([]MediaItem, len(items))
	for i, m := range items {
		m.Source = ""
		out[i] = m
	}
	return out
}
