package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
)

// Dev is the dev server's configuration.
type Dev struct {
	Addr          string
	DataFile      string // "" means the embedded QuickDumpNow demo
	StateDir      string
	APIToken      string // "" means generate one
	PublicBaseURL string
	CORSOrigins   []string
	LogLevel      slog.Level
	Twilio        Twilio
	// WebDir holds the built dashboard (make web); "" means look for
	// build/web in the working directory and the repository above it.
	WebDir string
}

// Twilio is how to reach Twilio; an empty AccountSID means the sandbox.
type Twilio struct {
	AccountSID         string
	AuthToken          string
	AuthTokenSecondary string
	APIBaseURL         string
}

// Sandbox reports whether no Twilio credentials are configured.
func (t Twilio) Sandbox() bool { return t.AccountSID == "" && t.AuthToken == "" }

// Lambda is the configuration of the functions deployed on AWS. Secrets
// arrive as ARNs and are read once per cold start.
type Lambda struct {
	PublicBaseURL         string
	CORSOrigins           []string
	LogLevel              slog.Level
	TableName             string
	AuditBucket           string
	MediaBucket           string
	TimerQueueURL         string
	TwilioSecretARN       string
	OriginVerifySecretARN string
	TenantClaim           string
	TwilioAPIBaseURL      string
	// DashboardSignIn is the dashboard's sign-in configuration (a JSON object), or "".
	DashboardSignIn string
}

// problems collects every configuration error so one run reports them all.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New("configuration: " + strings.Join(p, "; "))
}

// LoadDev reads the dev server's configuration from getenv.
func LoadDev(getenv func(string) string) (Dev, error) {
	var p problems
	c := Dev{
		Addr:          orDefault(getenv(EnvAddr), DefaultAddr),
		DataFile:      strings.TrimSpace(getenv(EnvDataFile)),
		StateDir:      orDefault(getenv(EnvStateDir), ".state"),
		APIToken:      strings.TrimSpace(getenv(EnvAPIToken)),
		PublicBaseURL: strings.TrimRight(strings.TrimSpace(getenv(EnvPublicBaseURL)), "/"),
		CORSOrigins:   splitList(getenv(EnvCORSOrigins)),
		WebDir:        strings.TrimSpace(getenv(EnvWebDir)),
		Twilio: Twilio{
			AccountSID:         strings.TrimSpace(getenv(EnvTwilioAccountSID)),
			AuthToken:          strings.TrimSpace(getenv(EnvTwilioAuthToken)),
			AuthTokenSecondary: strings.TrimSpace(getenv(EnvTwilioAuthTokenSecondary)),
			APIBaseURL:         strings.TrimRight(orDefault(getenv(EnvTwilioAPIBaseURL), DefaultTwilioBaseURL), "/"),
		},
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		p.add("%s %q is not host:port", EnvAddr, c.Addr)
	}
	if c.PublicBaseURL == "" {
		c.PublicBaseURL = "http://" + c.Addr
	}
	checkURL(&p, EnvPublicBaseURL, c.PublicBaseURL)
	checkURL(&p, EnvTwilioAPIBaseURL, c.Twilio.APIBaseURL)
	checkOrigins(&p, c.CORSOrigins)
	if (c.Twilio.AccountSID == "") != (c.Twilio.AuthToken == "") {
		p.add("set both %s and %s, or neither for the sandbox", EnvTwilioAccountSID, EnvTwilioAuthToken)
	}
	if c.Twilio.AccountSID != "" && !strings.HasPrefix(c.Twilio.AccountSID, "AC") {
		p.add("%s must start with AC", EnvTwilioAccountSID)
	}
	if c.APIToken != "" && len(c.APIToken) < 16 {
		p.add("%s must be at least 16 characters", EnvAPIToken)
	}
	c.LogLevel = parseLevel(&p, getenv(EnvLogLevel))
	return c, p.err()
}

// LoadLambda reads a deployed function's configuration; names lists the
// variables that function needs (APIEnv or EscalatorEnv), each required but
// the CORS origins and the log level.
func LoadLambda(getenv func(string) string, names []string) (Lambda, error) {
	var p problems
	need := map[string]bool{}
	for _, n := range names {
		need[n] = true
	}
	get := func(name string) string {
		v := strings.TrimSpace(getenv(name))
		if v == "" && need[name] && name != EnvCORSOrigins && name != EnvLogLevel && name != EnvDashboardSignIn && name != EnvMediaBucket {
			p.add("%s is required", name)
		}
		return v
	}
	c := Lambda{
		PublicBaseURL:         strings.TrimRight(get(EnvPublicBaseURL), "/"),
		CORSOrigins:           splitList(get(EnvCORSOrigins)),
		TableName:             get(EnvTableName),
		AuditBucket:           get(EnvAuditBucket),
		MediaBucket:           get(EnvMediaBucket),
		TimerQueueURL:         get(EnvTimerQueueURL),
		TwilioSecretARN:       get(EnvTwilioSecretARN),
		OriginVerifySecretARN: get(EnvOriginVerifySecretARN),
		TenantClaim:           orDefault(get(EnvTenantClaim), DefaultTenantClaim),
		TwilioAPIBaseURL:      strings.TrimRight(orDefault(getenv(EnvTwilioAPIBaseURL), DefaultTwilioBaseURL), "/"),
		DashboardSignIn:       get(EnvDashboardSignIn),
	}
	if c.DashboardSignIn != "" {
		var obj map[string]any
		if err := json.Unmarshal([]byte(c.DashboardSignIn), &obj); err != nil {
			p.add("%s must be a JSON object", EnvDashboardSignIn)
		}
	}
	if c.PublicBaseURL != "" {
		checkURL(&p, EnvPublicBaseURL, c.PublicBaseURL)
	}
	for _, arn := range []struct{ name, v string }{{EnvTwilioSecretARN, c.TwilioSecretARN}, {EnvOriginVerifySecretARN, c.OriginVerifySecretARN}} {
		if arn.v != "" && !strings.HasPrefix(arn.v, "arn:") {
			p.add("%s must be a secret ARN, not a value", arn.name)
		}
	}
	checkOrigins(&p, c.CORSOrigins)
	c.LogLevel = parseLevel(&p, getenv(EnvLogLevel))
	return c, p.err()
}

func orDefault(v, d string) string {
	if v = strings.TrimSpace(v); v == "" {
		return d
	}
	return v
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimRight(strings.TrimSpace(f), "/"); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func checkURL(p *problems, name, v string) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("%s %q is not an http(s) URL", name, v)
	}
}

func checkOrigins(p *problems, origins []string) {
	for _, o := range origins {
		if o == "*" {
			p.add("%s may not contain * (the dashboard sends credentials)", EnvCORSOrigins)
			continue
		}
		checkURL(p, EnvCORSOrigins, o)
	}
}

func parseLevel(p *problems, s string) slog.Level {
	var l slog.Level
	if s == "" {
		return slog.LevelInfo
	}
	if err := l.UnmarshalText([]byte(s)); err != nil {
		p.add("%s %q is not debug, info, warn or error", EnvLogLevel, s)
	}
	return l
}
