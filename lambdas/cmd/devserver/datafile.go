package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// appliedFile records the hash of the data file last applied to a state dir.
const appliedFile = "data-file.sha256"

// applyDataFile decides whether the data file goes into the store, applies
// it if so, and says what happened in a phrase for the banner. A fresh state
// gets the file; so does a state whose file changed since it was last
// applied (entries the file names are overwritten, the rest kept). An
// unchanged file is ignored, so changes made through the Directory API
// survive a restart and local state never diverges silently.
func applyDataFile(ctx context.Context, store interface {
	relay.Loader
	Tenants(context.Context) ([]relay.Tenant, error)
}, file datafile.File, raw []byte, stateDir string) (string, error) {
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	path := filepath.Join(stateDir, appliedFile)
	existing, err := store.Tenants(ctx)
	if err != nil {
		return "", fmt.Errorf("read state: %w", err)
	}
	last, _ := os.ReadFile(path)
	var what string
	switch {
	case len(existing) == 0:
		what = "applied to a fresh state"
	case strings.TrimSpace(string(last)) == hash:
		return fmt.Sprintf("IGNORED: unchanged since it was applied; the state's directory (%d tenants, with changes made through the API) is kept — use relayctl import to sync a file", len(existing)), nil
	default:
		what = fmt.Sprintf("applied to EXISTING state (%d tenants): the file changed since it was last applied; entries it names were overwritten, others kept", len(existing))
	}
	if err := datafile.Load(ctx, store, file); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(hash+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("record applied data file: %w", err)
	}
	return what, nil
}

// writeRoleTokens writes one token per role per tenant to
// <state>/tokens/<tenant>-<role> (the bare token, no newline, so that
// scripts can use the file's content as is), and returns the directory.
func writeRoleTokens(stateDir, admin string, tenants []relay.Tenant) (string, error) {
	dir := filepath.Join(stateDir, "tokens")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create tokens dir: %w", err)
	}
	for _, t := range tenants {
		for _, r := range httpapi.Roles {
			p := filepath.Join(dir, t.ID+"-"+string(r))
			if err := os.WriteFile(p, []byte(httpapi.RoleToken(admin, t.ID, r)), 0o600); err != nil {
				return "", fmt.Errorf("write token: %w", err)
			}
		}
	}
	return dir, nil
}
