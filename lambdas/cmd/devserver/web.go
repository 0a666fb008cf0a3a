package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DevCSP is the dev server's Content-Security-Policy for the dashboard: the
// same as the CloudFront response-headers policy, minus the identity
// provider (the dev server signs in with a bearer token).
const DevCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

// findWebDir returns the built dashboard's folder: dir when set, else
// build/web under the repository the dev server runs in (found from the
// working directory upwards, then from the binary's own folder upwards).
// "" means the dashboard is not built.
func findWebDir(dir string) string {
	if dir != "" {
		return dir
	}
	if root := repoRoot(); root != "" && isFile(filepath.Join(root, "build", "web", "index.html")) {
		return filepath.Join(root, "build", "web")
	}
	return ""
}

// site finds the built dashboard: the configured folder, or build/web once
// it exists (a background build may still be writing it at start).
type site struct {
	configured string
	mu         sync.Mutex
	found      string
}

func newSite(configured string) *site { return &site{configured: configured} }

func (s *site) dir() string {
	if s.configured != "" {
		return s.configured
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.found == "" {
		s.found = findWebDir("")
	}
	return s.found
}

// repoRoot returns the nearest folder with a go.mod and web/ above the
// working directory or the executable, or "".
func repoRoot() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, start := range starts {
		for d := start; ; d = filepath.Dir(d) {
			if isFile(filepath.Join(d, "go.mod")) && isFile(filepath.Join(d, "web", "build.mjs")) {
				return d
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return ""
}

// buildWeb builds the dashboard the way `make web` does when the sources and
// their npm packages are there, so `go run ./lambdas/cmd/devserver` on a
// checkout without a build still serves it. It returns the folder, or "" and
// why not; the dev server starts either way.
func buildWeb(ctx context.Context) (string, error) {
	root := repoRoot()
	if root == "" {
		return "", errors.New("no repository with web/ found above the working directory")
	}
	if !isFile(filepath.Join(root, "node_modules", "esbuild", "package.json")) {
		return "", errors.New("npm packages missing: run make web")
	}
	out := filepath.Join(root, "build", "web")
	// One builder at a time: dev servers starting together (the e2e tests)
	// leave the build to whoever took the lock.
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("create build dir: %w", err)
	}
	lock := out + ".lock"
	if st, err := os.Stat(lock); err == nil && time.Since(st.ModTime()) > 2*time.Minute {
		_ = os.Remove(lock) // left by a builder that died
	}
	lf, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", errors.New("another process is building the dashboard")
	}
	lf.Close()
	defer os.Remove(lock)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// Build beside it and rename, so dev servers starting together never see
	// (or delete) each other's half-written files.
	tmp := fmt.Sprintf("%s.tmp-%d", out, os.Getpid())
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "node", filepath.Join(root, "web", "build.mjs"), tmp)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("node web/build.mjs: %w: %s", err, strings.TrimSpace(string(b)))
	}
	if err := os.Rename(tmp, out); err != nil && !isFile(filepath.Join(out, "index.html")) {
		return "", fmt.Errorf("install the build: %w", err)
	}
	return out, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// webHandler serves the dashboard and the tracking page from the built
// files, as CloudFront does from the site bucket: /track and /track/ are
// /track/index.html (the CloudFront Function's rewrite). Without a build it answers a page that says how to make one.
func webHandler(dirOf func() string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dir := dirOf()
		h := w.Header()
		h.Set("Content-Security-Policy", DevCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if dir == "" || !isFile(filepath.Join(dir, "index.html")) {
			h.Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("<!doctype html><title>dispatch-relay</title><p>The dashboard is not built. " +
				"Run <code>make web</code> (or <code>make dev</code>, which builds it) and reload. The API works without it.</p>\n"))
			return
		}
		if r.URL.Path == "/track" || r.URL.Path == "/track/" {
			r.URL.Path = "/track/index.html"
		}
		if strings.HasSuffix(r.URL.Path, ".html") || r.URL.Path == "/" {
			// The page names its hashed assets; it must be fetched fresh.
			h.Set("Cache-Control", "no-cache")
		}
		if r.URL.Path == "/track/index.html" {
			// FileServer and ServeFile redirect .../index.html to ./; serve the file itself.
			serveFile(w, r, filepath.Join(dir, "track", "index.html"))
			return
		}
		http.FileServer(http.Dir(dir)).ServeHTTP(w, r)
	})
}

func serveFile(w http.ResponseWriter, r *http.Request, path string) {
	f, err := os.Open(path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, filepath.Base(path), st.ModTime(), f)
}
