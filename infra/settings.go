package infra

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// Context keys read from cdk.json (or `cdk synth -c key=value`). docs/deploy.md
// describes each one; cdk.json carries example values so a clean clone synthesizes.
const (
	ctxDomainName         = "domainName"
	ctxHostedZoneID       = "hostedZoneId"
	ctxHostedZoneName     = "hostedZoneName"
	ctxCertificateARN     = "certificateArn"
	ctxCORSOrigins        = "corsOrigins"
	ctxJWTIssuer          = "jwtIssuer"
	ctxJWTAudience        = "jwtAudience"
	ctxTenantClaim        = "tenantClaim"
	ctxCognitoMFA         = "cognitoMfa"
	ctxObjectLockDays     = "auditObjectLockDays"
	ctxLogRetentionDays   = "logRetentionDays"
	ctxAlarmEmail         = "alarmEmail"
	ctxTwilioSecretName   = "twilioSecretName"
	ctxThrottleRate       = "apiThrottleRate"
	ctxThrottleBurst      = "apiThrottleBurst"
	ctxLambdaAssetDir     = "lambdaAssetDir"
	defaultLambdaAssetDir = "build/lambda"
	ctxStackName          = "stackName"
	ctxWebACLArn          = "webAclArn"
	ctxTwilioRate         = "twilioThrottleRate"
	ctxTwilioBurst        = "twilioThrottleBurst"
	ctxAPIConcurrency     = "apiReservedConcurrency"
	ctxTracing            = "tracing"
	ctxSiteAssetDir       = "siteAssetDir"
	defaultSiteAssetDir   = "build/web"
)

// Settings is everything the stack takes from context, validated. Paths are absolute.
type Settings struct {
	// DomainName is the public host name: CloudFront alias, Twilio's webhook host, PUBLIC_BASE_URL.
	DomainName string
	// HostedZoneID and HostedZoneName identify the Route53 zone that holds DomainName (no lookup).
	HostedZoneID, HostedZoneName string
	// CertificateARN is an ACM certificate in us-east-1 covering DomainName.
	CertificateARN string
	// CORSOrigins is the dashboard origin allow-list shared by the HTTP API and RELAY_CORS_ORIGINS.
	CORSOrigins []string
	// JWTIssuer and JWTAudience select an external identity provider; empty creates a Cognito pool.
	JWTIssuer   string
	JWTAudience []string
	// TenantClaim is the JWT claim holding the caller's tenant id.
	TenantClaim string
	// CognitoMFA is "required" or "optional" (TOTP only) for the stack's user pool.
	CognitoMFA string
	// ObjectLockDays turns on S3 Object Lock (compliance mode) for the audit bucket when > 0.
	ObjectLockDays int
	// LogRetentionDays applies to every log group the stack creates.
	LogRetentionDays int
	// AlarmEmail, when set, subscribes an address to the alarm topic.
	AlarmEmail string
	// TwilioSecretName imports an existing secret by name instead of creating an empty one.
	TwilioSecretName string
	// ThrottleRate (requests/s) and ThrottleBurst cap the API's default route.
	ThrottleRate, ThrottleBurst float64
	// TwilioRate (requests/s) and TwilioBurst are the Twilio webhook routes' own throttle,
	// so other callers exhausting the default route cannot starve Twilio.
	TwilioRate, TwilioBurst float64
	// StackName is the CloudFormation stack name; account-wide names start with it.
	StackName string
	// WebACLArn attaches an existing CLOUDFRONT-scope WAF web ACL; empty creates one
	// (which CloudFormation can only do in us-east-1).
	WebACLArn string
	// APIConcurrency is the API function's reserved concurrency (0: none reserved).
	APIConcurrency int
	// Tracing turns on AWS X-Ray active tracing for the functions.
	Tracing bool
	// LambdaAssetDir holds <function>/bootstrap for every function (the Makefile's build/lambda).
	LambdaAssetDir string
	// SiteAssetDir is the built dashboard and tracking page (the Makefile's build/web).
	SiteAssetDir string
	// RootDir is the repository root (where cdk.json lives).
	RootDir string
}

