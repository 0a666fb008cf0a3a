package archtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// webImports are the only modules the dashboard's sources may import: its
// own files and the small maintained packages in package.json. Everything is
// bundled by esbuild, so nothing is fetched from a CDN at run time.
var webImports = map[string]bool{
	"preact": true, "preact/hooks": true, "htm": true, "uplot": true, "uplot/dist/uPlot.min.css": true,
}

var (
	importRe = regexp.MustCompile(`(?m)^\s*import\s+(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]`)
	// Absolute URLs in the pages' markup or the sources: scripts, styles, fonts or
	// images from another origin.
	remoteRe = regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|@import\s+url\(\s*["']?https?:|from\s+['"]https?:`)
)

// TestWebUsesOnlyBundledModules keeps the web/ layer self-contained: relative
// imports or the allowed packages, no remote scripts, styles or imports.
func TestWebUsesOnlyBundledModules(t *testing.T) {
	root := filepath.Join("..", "..", "web")
	n := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := filepath.Ext(path)
		if ext != ".js" && ext != ".mjs" && ext != ".html" && ext != ".css" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		src := string(b)
		if m := remoteRe.FindString(src); m != "" {
			t.Errorf("%s loads from another origin: %q", path, m)
		}
		if ext != ".js" {
			return nil
		}
		for _, m := range importRe.FindAllStringSubmatch(src, -1) {
			spec := m[1]
			if strings.HasPrefix(spec, "./") || webImports[spec] {
				continue
			}
			t.Errorf("%s imports %q; web/ may import its own files and %v only", path, spec, keys(webImports))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Errorf("found %d web sources; is web/ where this test looks?", n)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
