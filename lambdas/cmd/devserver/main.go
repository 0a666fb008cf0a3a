// Command devserver runs the relay on one machine: the same HTTP handler as
// the Lambda, an embedded store, timers and audit objects under
// RELAY_STATE_DIR, and Twilio or, without credentials, a printing sandbox.
package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/boltstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/lambdas/localtimer"
	"github.com/dispatchrelay/dispatch-relay/lambdas/media"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/s3audit"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
)

//go:embed quickdumpnow.yaml
var demoData []byte

// version is set by the linker for release builds.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

// Info is what the dev server writes to <state>/dev.json for tools such as
// `make sms`: where to post and which token signs.
type Info struct {
	WebhookURL  string   `json:"webhook_url"`
	FallbackURL string   `json:"fallback_url"`
	Listen      string   `json:"listen"`
	PID         int      `json:"pid"`
	SandboxAuth string   `json:"sandbox_auth_token,omitempty"`
	Numbers     []string `json:"numbers"`
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := config.LoadDev(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	slog.SetDefault(log)

	data, source := demoData, "embedded QuickDumpNow demo"
	if cfg.DataFile != "" {
		b, err := os.ReadFile(cfg.DataFile)
		if err != nil {
			return fmt.Errorf("read %s: %w", config.EnvDataFile, err)
		}
		data, source = b, cfg.DataFile
	}
	file, err := datafile.Parse(data, strings.HasSuffix(strings.ToLower(source), ".json"))
	if err != nil {
		return fmt.Errorf("data file %s: %w", source, err)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	apiToken := cfg.APIToken
	if apiToken == "" {
		if apiToken, err = persistedSecret(filepath.Join(cfg.StateDir, "api-token"), "rat_"); err != nil {
			return err
		}
	}

	store, err := boltstore.Open(filepath.Join(cfg.StateDir, "relay.db"))
	if errors.Is(err, boltstore.ErrLocked) {
		return fmt.Errorf("%s: %w", otherServer(cfg.StateDir), err)
	}
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()
	applied, err := applyDataFile(ctx, store, file, data, cfg.StateDir)
	if err != nil {
		return err
	}
	bucket, err := s3audit.NewDirBucket(filepath.Join(cfg.StateDir, "audit"))
	if err != nil {
		return fmt.Errorf("open audit dir: %w", err)
	}
	audit := s3audit.New(bucket, s3audit.WithLogger(log))
	timer, err := localtimer.Open(filepath.Join(cfg.StateDir, "timers"), localtimer.WithLogger(log))
	if err != nil {
		return fmt.Errorf("open timers: %w", err)
	}
	defer timer.Close()

	var sender relay.Sender
	var sandbox *sandboxSender
	signToken, secondToken := cfg.Twilio.AuthToken, cfg.Twilio.AuthTokenSecondary
	if cfg.Twilio.Sandbox() {
		sandbox = &sandboxSender{out: stdout}
		sender = sandbox
		if signToken, err = persistedSecret(filepath.Join(cfg.StateDir, "sandbox-auth-token"), ""); err != nil {
			return err
		}
	} else {
		tw, err := twilio.New(twilio.Config{AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken,
			BaseURL: cfg.Twilio.APIBaseURL, HTTPClient: &http.Client{Timeout: 10 * time.Second}})
		if err != nil {
			return fmt.Errorf("twilio client: %w", err)
		}
		sender = tw
	}
	validator := twilio.NewValidator(signToken, secondToken)

	cache := relay.NewDirectoryCache(store, relay.DefaultDirectoryTTL, nil)
	trackKey, err := persistedSecret(filepath.Join(cfg.StateDir, "track-key"), "")
	if err != nil {
		return err
	}
	// Photos and files: fetched from Twilio, kept under the state dir and
	// served back at /media/... with signed, expiring URLs.
	mediaSecret, err := persistedSecret(filepath.Join(cfg.StateDir, "media-secret"), "")
	if err != nil {
		return err
	}
	mediaStore := &media.Local{Dir: filepath.Join(cfg.StateDir, "media"), BaseURL: cfg.PublicBaseURL, Secret: []byte(mediaSecret),
		Fetcher: media.Fetcher{AccountSID: cfg.Twilio.AccountSID, AuthToken: cfg.Twilio.AuthToken, APIBase: cfg.Twilio.APIBaseURL}}
	svc := &relay.Service{Store: store, Sender: sender, Timer: timer, Audit: audit, Metrics: logMetrics{log}, Log: log,
		Media:       mediaStore,
		Directory:   cache,
		CallbackURL: httpapi.CallbackURL(cfg.PublicBaseURL),
		// The bolt store is locked to this process: leases of a previous run are dead.
		Solo: true}
	registry := &relay.Registry{Store: store, Audit: audit, Log: log, Changed: cache.Flush}
	api := httpapi.New(httpapi.Config{
		Service: svc, Store: store, Audit: audit, Version: version, Log: log, Registry: registry,
		Relays: store, Track: httpapi.NewTrackSigner(trackKey, cfg.PublicBaseURL),
		Export: func(ctx context.Context, w io.Writer, tenant string, since, until time.Time) error {
			recs, err := s3audit.Export(ctx, audit, tenant, since, until)
			if err != nil {
				return err
			}
			return s3audit.WriteJSON(w, recs)
		},
		// Both webhooks, /api/sms/incoming and the fallback, are checked against
		// PUBLIC_BASE_URL + their own path.
		Signature:   twilio.Verifier{Validator: validator, BaseURL: cfg.PublicBaseURL},
		Metrics:     logMetrics{log},
		Auth:        httpapi.Tokens{Admin: apiToken},
		CORSOrigins: cfg.CORSOrigins,
	})
	site := newSite(cfg.WebDir)
	if site.dir() == "" {
		// Built in the background: the API is up at once; / serves the
		// dashboard as soon as the build is there.
		go func() {
			if _, err := buildWeb(ctx); err != nil {
				log.Warn("dashboard not built: / answers a page that says so; run make web", "why", err.Error(), "env", config.EnvWebDir)
			}
		}()
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	// A tenant created through PUT /api/tenant gets its role token files too.
	mux.Handle("PUT /api/tenant", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.ServeHTTP(w, r)
		if ts, err := store.Tenants(context.WithoutCancel(r.Context())); err == nil {
			if _, err := writeRoleTokens(cfg.StateDir, apiToken, ts); err != nil {
				log.Warn("write role tokens", "err", err)
			}
		}
	}))
	mux.Handle("/", webHandler(site.dir))
	if sandbox != nil {
		mux.Handle("GET /dev/outbox", sandbox)
	}
	mux.Handle("GET /media/", mediaStore)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}

	tenants, err := store.Tenants(ctx)
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	var numbers []string
	for _, t := range tenants {
		numbers = append(numbers, t.Numbers...)
	}
	tokens, err := writeRoleTokens(cfg.StateDir, apiToken, tenants)
	if err != nil {
		return err
	}
	info := Info{WebhookURL: cfg.PublicBaseURL + "/api/sms/incoming", FallbackURL: cfg.PublicBaseURL + httpapi.FallbackPath,
		Listen: ln.Addr().String(), PID: os.Getpid(), Numbers: numbers}
	if sandbox != nil {
		info.SandboxAuth = signToken
	}
	if b, err := json.MarshalIndent(info, "", "  "); err == nil {
		_ = os.WriteFile(filepath.Join(cfg.StateDir, "dev.json"), b, 0o600)
	}
	banner(stdout, cfg, tenants, source+": "+applied, apiToken, signToken, sandbox != nil, len(timer.Pending()), tokens)

	go func() {
		// A tick that started finishes on its own budget, so a shutdown never
		// cuts a send off between Twilio accepting it and the relay recording it.
		handle := func(ctx context.Context, tk relay.Tick) error {
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			return svc.HandleTick(hctx, tk)
		}
		if err := timer.Run(ctx, handle); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("timer stopped", "err", err)
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Fprintln(stdout, "dispatch-relay dev server stopping")
	return srv.Shutdown(shutdown)
}

// otherServer describes the dev server holding the state directory's lock,
// from the dev.json it wrote: where it listens and its process id.
func otherServer(stateDir string) string {
	msg := "another dev server is running on state directory " + stateDir
	var info Info
	if b, err := os.ReadFile(filepath.Join(stateDir, "dev.json")); err == nil && json.Unmarshal(b, &info) == nil && info.Listen != "" {
		msg += fmt.Sprintf(" (listening on http://%s, pid %d)", info.Listen, info.PID)
	}
	return msg + "; stop it, or give this one its own " + config.EnvStateDir
}

// logMetrics writes metric counts to the log in the dev server.
type logMetrics struct{ log *slog.Logger }

func (m logMetrics) Count(ctx context.Context, name, tenantID string, n int) {
	m.log.DebugContext(ctx, "metric", "name", name, "tenant", tenantID, "value", n)
}

// persistedSecret returns the secret stored at path, creating it on first
// use, so tokens survive restarts of the same state dir.
func persistedSecret(path, prefix string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	s := prefix + hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("store secret: %w", err)
	}
	return s, nil
}

