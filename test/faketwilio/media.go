package faketwilio

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Media served as Twilio serves an inbound MMS's items: GET
// /2010-04-01/Accounts/{AC}/Messages/{MM}/Media/{ME} needs basic auth and
// answers 302 to the content (as Twilio redirects to its storage), which
// needs none; DELETE removes the item. A request for the content that
// carries an Authorization header counts as a credential leak.

// mediaStore holds the fake's media items.
type mediaStore struct {
	mu      sync.Mutex
	items   map[string]*mediaItem
	leaks   int
	fetched map[string]int // outbound MediaUrl → status the fake got when fetching it
}

type mediaItem struct {
	contentType string
	data        []byte
	deleted     bool
	gets        int
}

func (s *Server) mediaStore() *mediaStore {
	s.mediaOnce.Do(func() { s.media = &mediaStore{items: map[string]*mediaItem{}, fetched: map[string]int{}} })
	return s.media
}

// AddMedia stores an inbound media item and returns its Twilio URL, the
// MediaUrl{N} of an inbound webhook.
func (s *Server) AddMedia(contentType string, data []byte) string {
	ms := s.mediaStore()
	sid := "ME" + randomHex(16)
	ms.mu.Lock()
	ms.items[sid] = &mediaItem{contentType: contentType, data: data}
	ms.mu.Unlock()
	return fmt.Sprintf("%s/2010-04-01/Accounts/%s/Messages/MM%s/Media/%s", s.url, s.accountSID, randomHex(16), sid)
}

// MediaDeleted reports whether the item at url was deleted.
func (s *Server) MediaDeleted(url string) bool {
	ms := s.mediaStore()
	ms.mu.Lock()
	defer ms.mu.Unlock()
	it := ms.items[url[strings.LastIndexByte(url, '/')+1:]]
	return it != nil && it.deleted
}

// MediaLeaks counts requests for media content that carried credentials.
func (s *Server) MediaLeaks() int {
	ms := s.mediaStore()
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.leaks
}

// MediaFetch returns the status the fake got fetching an outbound MMS's
// MediaUrl when the message was created (0: never fetched).
func (s *Server) MediaFetch(url string) int {
	ms := s.mediaStore()
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.fetched[url]
}

// mediaResource implements GET and DELETE of .../Media/{media} (authenticated).
func (s *Server) mediaResource(w http.ResponseWriter, r *http.Request) {
	if !s.ownAccount(w, r) {
		return
	}
	ms := s.mediaStore()
	sid := r.PathValue("media")
	ms.mu.Lock()
	it := ms.items[sid]
	if it == nil || it.deleted {
		ms.mu.Unlock()
		notFound(w, r)
		return
	}
	if r.Method == http.MethodDelete {
		it.deleted = true
		ms.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ms.mu.Unlock()
	http.Redirect(w, r, s.url+"/_fake/media-content/"+sid, http.StatusFound)
}

// mediaContent serves an item's bytes without authentication, as Twilio's storage does.
func (s *Server) mediaContent(w http.ResponseWriter, r *http.Request) {
	ms := s.mediaStore()
	ms.mu.Lock()
	if r.Header.Get("Authorization") != "" {
		ms.leaks++
	}
	it := ms.items[r.PathValue("media")]
	if it == nil || it.deleted {
		ms.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	it.gets++
	ct, data := it.contentType, it.data
	ms.mu.Unlock()
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(data)
}

// fetchOutboundMedia fetches an outbound MMS's MediaUrls as Twilio does
// when it sends, and records what it got.
func (s *Server) fetchOutboundMedia(urls []string) {
	ms := s.mediaStore()
	for _, u := range urls {
		status := -1
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err == nil {
			if resp, err := s.client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				status = resp.StatusCode
			}
		}
		cancel()
		ms.mu.Lock()
		ms.fetched[u] = status
		ms.mu.Unlock()
	}
}
