package infra

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// GoldenFile is the reviewed template: `go test ./infra -update` rewrites it, `make diff`
// compares a fresh synth against it when there are no AWS credentials.
const GoldenFile = "testdata/" + StackName + ".template.json"

// assetHash matches CDK asset hashes (S3 keys of the Lambda bundles, the site archive and
// CDK's own handlers). They are replaced in the snapshot so it does not depend on the
// bootstrap binaries; the Makefile's `diff` target applies the same sed expression.
var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// AssetHashPlaceholder stands for every asset hash in the snapshot.
const AssetHashPlaceholder = "ASSET_HASH"

// normalizeTemplate renders a template as the golden file stores it: sorted keys,
// two-space indent, asset hashes replaced, trailing newline.
func normalizeTemplate(doc any) ([]byte, error) {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	b = assetHash.ReplaceAll(b, []byte(AssetHashPlaceholder))
	return append(b, '\n'), nil
}

func TestGoldenTemplate(t *testing.T) {
	got, err := normalizeTemplate(mainStack(t).doc)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(GoldenFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(GoldenFile)
	if err != nil {
		t.Fatalf("%v (run go test ./infra -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		tmp := filepath.Join(t.TempDir(), "got.template.json")
		_ = os.WriteFile(tmp, got, 0o644)
		t.Errorf("template differs from %s; review with `diff -u %s %s` (or make diff) and run go test ./infra -update if intended", GoldenFile, GoldenFile, tmp)
	}
}

func TestSnapshotIndependentOfAssetBytes(t *testing.T) {
	// Lambda code changes move only asset hashes, which the snapshot masks; everything
	// else in the template (and so the golden file) stays put.
	doc := mainStack(t).doc
	b, _ := json.Marshal(doc)
	if n := len(assetHash.FindAll(b, -1)); n < 4 {
		t.Errorf("got %d asset hashes, want at least 4 (two functions, the site, CDK's handler)", n)
	}
}
