package infra

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// APIPathPattern is the CloudFront behaviour routed to the HTTP API.
const APIPathPattern = "/api/*"

// TwilioHeaders are the request headers Twilio sends that the API reads
// (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides and
// https://www.twilio.com/docs/usage/security#validating-requests).
var TwilioHeaders = []string{"X-Twilio-Signature", "I-Twilio-Idempotency-Token", "X-Home-Region"}

// APIForwardedHeaders are the viewer headers the /api/* origin request policy forwards:
// Twilio's, the body's content type, and the CORS preflight headers API Gateway answers.
// Host is never forwarded (API Gateway routes on its own host name); Authorization travels
// in the cache policy, the only place CloudFront allows it.
var APIForwardedHeaders = append(append([]string{}, TwilioHeaders...),
	"Content-Type", "Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")

// Edge is the CloudFront distribution, the static site behind it and the /track rewrite.
type Edge struct {
	Distribution     awscloudfront.Distribution
	SiteBucket       awss3.Bucket
	TrackRewrite     awscloudfront.Function
	SecurityHeaders  awscloudfront.ResponseHeadersPolicy
	APICachePolicy   awscloudfront.CachePolicy
	APIOriginRequest awscloudfront.OriginRequestPolicy
	SiteDeployment   awss3deployment.BucketDeployment
	SiteDeployerRole awsiam.Role
	SiteDeployerLogs awslogs.LogGroup
	WAF              *WAF
}

