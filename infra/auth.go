package infra

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// Auth is the identity side of the internal routes: the JWT authorizer and, unless an
// external issuer is configured, the Cognito user pool and the dashboard's app client.
type Auth struct {
	UserPool awscognito.UserPool       // nil with an external issuer
	Client   awscognito.UserPoolClient // nil with an external issuer
	// Domain is the hosted UI the dashboard signs in through; nil with an external issuer.
	Domain     awscognito.UserPoolDomain
	Authorizer awsapigatewayv2.IHttpRouteAuthorizer
	// Groups are the role groups of the user pool by role name; nil with an external issuer.
	Groups map[string]awscognito.CfnUserPoolGroup
}

// HostedUIURL is the hosted UI's base URL (https://<prefix>.auth.<region>.amazoncognito.com),
// or "" with an external issuer.
func (a *Auth) HostedUIURL() string {
	if a.Domain == nil {
		return ""
	}
	return *a.Domain.BaseUrl(nil)
}

// SignInConfig is DASHBOARD_SIGN_IN: what GET /api/auth/config tells the dashboard. With
// the stack's pool: the hosted UI, the app client and the callback (code flow with PKCE).
// With an external issuer the dashboard falls back to its token form.
func (a *Auth) SignInConfig(scope constructs.Construct, s Settings) *string {
	if a.Client == nil {
		return jsii.String(`{"auth":"token"}`)
	}
	return awscdk.Stack_Of(scope).ToJsonString(map[string]any{
		"auth": "cognito", "domain": a.HostedUIURL(), "clientId": a.Client.UserPoolClientId(),
		"redirectUri": s.PublicBaseURL() + "/", "logoutUri": s.PublicBaseURL() + "/", "scope": "openid email",
	}, nil)
}

func newAuth(scope constructs.Construct, s Settings) *Auth {
	if s.ExternalIssuer() {
		// External IdP: API Gateway validates signature, issuer, audience and expiry.
		return &Auth{Authorizer: awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("JwtAuthorizer"), jsii.String(s.JWTIssuer),
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{JwtAudience: jsii.Strings(s.JWTAudience...)})}
	}

	// The tenant claim (default custom:tenant_id) is a custom attribute; ID tokens carry it.
	tenantAttr := s.CognitoTenantAttribute()
	mfa := awscognito.Mfa_REQUIRED
	if s.CognitoMFA == "optional" {
		mfa = awscognito.Mfa_OPTIONAL
	}
	pool := awscognito.NewUserPool(scope, jsii.String("UserPool"), &awscognito.UserPoolProps{
		// Users are created by platform engineers with their tenant; nobody signs themselves up.
		SelfSignUpEnabled: jsii.Bool(false),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email: &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
		},
		// The tenant claim. Admins may move a user; the app client cannot write it (see below).
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			tenantAttr: awscognito.NewStringAttribute(&awscognito.StringAttributeProps{Mutable: jsii.Bool(true), MinLen: jsii.Number(1), MaxLen: jsii.Number(64)}),
		},
		// Strong passwords; TOTP as the second factor (no SMS: no SNS role, no toll-fraud surface).
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(12), RequireLowercase: jsii.Bool(true), RequireUppercase: jsii.Bool(true),
			RequireDigits: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		Mfa:             mfa,
		MfaSecondFactor: &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery: awscognito.AccountRecovery_EMAIL_ONLY,
		FeaturePlan:     awscognito.FeaturePlan_ESSENTIALS,
		// Users and their tenant assignments must survive a mistaken delete or stack teardown.
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	rules := []nagRule{nag("AwsSolutions-COG8", "The Plus feature plan (threat protection) costs per monthly active user; the pool serves a handful of dispatch staff, requires strong passwords and TOTP MFA, and has self sign-up off.")}
	if mfa == awscognito.Mfa_OPTIONAL {
		rules = append(rules, nag("AwsSolutions-COG2", "MFA set to optional through the cognitoMfa context value by the platform engineers; TOTP stays available."))
	}
	suppress(pool, rules...)

	client := pool.AddClient(jsii.String("DashboardClient"), &awscognito.UserPoolClientOptions{
		// A browser app cannot keep a client secret.
		GenerateSecret: jsii.Bool(false),
		// SRP for the hosted UI; admin password auth for platform engineers with IAM credentials.
		AuthFlows: &awscognito.AuthFlow{UserSrp: jsii.Bool(true), AdminUserPassword: jsii.Bool(true)},
		// The dashboard signs in through the hosted UI: authorization code flow only (no
		// implicit tokens in URLs), PKCE from the browser (a public client has no secret),
		// and redirects only to the dashboard on this stack's domain.
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL()},
			CallbackUrls: jsii.Strings(s.PublicBaseURL() + "/"),
			LogoutUrls:   jsii.Strings(s.PublicBaseURL() + "/"),
		},
		SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(7)),
		ReadAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true), EmailVerified: jsii.Bool(true)}).
			WithCustomAttributes(jsii.String(tenantAttr)),
		// Users must not be able to move themselves to another tenant: tenant_id is not writable.
		WriteAttributes: awscognito.NewClientAttributes().
			WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true)}),
	})

	// One group per role; ID and access tokens carry them in cognito:groups, and the
	// handler maps the strongest to viewer, dispatcher or admin (no group: viewer).
	groups := map[string]awscognito.CfnUserPoolGroup{}
	for i, role := range config.RoleGroups {
		groups[role] = awscognito.NewCfnUserPoolGroup(scope, jsii.String("UserPoolGroup"+strings.ToUpper(role[:1])+role[1:]), &awscognito.CfnUserPoolGroupProps{
			UserPoolId:  pool.UserPoolId(),
			GroupName:   jsii.String(role),
			Description: jsii.String("dispatch-relay role " + role + " (" + roleText[role] + ")"),
			// Lower precedence wins when Cognito picks one group's IAM role; stronger roles first.
			Precedence: jsii.Number(float64(len(config.RoleGroups) - i)),
		})
	}
	// The hosted UI on a Cognito-owned domain: no certificate or DNS record to manage.
	domain := pool.AddDomain(jsii.String("HostedUiDomain"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: jsii.String(s.CognitoDomainPrefix())},
	})

	// Cognito's JWT authorizer: issuer https://cognito-idp.<region>.amazonaws.com/<pool id>, audience the client.
	authorizer := awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("CognitoAuthorizer"), pool,
		&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{UserPoolClients: &[]awscognito.IUserPoolClient{client}})
	return &Auth{UserPool: pool, Client: client, Authorizer: authorizer, Groups: groups, Domain: domain}
}

// roleText says what each role group may do, for the groups' descriptions.
var roleText = map[string]string{
	"viewer":     "read relays, audit and the directory",
	"dispatcher": "viewer plus ack, forward, notes and jobs",
	"admin":      "everything: tenant settings, operators, customers",
}
