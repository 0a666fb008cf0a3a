package infra

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

func TestDistribution(t *testing.T) {
	s := mainStack(t)
	d := s.one(t, "AWS::CloudFront::Distribution", "Distribution")
	cfg := get(d.Props, "DistributionConfig")
	for _, c := range []struct{ what, got, want string }{
		{"aliases", render(get(cfg, "Aliases")), "[relay.example.com]"},
		{"certificate", render(get(cfg, "ViewerCertificate", "AcmCertificateArn")), "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"},
		{"TLS minimum", render(get(cfg, "ViewerCertificate", "MinimumProtocolVersion")), "TLSv1.2_2021"},
		{"SNI", render(get(cfg, "ViewerCertificate", "SslSupportMethod")), "sni-only"},
		{"IPv6", render(get(cfg, "IPV6Enabled")), "true"},
		{"root object", render(get(cfg, "DefaultRootObject")), "index.html"},
		{"logging", render(get(cfg, "Logging")), `{"Bucket":{"Fn::GetAtt":["` + s.one(t, "AWS::S3::Bucket", "AccessLogBucket").ID + `","RegionalDomainName"]},"Prefix":"cloudfront/"}`},
		// Default behaviour: the static site, HTTPS, rewrite on viewer request, security headers.
		{"default viewer protocol", render(get(cfg, "DefaultCacheBehavior", "ViewerProtocolPolicy")), "redirect-to-https"},
		{"default methods", render(get(cfg, "DefaultCacheBehavior", "AllowedMethods")), "[GET,HEAD]"},
		{"default function", render(get(cfg, "DefaultCacheBehavior", "FunctionAssociations")), `[{"EventType":"viewer-request","FunctionARN":{"Fn::GetAtt":["` + s.one(t, "AWS::CloudFront::Function", "TrackRewriteFunction").ID + `","FunctionARN"]}}]`},
		{"default headers policy", render(get(cfg, "DefaultCacheBehavior", "ResponseHeadersPolicyId")), "<SecurityHeadersPolicy>"},
	} {
		if c.got != c.want {
			t.Errorf("distribution %s: got %s, want %s", c.what, c.got, c.want)
		}
	}

	// The default origin is the site bucket through Origin Access Control.
	origins := map[string]any{}
	for _, o := range asList(get(cfg, "Origins")) {
		origins[get(o, "Id").(string)] = o
	}
	site := origins[get(cfg, "DefaultCacheBehavior", "TargetOriginId").(string)]
	if got := render(get(site, "DomainName")); got != "<SiteBucket.RegionalDomainName>" {
		t.Errorf("default origin: got %s, want the site bucket", got)
	}
	if got := render(get(site, "OriginAccessControlId")); got != "<SiteOriginAccessControl.Id>" {
		t.Errorf("site origin access control: got %s", got)
	}
	oac := s.resources("AWS::CloudFront::OriginAccessControl")
	if len(oac) != 1 || render(get(oac[0].Props, "OriginAccessControlConfig", "SigningBehavior")) != "always" {
		t.Errorf("want one OAC signing always, got %v", oac)
	}

	// /api/* goes to the HTTP API: every method, no caching, Twilio headers and query string forwarded.
	behaviours := asList(get(cfg, "CacheBehaviors"))
	if len(behaviours) != 1 || get(behaviours[0], "PathPattern") != APIPathPattern {
		t.Fatalf("cache behaviours: got %s, want exactly %s", render(behaviours), APIPathPattern)
	}
	api := behaviours[0]
	for _, c := range []struct{ what, got, want string }{
		{"api methods", render(get(api, "AllowedMethods")), "[GET,HEAD,OPTIONS,PUT,PATCH,POST,DELETE]"},
		{"api viewer protocol", render(get(api, "ViewerProtocolPolicy")), "https-only"},
		{"api cache policy", render(get(api, "CachePolicyId")), "<ApiCachePolicy>"},
		{"api origin request policy", render(get(api, "OriginRequestPolicyId")), "<ApiOriginRequestPolicy>"},
		{"api headers policy", render(get(api, "ResponseHeadersPolicyId")), "<SecurityHeadersPolicy>"},
		{"api origin", render(get(origins[get(api, "TargetOriginId").(string)], "DomainName")), "<HttpApi>.execute-api.<AWS::Region>.<AWS::URLSuffix>"},
		{"api origin TLS", render(get(origins[get(api, "TargetOriginId").(string)], "CustomOriginConfig")), `{"OriginProtocolPolicy":"https-only","OriginReadTimeout":30,"OriginSSLProtocols":["TLSv1.2"]}`},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %s, want %s", c.what, c.got, c.want)
		}
	}

	cache := s.one(t, "AWS::CloudFront::CachePolicy", "ApiCachePolicy")
	cc := get(cache.Props, "CachePolicyConfig")
	if render(get(cc, "DefaultTTL")) != "0" || render(get(cc, "MinTTL")) != "0" || render(get(cc, "MaxTTL")) != "1" {
		t.Errorf("api cache TTLs: got default %s min %s max %s, want 0/0/1", render(get(cc, "DefaultTTL")), render(get(cc, "MinTTL")), render(get(cc, "MaxTTL")))
	}
	if got := render(get(cc, "ParametersInCacheKeyAndForwardedToOrigin", "HeadersConfig", "Headers")); got != "[Authorization]" {
		t.Errorf("api cache policy headers: got %s, want [Authorization] (the JWT)", got)
	}

	orp := get(s.one(t, "AWS::CloudFront::OriginRequestPolicy", "ApiOriginRequestPolicy").Props, "OriginRequestPolicyConfig")
	if got := render(get(orp, "QueryStringsConfig", "QueryStringBehavior")); got != "all" {
		t.Errorf("origin request query strings: got %s, want all", got)
	}
	var headers []string
	for _, h := range asList(get(orp, "HeadersConfig", "Headers")) {
		headers = append(headers, strings.ToLower(h.(string)))
	}
	for _, h := range append(append([]string{}, TwilioHeaders...), "Content-Type", "Origin") {
		if !contains(headers, strings.ToLower(h)) {
			t.Errorf("origin request policy does not forward %s (got %v)", h, headers)
		}
	}
	for _, h := range []string{"host", strings.ToLower(config.OriginVerifyHeader), "authorization"} {
		if contains(headers, h) {
			t.Errorf("origin request policy forwards %s", h)
		}
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func TestSecurityHeaders(t *testing.T) {
	s := mainStack(t)
	p := s.one(t, "AWS::CloudFront::ResponseHeadersPolicy", "SecurityHeadersPolicy")
	sec := get(p.Props, "ResponseHeadersPolicyConfig", "SecurityHeadersConfig")
	for _, c := range []struct{ what, got, want string }{
		{"HSTS", render(get(sec, "StrictTransportSecurity")), `{"AccessControlMaxAgeSec":63072000,"IncludeSubdomains":true,"Override":true}`},
		{"nosniff", render(get(sec, "ContentTypeOptions")), `{"Override":true}`},
		{"frame options", render(get(sec, "FrameOptions")), `{"FrameOption":"DENY","Override":true}`},
		{"referrer", render(get(sec, "ReferrerPolicy")), `{"Override":true,"ReferrerPolicy":"strict-origin-when-cross-origin"}`},
		{"xss", render(get(sec, "XSSProtection")), `{"Override":true,"Protection":false}`},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %s, want %s", c.what, c.got, c.want)
		}
	}
	csp := render(get(sec, "ContentSecurityPolicy", "ContentSecurityPolicy"))
	for _, d := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self';", "img-src 'self';", "frame-ancestors 'none'",
		"connect-src 'self' https://<UserPoolHostedUiDomain>.auth.<AWS::Region>.amazoncognito.com;"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
}

