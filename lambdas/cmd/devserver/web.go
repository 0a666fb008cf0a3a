package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// DevCSP is the dev server's Content-Security-Policy for the dashboard: the
// same as the CloudFront response-headers policy, minus the identity
// provider (the dev server signs in with a bearer token).
const DevCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

// findWebDir returns the built dashboard's folder: dir when set, else
// build/web in the working directory or the nearest parent with a go.mod.
// "" means the dashboard is not built.
func findWebDir(dir string) string {
	if dir != "" {
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isFile(filepath.Join(d, "build", "web", "index.html")) {
			return filepath.Join(d, "build", "web")
		}
		if isFile(filepath.Join(d, "go.mod")) || filepath.Dir(d) == d {
			return ""
		}
	}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// webHandler serves the dashboard and the tracking page from the built
// files, as CloudFront does from the site bucket: /track and /track/ are
// /track/index.html (the CloudFront Function's rewrite). Without a build it answers a page that says how to make one.
func webHandler(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		files.ServeHTTP(w, r)
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
