package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeSite(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"index.html":       "<!doctype html><title>dashboard</title>",
		"track/index.html": "<!doctype html><title>track</title>",
		"assets/app.js":    "console.log(1)",
		"assets/app.css":   "body{}",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestWebHandler(t *testing.T) {
	site := writeSite(t)
	tests := []struct {
		name, dir, method, path string
		status                  int
		body, ctype             string
	}{
		{"dashboard", site, "GET", "/", 200, "<title>dashboard", "text/html"},
		{"tracking page", site, "GET", "/track?t=abc", 200, "<title>track", "text/html"},
		{"tracking page slash", site, "GET", "/track/", 200, "<title>track", "text/html"},
		{"script", site, "GET", "/assets/app.js", 200, "console.log", "javascript"},
		{"style", site, "GET", "/assets/app.css", 200, "body{}", "text/css"},
		{"missing asset", site, "GET", "/assets/nope.js", 404, "", ""},
		{"post", site, "POST", "/", 405, "", ""},
		{"not built", "", "GET", "/", 503, "make web", "text/html"},
		{"not built, other dir", filepath.Join(site, "nope"), "GET", "/", 503, "make web", "text/html"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			webHandler(func() string { return tc.dir }).ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != tc.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tc.status)
			}
			if !strings.Contains(w.Body.String(), tc.body) {
				t.Errorf("body %q lacks %q", w.Body, tc.body)
			}
			if !strings.Contains(w.Header().Get("Content-Type"), tc.ctype) {
				t.Errorf("content type %q, want %q", w.Header().Get("Content-Type"), tc.ctype)
			}
			if got := w.Header().Get("Content-Security-Policy"); got != DevCSP {
				t.Errorf("CSP %q, want %q", got, DevCSP)
			}
		})
	}
}

func TestFindWebDir(t *testing.T) {
	if got := findWebDir("/some/dir"); got != "/some/dir" {
		t.Errorf("explicit dir: got %q", got)
	}
	// From this package's folder the repository is found above; the answer is
	// its build/web when built, else "".
	got := findWebDir("")
	root := repoRoot()
	if root == "" || !isFile(filepath.Join(root, "web", "build.mjs")) {
		t.Fatalf("repoRoot() = %q, want the repository", root)
	}
	if want := filepath.Join(root, "build", "web"); got != "" && got != want {
		t.Errorf("got %q, want %q or empty", got, want)
	}
}
