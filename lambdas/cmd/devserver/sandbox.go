package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// sandboxSender stands in for Twilio when no credentials are set: every
// outbound text is printed and kept for GET /dev/outbox.
type sandboxSender struct {
	mu  sync.Mutex
	out io.Writer
	log []sandboxMessage
}

type sandboxMessage struct {
	Sid            string    `json:"sid"`
	From           string    `json:"from"`
	To             string    `json:"to"`
	Body           string    `json:"body"`
	StatusCallback string    `json:"status_callback,omitempty"`
	DateCreated    time.Time `json:"date_created"`
}

const outboxCap = 1000

func (s *sandboxSender) Send(_ context.Context, m relay.Message) (relay.Sent, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	msg := sandboxMessage{Sid: "SM" + hex.EncodeToString(b[:]), From: m.From, To: m.To, Body: m.Body,
		StatusCallback: m.StatusCallback, DateCreated: time.Now().UTC()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, msg)
	if len(s.log) > outboxCap {
		s.log = s.log[len(s.log)-outboxCap:]
	}
	fmt.Fprintf(s.out, "\n📤 sandbox SMS %s  %s → %s\n%s\n\n", msg.Sid, m.From, m.To, m.Body)
	return relay.Sent{Sid: msg.Sid, Status: "queued"}, nil
}

// Lookup finds a sandbox text with m's From, To and Body sent at or after
// since. The sandbox keeps its outbox in memory, so after a restart a
// resumed send is sent again: the sandbox prints, it texts nobody.
func (s *sandboxSender) Lookup(_ context.Context, m relay.Message, since time.Time) (relay.Sent, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.log) - 1; i >= 0; i-- {
		if x := s.log[i]; x.From == m.From && x.To == m.To && x.Body == m.Body && !x.DateCreated.Before(since.Add(-time.Second)) {
			return relay.Sent{Sid: x.Sid, Status: "queued"}, true, nil
		}
	}
	return relay.Sent{}, false, nil
}

// ServeHTTP lists the sandbox's outbound texts, oldest first.
func (s *sandboxSender) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	msgs := append([]sandboxMessage{}, s.log...)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_ = json.NewEncoder(w).Encode(map[string]any{"messages": msgs})
}
