package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// A second dev server on the same state directory stops at once and says
// which one holds it and where it listens.
func TestSecondServerOnTheSameStateNamesTheFirst(t *testing.T) {
	state := t.TempDir()
	env := func(addr string) func(string) string {
		return func(k string) string {
			return map[string]string{config.EnvAddr: addr, config.EnvStateDir: state, config.EnvLogLevel: "error"}[k]
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { first <- run(ctx, env("127.0.0.1:0"), io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-first; err != nil {
			t.Errorf("first server: %v", err)
		}
	})

	var info Info
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(state, "dev.json"))
		if err == nil && json.Unmarshal(b, &info) == nil && info.Listen != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first server never wrote dev.json (%v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	start := time.Now()
	err := run(context.Background(), env("127.0.0.1:0"), io.Discard)
	if err == nil {
		t.Fatal("second server started on a state directory in use")
	}
	for _, want := range []string{"another dev server is running", state, "http://" + info.Listen, "pid", config.EnvStateDir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("second server took %v to give up", took)
	}
	if !strings.HasPrefix(info.FallbackURL, "http://") || !strings.HasSuffix(info.FallbackURL, "/api/sms/fallback") {
		t.Errorf("dev.json fallback_url: got %q", info.FallbackURL)
	}
}
