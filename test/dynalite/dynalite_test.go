package dynalite_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/test/dynalite"
)

func TestStart(t *testing.T) {
	endpoints := make([]string, 2)
	t.Run("serves", func(t *testing.T) {
		for i := range endpoints {
			endpoints[i] = dynalite.Start(t)
		}
		if endpoints[0] == endpoints[1] {
			t.Fatalf("got one endpoint %s twice, want a fresh server per call", endpoints[0])
		}
		for _, ep := range endpoints {
			// dynalite answers a request without an operation with its
			// own DynamoDB-style error.
			resp, err := http.Post(ep, "application/x-amz-json-1.0", strings.NewReader("{}"))
			if err != nil {
				t.Fatalf("post %s: %v", ep, err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if !strings.Contains(string(body), "UnknownOperationException") {
				t.Errorf("got %d %s, want dynalite's UnknownOperationException", resp.StatusCode, body)
			}
		}
	})
	// The subtest's cleanup stopped both servers.
	for _, ep := range endpoints {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(ep, "http://"), time.Second)
		if err == nil {
			_ = conn.Close()
			t.Errorf("%s: got a connection after cleanup, want the server gone", ep)
		}
	}
}

// fatalRecorder is a testing.TB whose Fatalf and Skipf record the message
// and end the calling goroutine, as testing.T's do.
type fatalRecorder struct {
	testing.TB
	msg     string
	skipped bool
}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *fatalRecorder) Skipf(format string, args ...any) {
	r.msg, r.skipped = fmt.Sprintf(format, args...), true
	runtime.Goexit()
}

func TestStartNotInstalled(t *testing.T) {
	for _, tc := range []struct {
		name, ci    string
		wantSkipped bool
	}{
		{"developer machine skips", "", true},
		{"CI fails", "true", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/empty\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			sub := filepath.Join(dir, "pkg")
			if err := os.Mkdir(sub, 0o700); err != nil {
				t.Fatal(err)
			}
			t.Chdir(sub)
			rec := &fatalRecorder{TB: t}
			done := make(chan string)
			go func() {
				defer close(done)
				done <- dynalite.Start(rec)
			}()
			if ep, ok := <-done; ok {
				t.Fatalf("got endpoint %s, want the test ended", ep)
			}
			if !strings.Contains(rec.msg, "make deps") {
				t.Errorf("got %q, want a hint to run make deps", rec.msg)
			}
			if rec.skipped != tc.wantSkipped {
				t.Errorf("skipped: got %v, want %v (CI=%q)", rec.skipped, tc.wantSkipped, tc.ci)
			}
		})
	}
}
