package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

func TestLoopbackOnly(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/api/sms/incoming", true},
		{"http://127.0.0.2:8080/api/sms/incoming", true},
		{"http://[::1]:8080/api/sms/incoming", true},
		{"http://localhost:8080/api/sms/incoming", true},
		{"https://relay.example.com/api/sms/incoming", false},
		{"http://10.0.0.5:8080/api/sms/incoming", false},
		{"http://0.0.0.0:8080/api/sms/incoming", false},
		{"http://127.0.0.1.nip.io/api/sms/incoming", false},
		{"ftp://127.0.0.1/x", false},
		{"127.0.0.1:8080", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			if err := loopbackOnly(tc.url); (err == nil) != tc.ok {
				t.Errorf("loopbackOnly(%q): got error %v, want ok %v", tc.url, err, tc.ok)
			}
		})
	}
}

func TestFromNumber(t *testing.T) {
	tests := []struct {
		name, prefix string
		i            int
		want         string
		wantErr      bool
	}{
		{"padded", "+1619557", 42, "+16195570042", false},
		{"wraps", "+1619557", 10042, "+16195570042", false},
		{"one digit left", "+1619555123", 7, "+16195551237", false},
		{"no digit left", "+16195551234", 0, "", true},
		{"no plus", "1619557", 0, "", true},
		{"letters", "+1619abc", 0, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fromNumber(tc.prefix, tc.i)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("fromNumber(%q, %d): got %q, %v; want %q, error %v", tc.prefix, tc.i, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}}
	for _, tc := range tests {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("percentile(1..100ms, %v): got %s, want %s", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile of nothing: got %s, want 0", got)
	}
}

func TestParseBounds(t *testing.T) {
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"too many requests", []string{"-n", "100001"}, "-n"},
		{"too much concurrency", []string{"-c", "1000"}, "-c"},
		{"too long", []string{"-duration", "1h"}, "-duration"},
		{"not loopback", []string{"-url", "https://example.com/api/sms/incoming"}, "loopback"},
		{"bad to", []string{"-to", "6195550100"}, "-to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("parse(%q): got error %v, want one naming %s", tc.args, err, tc.says)
			}
		})
	}
}

// TestRun loads a local server that checks every signature as the relay
// does and counts distinct senders and sids.
func TestRun(t *testing.T) {
	const token = "loadtesttoken0000000000000000001"
	v := twilio.NewValidator(token, "")
	var mu sync.Mutex
	sids, froms := map[string]bool{}, map[string]bool{}
	bad := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host
		if !v.ValidRequest(base, r) {
			mu.Lock()
			bad++
			mu.Unlock()
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		mu.Lock()
		sids[r.PostForm.Get("MessageSid")] = true
		froms[r.PostForm.Get("From")] = true
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response/>`))
	}))
	defer srv.Close()

	var out strings.Builder
	err := run(context.Background(), []string{"-url", srv.URL + "/api/sms/incoming", "-token", token,
		"-n", "50", "-c", "4", "-from-prefix", "+1619557"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if bad != 0 || len(sids) != 50 || len(froms) != 50 {
		t.Errorf("server saw %d bad signatures, %d sids, %d senders; want 0, 50, 50", bad, len(sids), len(froms))
	}
	for _, want := range []string{"sent        50", "ok (2xx)    50", "requests/s", "p50", "p95", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