func banner(w io.Writer, cfg config.Dev, tenants []relay.Tenant, data, apiToken, signToken string, sandbox bool, pending int, tokens string) {
	fmt.Fprintf(w, "\ndispatch-relay dev server %s\n", version)
	fmt.Fprintf(w, "  listening      http://%s\n", cfg.Addr)
	fmt.Fprintf(w, "  Twilio webhook %s/api/sms/incoming  (POST, signed)\n", cfg.PublicBaseURL)
	fmt.Fprintf(w, "  fallback URL   %s%s  (POST, signed; Twilio's Fallback URL)\n", cfg.PublicBaseURL, httpapi.FallbackPath)
	fmt.Fprintf(w, "  status cb      %s/api/sms/delivery\n", cfg.PublicBaseURL)
	fmt.Fprintf(w, "  data           %s\n  state          %s (%d pending timers)\n", data, cfg.StateDir, pending)
	if sandbox {
		fmt.Fprintf(w, "  twilio         SANDBOX: texts are printed and listed at GET /dev/outbox\n")
		fmt.Fprintf(w, "  sandbox token  %s  (signs X-Twilio-Signature)\n", signToken)
	} else {
		fmt.Fprintf(w, "  twilio         %s as %s\n", cfg.Twilio.APIBaseURL, cfg.Twilio.AccountSID)
	}
	fmt.Fprintf(w, "  admin token    %s  (Authorization: Bearer, all tenants; ?tenant=ID on the directory routes)\n", apiToken)
	for _, t := range tenants {
		fmt.Fprintf(w, "  tenant %-8s %s  numbers %s  token %s\n", t.ID, t.Name, strings.Join(t.Numbers, ","), httpapi.TenantToken(apiToken, t.ID))
		for _, r := range httpapi.Roles {
			fmt.Fprintf(w, "    %-12s %s\n", r, httpapi.RoleToken(apiToken, t.ID, r))
		}
	}
	fmt.Fprintf(w, "  role tokens    %s/<tenant>-<role>\n", tokens)
	fmt.Fprintf(w, "  API            %s/api/openapi.json\n", cfg.PublicBaseURL)
	for _, t := range tenants {
		// The token travels in the fragment, which browsers never send to the server.
		fmt.Fprintf(w, "  dashboard      %s/#access_token=%s  (%s; signs in)\n", cfg.PublicBaseURL, httpapi.TenantToken(apiToken, t.ID), t.ID)
	}
	fmt.Fprintf(w, "  try            make sms FROM=+16195551234 BODY=\"need a pickup\"\n\n")
}