func TestTrackRewriteDeployedVerbatim(t *testing.T) {
	s := mainStack(t)
	fn := s.one(t, "AWS::CloudFront::Function", "TrackRewriteFunction")
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "cloudfront-functions", "track-rewrite.js"))
	if err != nil {
		t.Fatal(err)
	}
	if fn.Props["FunctionCode"] != string(src) {
		t.Errorf("deployed function code differs from cloudfront-functions/track-rewrite.js")
	}
	if got := render(get(fn.Props, "FunctionConfig", "Runtime")); got != "cloudfront-js-2.0" {
		t.Errorf("runtime: got %s, want cloudfront-js-2.0", got)
	}
	if fn.Props["AutoPublish"] != true {
		t.Errorf("function not published")
	}
}

func TestSiteDeployment(t *testing.T) {
	s := mainStack(t)
	cr := s.resources("Custom::CDKBucketDeployment")
	if len(cr) != 1 {
		t.Fatalf("got %d site deployments, want 1", len(cr))
	}
	for _, c := range []struct{ what, got, want string }{
		{"destination", render(cr[0].Props["DestinationBucketName"]), "<SiteBucket>"},
		{"invalidation", render(cr[0].Props["DistributionId"]), "<Distribution>"},
		{"paths", render(cr[0].Props["DistributionPaths"]), "[/*]"},
		{"cache-control", render(get(cr[0].Props, "SystemMetadata", "cache-control")), "public, max-age=300"},
		{"runs after its policy", render(cr[0].Raw["DependsOn"]), "[" + s.one(t, "AWS::IAM::Policy", "SiteDeploymentPolicy").ID + "]"},
	} {
		if c.got != c.want {
			t.Errorf("site deployment %s: got %s, want %s", c.what, c.got, c.want)
		}
	}
	// Only CloudFront (this distribution) may read the site bucket.
	pol := s.one(t, "AWS::S3::BucketPolicy", "SiteBucketPolicy")
	var allows []statement
	for _, st := range statements(pol.Props["PolicyDocument"]) {
		if st.Effect == "Allow" {
			allows = append(allows, st)
		}
	}
	if len(allows) != 1 || allows[0].Principals != `{"Service":"cloudfront.amazonaws.com"}` || strings.Join(allows[0].Actions, ",") != "s3:GetObject" ||
		render(allows[0].Condition) != `{"StringEquals":{"AWS:SourceArn":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":cloudfront::",{"Ref":"AWS::AccountId"},":distribution/",{"Ref":"`+s.one(t, "AWS::CloudFront::Distribution", "Distribution").ID+`"}]]}}}` {
		t.Errorf("site bucket policy allows: %+v", allows)
	}
}

func TestDNSAliases(t *testing.T) {
	s := mainStack(t)
	records := s.resources("AWS::Route53::RecordSet")
	types := map[string]bool{}
	for _, r := range records {
		types[render(r.Props["Type"])] = true
		for _, c := range []struct{ what, got, want string }{
			{"zone", render(r.Props["HostedZoneId"]), "Z0123456789EXAMPLE"},
			{"name", render(r.Props["Name"]), "relay.example.com."},
			{"target", render(get(r.Props, "AliasTarget", "DNSName")), "<Distribution.DomainName>"},
		} {
			if c.got != c.want {
				t.Errorf("%s %s: got %s, want %s", r.ID, c.what, c.got, c.want)
			}
		}
	}
	if len(records) != 2 || !types["A"] || !types["AAAA"] {
		t.Errorf("records: got %d of types %v, want A and AAAA", len(records), types)
	}
}
