package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/boltstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// settle waits until every answered text has a terminal audit event (acked
// or exhausted) or o.Settle passes, then lets late sends arrive.
func (h *harness) settle(ctx context.Context) bool {
	deadline := time.Now().Add(h.o.Settle)
	grace := h.o.Window + time.Second
	// No progress for this long means what is open stays open.
	quiet := max(4*h.o.Window+5*time.Second, 10*time.Second)
	lastOpen, lastMsgs, lastChange := -1, -1, time.Now()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
		events, err := h.fullAudit(ctx)
		if err != nil {
			h.logf("audit read failed while settling: %v", err)
			continue
		}
		terminal := map[string]bool{}
		for _, e := range events {
			if e.Event == relay.EventAcked || e.Event == relay.EventExhausted {
				terminal[e.MessageSid] = true
			}
		}
		open := 0
		h.mu.Lock()
		for _, x := range h.order {
			if !x.forged && x.answered && !terminal[x.sid] {
				open++
			}
		}
		h.mu.Unlock()
		h.logf("%d relays open", open)
		if open == 0 {
			time.Sleep(grace) // late doubles would arrive now
			return true
		}
		if msgs := len(h.fake.Messages()); open != lastOpen || msgs != lastMsgs {
			lastOpen, lastMsgs, lastChange = open, msgs, time.Now()
		} else if time.Since(lastChange) > quiet {
			h.logf("no progress for %s; %d relays stay open", quiet, open)
			return false
		}
	}
	return false
}

// fullAudit reads every audit event of both tenants through GET /api/sms/audit.
func (h *harness) fullAudit(ctx context.Context) ([]relay.AuditEvent, error) {
	var all []relay.AuditEvent
	for _, t := range h.dir.Tenants {
		cursor := ""
		for page := 0; page < 100_000; page++ {
			q := url.Values{"tenant_id": {t.ID}, "limit": {"1000"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/api/sms/audit?"+q.Encode(), nil)
			if err != nil {
				return nil, fmt.Errorf("build audit request: %w", err)
			}
			req.Header.Set("Authorization", "Bearer "+adminToken)
			resp, err := h.client.Do(req)
			if err != nil {
				return nil, fmt.Errorf("read audit of %s: %w", t.ID, err)
			}
			var p relay.AuditPage
			err = json.NewDecoder(resp.Body).Decode(&p)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || err != nil {
				return nil, fmt.Errorf("read audit of %s: status %d: %v", t.ID, resp.StatusCode, err)
			}
			all = append(all, p.Records...)
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
	}
	return all, nil
}

// readRelays opens the stopped server's store and reads each valid text's relay.
func readRelays(ctx context.Context, path string, texts []*text) (map[string]relay.Relay, error) {
	st, err := boltstore.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open the dev server's store: %w", err)
	}
	defer st.Close()
	out := map[string]relay.Relay{}
	for _, x := range texts {
		r, err := st.Relay(ctx, x.sid)
		switch {
		case err == nil:
			out[x.sid] = r
		case relay.IsKind(err, relay.NotFound):
		default:
			return nil, fmt.Errorf("read relay %s: %w", x.sid, err)
		}
	}
	return out, nil
}