func newEdge(scope constructs.Construct, s Settings, logs *AccessLogs, api *API, secrets *Secrets, auth *Auth) *Edge {
	e := &Edge{}
	e.SiteBucket = awss3.NewBucket(scope, jsii.String("SiteBucket"), &awss3.BucketProps{
		// Only CloudFront reads it, through Origin Access Control; never public, TLS only.
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		// Server access logs: who changed the site.
		ServerAccessLogsBucket: logs.Bucket,
		ServerAccessLogsPrefix: jsii.String(accessLogPrefixSite),
		// CloudFormation cannot delete a non-empty bucket; keep it rather than fail a stack delete.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})

	// /track and /track/ → /track/index.html. The file is deployed byte for byte and
	// tested by `node --test cloudfront-functions/`.
	e.TrackRewrite = awscloudfront.NewFunction(scope, jsii.String("TrackRewriteFunction"), &awscloudfront.FunctionProps{
		// CloudFront names are account-wide: stack name and region keep copies apart.
		FunctionName: accountWideName("track-rewrite"),
		Code:         awscloudfront.FunctionCode_FromFile(&awscloudfront.FileCodeOptions{FilePath: jsii.String(s.TrackRewriteFile())}),
		Runtime:      awscloudfront.FunctionRuntime_JS_2_0(),
		Comment:      jsii.String("dispatch-relay: rewrite /track and /track/ to /track/index.html"),
	})

	e.SecurityHeaders = awscloudfront.NewResponseHeadersPolicy(scope, jsii.String("SecurityHeadersPolicy"), &awscloudfront.ResponseHeadersPolicyProps{
		ResponseHeadersPolicyName: accountWideName("security-headers"),
		Comment:                   jsii.String("dispatch-relay security headers"),
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			// Browsers only ever talk TLS to this host (2 years).
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(730)), IncludeSubdomains: jsii.Bool(true), Override: jsii.Bool(true),
			},
			// No MIME sniffing, no framing (clickjacking), no referrer leaking tracking URLs.
			ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			FrameOptions:       &awscloudfront.ResponseHeadersFrameOptions{FrameOption: awscloudfront.HeadersFrameOption_DENY, Override: jsii.Bool(true)},
			ReferrerPolicy:     &awscloudfront.ResponseHeadersReferrerPolicy{ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_STRICT_ORIGIN_WHEN_CROSS_ORIGIN, Override: jsii.Bool(true)},
			// Scripts, styles and API calls from this origin (and the identity provider) only.
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{ContentSecurityPolicy: contentSecurityPolicy(s, auth), Override: jsii.Bool(true)},
			// The legacy XSS auditor is itself an attack surface: "X-XSS-Protection: 0".
			XssProtection: &awscloudfront.ResponseHeadersXSSProtection{Protection: jsii.Bool(false), Override: jsii.Bool(true)},
		},
	})

	// /api/* is never cached: TTLs are 0, so only a response that itself asks for caching
	// (max-age, capped at 1 s) could be; the API sends Cache-Control: no-cache. The cache key
	// (and so the forwarded request) includes Authorization because CloudFront forwards that
	// header only from a cache policy, and its maximum TTL must be above 0 to have a key.
	e.APICachePolicy = awscloudfront.NewCachePolicy(scope, jsii.String("ApiCachePolicy"), &awscloudfront.CachePolicyProps{
		CachePolicyName:     accountWideName("api-cache"),
		Comment:             jsii.String("dispatch-relay /api/*: no caching; forwards Authorization and the query string"),
		MinTtl:              awscdk.Duration_Seconds(jsii.Number(0)),
		DefaultTtl:          awscdk.Duration_Seconds(jsii.Number(0)),
		MaxTtl:              awscdk.Duration_Seconds(jsii.Number(1)),
		HeaderBehavior:      awscloudfront.CacheHeaderBehavior_AllowList(jsii.String("Authorization")),
		QueryStringBehavior: awscloudfront.CacheQueryStringBehavior_All(),
		CookieBehavior:      awscloudfront.CacheCookieBehavior_None(),
	})
	e.APIOriginRequest = awscloudfront.NewOriginRequestPolicy(scope, jsii.String("ApiOriginRequestPolicy"), &awscloudfront.OriginRequestPolicyProps{
		OriginRequestPolicyName: accountWideName("api-origin-request"),
		Comment:                 jsii.String("dispatch-relay /api/*: Twilio headers, content type, CORS preflight, query string"),
		HeaderBehavior:          awscloudfront.OriginRequestHeaderBehavior_AllowList(*jsii.Strings(APIForwardedHeaders...)...),
		QueryStringBehavior:     awscloudfront.OriginRequestQueryStringBehavior_All(),
		CookieBehavior:          awscloudfront.OriginRequestCookieBehavior_None(),
	})

	apiOrigin := awscloudfrontorigins.NewHttpOrigin(api.Domain(), &awscloudfrontorigins.HttpOriginProps{
		ProtocolPolicy:     awscloudfront.OriginProtocolPolicy_HTTPS_ONLY,
		OriginSslProtocols: &[]awscloudfront.OriginSslPolicy{awscloudfront.OriginSslPolicy_TLS_V1_2},
		// The API refuses requests without this value, so the execute-api URL cannot bypass
		// CloudFront. A dynamic reference: CloudFormation resolves it at deploy time, the
		// template holds only {{resolve:secretsmanager:...}}.
		CustomHeaders: &map[string]*string{config.OriginVerifyHeader: secrets.OriginVerify.SecretValue().UnsafeUnwrap()},
		ReadTimeout:   awscdk.Duration_Seconds(jsii.Number(30)),
	})

	oac := awscloudfront.NewS3OriginAccessControl(scope, jsii.String("SiteOriginAccessControl"), &awscloudfront.S3OriginAccessControlProps{
		OriginAccessControlName: accountWideName("site"),
		Description:             jsii.String("dispatch-relay: CloudFront reads the site bucket"),
	})
	e.WAF = newWAF(scope, s)

	e.Distribution = awscloudfront.NewDistribution(scope, jsii.String("Distribution"), &awscloudfront.DistributionProps{
		Comment: jsii.String("dispatch-relay " + s.DomainName),
		// WAF: Twilio's webhooks keep their own rate budget; anonymous traffic is limited per IP.
		WebAclId:    e.WAF.Arn,
		DomainNames: jsii.Strings(s.DomainName),
		Certificate: awscertificatemanager.Certificate_FromCertificateArn(scope, jsii.String("Certificate"), jsii.String(s.CertificateARN)),
		// TLS 1.2+ to viewers, SNI only (no dedicated-IP charge).
		MinimumProtocolVersion: awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021,
		SslSupportMethod:       awscloudfront.SSLMethod_SNI,
		HttpVersion:            awscloudfront.HttpVersion_HTTP2_AND_3,
		EnableIpv6:             jsii.Bool(true),
		// North America and Europe edges: the cheapest class; viewers elsewhere still get served.
		PriceClass:        awscloudfront.PriceClass_PRICE_CLASS_100,
		DefaultRootObject: jsii.String("index.html"),
		// Standard access logs for incident review.
		EnableLogging: jsii.Bool(true),
		LogBucket:     logs.Bucket,
		LogFilePrefix: jsii.String(accessLogPrefixCloudFront),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			// Static site through Origin Access Control: the bucket stays private.
			Origin:                awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(e.SiteBucket, &awscloudfrontorigins.S3BucketOriginWithOACProps{OriginAccessControl: oac, OriginAccessLevels: &[]awscloudfront.AccessLevel{awscloudfront.AccessLevel_READ}}),
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
			Compress:              jsii.Bool(true),
			FunctionAssociations:  &[]*awscloudfront.FunctionAssociation{{Function: e.TrackRewrite, EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST}},
			ResponseHeadersPolicy: e.SecurityHeaders,
		},
		AdditionalBehaviors: &map[string]*awscloudfront.BehaviorOptions{
			APIPathPattern: {
				Origin: apiOrigin,
				// HTTPS only, no redirect: Twilio does not follow a redirect on POST.
				ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
				AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_ALL(),
				CachePolicy:           e.APICachePolicy,
				OriginRequestPolicy:   e.APIOriginRequest,
				ResponseHeadersPolicy: e.SecurityHeaders,
				Compress:              jsii.Bool(false),
			},
		},
	})
	suppress(e.Distribution,
		nag("AwsSolutions-CFR1", "Customers open tracking links and Twilio sends webhooks from wherever they are; a country allow-list would drop legitimate traffic."),
	)

	e.newSiteDeployment(scope, s)
	return e
}