// PublicBaseURL is the URL Twilio signs and customers open.
func (s Settings) PublicBaseURL() string { return "https://" + s.DomainName }

// ExternalIssuer reports whether JWTs come from an identity provider outside the stack.
func (s Settings) ExternalIssuer() bool { return s.JWTIssuer != "" }

// CognitoTenantAttribute is the user pool custom attribute behind TenantClaim ("custom:<name>").
func (s Settings) CognitoTenantAttribute() string {
	return strings.TrimPrefix(s.TenantClaim, "custom:")
}

// SiteDir is the static site (the dashboard and the customer tracking page) as
// `make web` builds it from web/.
func (s Settings) SiteDir() string { return s.SiteAssetDir }

// CognitoDomainPrefix is the Cognito hosted UI's domain prefix
// (https://<prefix>.auth.<region>.amazoncognito.com), derived from DomainName:
// lowercase letters, digits and hyphens, without the words Cognito reserves.
func (s Settings) CognitoDomainPrefix() string {
	p := strings.ToLower(s.DomainName)
	p = regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(p, "-")
	for _, w := range []string{"aws", "amazon", "cognito"} {
		p = strings.ReplaceAll(p, w, "x")
	}
	p = "relay-" + strings.Trim(p, "-")
	if len(p) > 63 {
		p = strings.TrimRight(p[:63], "-")
	}
	return p
}

// TrackRewriteFile is the CloudFront Function source, deployed byte for byte.
func (s Settings) TrackRewriteFile() string {
	return filepath.Join(s.RootDir, "cloudfront-functions", "track-rewrite.js")
}

// retentionDays maps the day counts CloudWatch Logs accepts to the CDK enum.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
	5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK,
	14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS,
	180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS,
}

// LogRetention is the CDK value for LogRetentionDays (validated by LoadSettings).
func (s Settings) LogRetention() awslogs.RetentionDays { return retentionDays[s.LogRetentionDays] }