// contentSecurityPolicy allows exactly what the dashboard (web/) uses: its own scripts,
// styles and API, and the hosted UI's token endpoint (the code exchange); no inline
// script or style, no images beyond its own, no frames, no plugins. Sign-in and sign-out
// are top-level navigations to the hosted UI, which CSP does not restrict.
func contentSecurityPolicy(s Settings, auth *Auth) *string {
	connect := "connect-src 'self'"
	if u := auth.HostedUIURL(); u != "" {
		connect += " " + u
	}
	return jsii.String(strings.Join([]string{
		"default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
		connect, "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "object-src 'none'",
	}, "; "))
}

// newSiteDeployment copies infra/site into the site bucket and invalidates the
// distribution. CDK's deployment Lambda gets a role of our own with explicit actions
// (CDK's grants would add s3:GetObject*, s3:List*, s3:DeleteObject*, s3:Abort* and
// cloudfront:* on "*").
func (e *Edge) newSiteDeployment(scope constructs.Construct, s Settings) {
	asset := awss3assets.NewAsset(scope, jsii.String("SiteAsset"), &awss3assets.AssetProps{Path: jsii.String(s.SiteDir())})
	e.SiteDeployerRole = awsiam.NewRole(scope, jsii.String("SiteDeploymentRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Copies infra/site into the site bucket at deploy time"),
	})
	e.SiteDeployerLogs = awslogs.NewLogGroup(scope, jsii.String("SiteDeploymentLogs"), &awslogs.LogGroupProps{
		Retention:     s.LogRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	e.SiteDeployerLogs.GrantWrite(e.SiteDeployerRole)
	statements := []awsiam.PolicyStatement{
		// Read the one site archive CDK uploaded.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:GetObject"),
			Resources: &[]*string{asset.Bucket().ArnForObjects(asset.S3ObjectKey())},
		}),
		// aws s3 sync --delete: list, write and prune the site bucket.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:ListBucket"),
			Resources: &[]*string{e.SiteBucket.BucketArn()},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:PutObject", "s3:DeleteObject"),
			Resources: &[]*string{e.SiteBucket.ArnForObjects(jsii.String("*"))},
		}),
		// Invalidate this distribution only.
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"),
			Resources: &[]*string{e.Distribution.DistributionArn()},
		}),
	}
	policy := awsiam.NewPolicy(scope, jsii.String("SiteDeploymentPolicy"), &awsiam.PolicyProps{Statements: &statements, Roles: &[]awsiam.IRole{e.SiteDeployerRole}})
	suppress(policy, nag("AwsSolutions-IAM5", "The deployment syncs the whole site bucket (every key is site content), so its object actions cover bucket/*.",
		`/^Resource::<SiteBucket[0-9A-F]{8}\.Arn>\/\*$/g`))

	e.SiteDeployment = awss3deployment.NewBucketDeployment(scope, jsii.String("SiteDeployment"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: e.SiteBucket,
		Sources:           &[]awss3deployment.ISource{awss3deployment.Source_Bucket(asset.Bucket(), asset.S3ObjectKey())},
		// The immutable view stops CDK from adding its broader grants; the policy above applies.
		Role:     e.SiteDeployerRole.WithoutPolicyUpdates(nil),
		LogGroup: e.SiteDeployerLogs,
		// Short browser/edge caching plus an invalidation on each deploy.
		CacheControl:      &[]awss3deployment.CacheControl{awss3deployment.CacheControl_SetPublic(), awss3deployment.CacheControl_MaxAge(awscdk.Duration_Minutes(jsii.Number(5)))},
		Distribution:      e.Distribution,
		DistributionPaths: jsii.Strings("/*"),
		Prune:             jsii.Bool(true),
		RetainOnDelete:    jsii.Bool(true),
	})
	// The copy runs only once its permissions exist.
	e.SiteDeployment.Node().AddDependency(policy)

	// CDK adds the deployment Lambda once per stack, outside this construct.
	for _, c := range *awscdk.Stack_Of(scope).Node().Children() {
		if strings.HasPrefix(*c.Node().Id(), "Custom::CDKBucketDeployment") {
			suppress(c, nag("AwsSolutions-L1", "CDK's BucketDeployment handler: its Python runtime is pinned by aws-cdk-lib (v2.270.0) and moves with CDK upgrades; it runs only during deployments."))
		}
	}
}