var (
	hostnameRE     = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	hostedZoneIDRE = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)
	// CloudFront only accepts certificates from us-east-1.
	certificateRE = regexp.MustCompile(`^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$`)
	// Cognito custom attribute names: up to 20 characters.
	cognitoClaimRE = regexp.MustCompile(`^custom:[A-Za-z0-9_]{1,20}$`)
	emailRE        = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	// Short enough that "<stack>-<region>-<name>" fits CloudFront's 64-character function names.
	stackNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,29}$`)
	webACLRE    = regexp.MustCompile(`^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global/webacl/[A-Za-z0-9_-]+/[0-9a-f-]{36}$`)
)

// DefaultStackName is the stack name when the stackName context is not set.
const DefaultStackName = "DispatchRelay"

// contextGetter is the part of a construct node LoadSettings needs.
type contextGetter func(key string) any

// nodeContext reads context from a construct tree (cdk.json, -c flags, CDK_CONTEXT_JSON).
func nodeContext(scope constructs.Construct) contextGetter {
	return func(key string) any { return scope.Node().TryGetContext(&key) }
}

// LoadSettings reads and validates the stack's context, reporting every problem at once.
// rootDir resolves relative paths.
func LoadSettings(get contextGetter, rootDir string) (Settings, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("context %q: %s", key, fmt.Sprintf(format, args...)))
	}
	str := func(key, def string) string {
		switch v := get(key).(type) {
		case nil:
			return def
		case string:
			return strings.TrimSpace(v)
		default:
			bad(key, "want a string, got %T", v)
			return def
		}
	}
	list := func(key string) []string {
		var out []string
		switch v := get(key).(type) {
		case nil:
		case string: // -c key=a,b arrives as one string
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
		case []any:
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					bad(key, "want a list of strings, got element %T", e)
					continue
				}
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
		default:
			bad(key, "want a list of strings or a comma-separated string, got %T", v)
		}
		return out
	}
	num := func(key string, def float64) float64 {
		switch v := get(key).(type) {
		case nil:
			return def
		case float64:
			return v
		case int:
			return float64(v)
		case json.Number:
			f, err := v.Float64()
			if err != nil {
				bad(key, "%v", err)
			}
			return f
		case string: // -c key=30
			if strings.TrimSpace(v) == "" {
				return def
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				bad(key, "want a number, got %q", v)
				return def
			}
			return f
		default:
			bad(key, "want a number, got %T", v)
			return def
		}
	}
	boolean := func(key string, def bool) bool {
		switch v := get(key).(type) {
		case nil:
			return def
		case bool:
			return v
		case string: // -c key=true
			if strings.TrimSpace(v) == "" {
				return def
			}
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				bad(key, "want true or false, got %q", v)
			}
			return b
		default:
			bad(key, "want true or false, got %T", v)
			return def
		}
	}
	whole := func(key string, def int) int {
		f := num(key, float64(def))
		if f != float64(int(f)) {
			bad(key, "want a whole number, got %v", f)
		}
		return int(f)
	}

	s := Settings{
		DomainName:       strings.ToLower(str(ctxDomainName, "")),
		HostedZoneID:     str(ctxHostedZoneID, ""),
		HostedZoneName:   strings.TrimSuffix(strings.ToLower(str(ctxHostedZoneName, "")), "."),
		CertificateARN:   str(ctxCertificateARN, ""),
		CORSOrigins:      list(ctxCORSOrigins),
		JWTIssuer:        str(ctxJWTIssuer, ""),
		JWTAudience:      list(ctxJWTAudience),
		TenantClaim:      str(ctxTenantClaim, config.DefaultTenantClaim),
		CognitoMFA:       strings.ToLower(str(ctxCognitoMFA, "required")),
		ObjectLockDays:   whole(ctxObjectLockDays, 0),
		LogRetentionDays: whole(ctxLogRetentionDays, 30),
		AlarmEmail:       str(ctxAlarmEmail, ""),
		TwilioSecretName: str(ctxTwilioSecretName, ""),
		ThrottleRate:     num(ctxThrottleRate, 50),
		ThrottleBurst:    num(ctxThrottleBurst, 100),
		TwilioRate:       num(ctxTwilioRate, 100),
		TwilioBurst:      num(ctxTwilioBurst, 200),
		StackName:        str(ctxStackName, DefaultStackName),
		WebACLArn:        str(ctxWebACLArn, ""),
		APIConcurrency:   whole(ctxAPIConcurrency, 20),
		Tracing:          boolean(ctxTracing, false),
		LambdaAssetDir:   str(ctxLambdaAssetDir, defaultLambdaAssetDir),
		SiteAssetDir:     str(ctxSiteAssetDir, defaultSiteAssetDir),
		RootDir:          rootDir,
	}
	if !filepath.IsAbs(s.LambdaAssetDir) {
		s.LambdaAssetDir = filepath.Join(rootDir, s.LambdaAssetDir)
	}
	if !filepath.IsAbs(s.SiteAssetDir) {
		s.SiteAssetDir = filepath.Join(rootDir, s.SiteAssetDir)
	}

	if !hostnameRE.MatchString(s.DomainName) {
		bad(ctxDomainName, "want a host name like relay.example.com, got %q", s.DomainName)
	}
	if !hostnameRE.MatchString(s.HostedZoneName) {
		bad(ctxHostedZoneName, "want a zone name like example.com, got %q", s.HostedZoneName)
	} else if s.DomainName != s.HostedZoneName && !strings.HasSuffix(s.DomainName, "."+s.HostedZoneName) {
		bad(ctxDomainName, "%q is not inside hosted zone %q", s.DomainName, s.HostedZoneName)
	}
	if !hostedZoneIDRE.MatchString(s.HostedZoneID) {
		bad(ctxHostedZoneID, "want a Route53 zone id like Z0123456789ABCDEFGHIJ, got %q", s.HostedZoneID)
	}
	if !certificateRE.MatchString(s.CertificateARN) {
		bad(ctxCertificateARN, "want an ACM certificate ARN in us-east-1 (CloudFront requires it), got %q", s.CertificateARN)
	}
	if len(s.CORSOrigins) == 0 {
		bad(ctxCORSOrigins, "want at least one origin (the dashboard, e.g. https://%s)", s.DomainName)
	}
	for _, o := range s.CORSOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			bad(ctxCORSOrigins, "want https://host[:port] origins, got %q", o)
		}
	}
	if s.ExternalIssuer() {
		if u, err := url.Parse(s.JWTIssuer); err != nil || u.Scheme != "https" || u.Host == "" {
			bad(ctxJWTIssuer, "want an https issuer URL, got %q", s.JWTIssuer)
		}
		if len(s.JWTAudience) == 0 {
			bad(ctxJWTAudience, "required with %s", ctxJWTIssuer)
		}
	} else if len(s.JWTAudience) > 0 {
		bad(ctxJWTAudience, "only used with %s; the stack's Cognito client is the audience otherwise", ctxJWTIssuer)
	}
	if s.TenantClaim == "" {
		bad(ctxTenantClaim, "must not be empty")
	} else if !s.ExternalIssuer() && !cognitoClaimRE.MatchString(s.TenantClaim) {
		bad(ctxTenantClaim, "with the stack's Cognito pool the claim is a custom attribute like custom:tenant_id, got %q", s.TenantClaim)
	}
	if s.CognitoMFA != "required" && s.CognitoMFA != "optional" {
		bad(ctxCognitoMFA, "want required or optional, got %q", s.CognitoMFA)
	}
	if s.ObjectLockDays < 0 || s.ObjectLockDays > 36500 {
		bad(ctxObjectLockDays, "want 0 (off) to 36500 days, got %d", s.ObjectLockDays)
	}
	if _, ok := retentionDays[s.LogRetentionDays]; !ok {
		bad(ctxLogRetentionDays, "CloudWatch Logs does not accept %d days (try 7, 14, 30, 90, 365)", s.LogRetentionDays)
	}
	if s.AlarmEmail != "" && !emailRE.MatchString(s.AlarmEmail) {
		bad(ctxAlarmEmail, "want an email address, got %q", s.AlarmEmail)
	}
	if s.ThrottleRate <= 0 || s.ThrottleBurst < 1 {
		bad(ctxThrottleRate, "want a positive rate and a burst of at least 1, got %v/%v", s.ThrottleRate, s.ThrottleBurst)
	}
	if s.TwilioRate <= 0 || s.TwilioBurst < 1 {
		bad(ctxTwilioRate, "want a positive rate and a burst of at least 1, got %v/%v", s.TwilioRate, s.TwilioBurst)
	}
	if !stackNameRE.MatchString(s.StackName) {
		bad(ctxStackName, "want a letter then up to 29 letters, digits or hyphens, got %q", s.StackName)
	}
	if s.WebACLArn != "" && !webACLRE.MatchString(s.WebACLArn) {
		bad(ctxWebACLArn, "want the ARN of a CLOUDFRONT-scope web ACL (arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>), got %q", s.WebACLArn)
	}
	if s.APIConcurrency < 0 || s.APIConcurrency > 1000 {
		bad(ctxAPIConcurrency, "want 0 (none reserved) to 1000, got %d", s.APIConcurrency)
	}
	for _, name := range config.Functions {
		p := filepath.Join(s.LambdaAssetDir, name, "bootstrap")
		if _, err := os.Stat(p); err != nil {
			bad(ctxLambdaAssetDir, "%s is missing: run `make build` first (cdk.json's app command does)", p)
		}
	}
	if _, err := os.Stat(filepath.Join(s.SiteAssetDir, "index.html")); err != nil {
		bad(ctxSiteAssetDir, "%s is missing: run `make web` first", filepath.Join(s.SiteAssetDir, "index.html"))
	}
	return s, errors.Join(errs...)
}
