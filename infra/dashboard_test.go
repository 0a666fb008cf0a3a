package infra

import (
	"strings"
	"testing"
)

// TestHostedUISignIn checks the dashboard's Cognito sign-in: a hosted UI domain
// derived from the site's domain, and an app client that allows only the
// authorization code flow (PKCE from the browser, no secret) with the site as
// its only callback and logout URL.
func TestHostedUISignIn(t *testing.T) {
	s := mainStack(t)
	d := s.one(t, "AWS::Cognito::UserPoolDomain", "UserPoolHostedUiDomain")
	if got := render(d.Props["Domain"]); got != "relay-relay-example-com" {
		t.Errorf("hosted UI domain prefix: got %s, want relay-relay-example-com", got)
	}
	c := s.one(t, "AWS::Cognito::UserPoolClient", "UserPoolDashboardClient")
	for _, x := range []struct{ what, got, want string }{
		{"flows", render(c.Props["AllowedOAuthFlows"]), `[code]`},
		{"oauth on", render(c.Props["AllowedOAuthFlowsUserPoolClient"]), `true`},
		{"scopes", render(c.Props["AllowedOAuthScopes"]), `[openid,email]`},
		{"callback", render(c.Props["CallbackURLs"]), `[https://relay.example.com/]`},
		{"logout", render(c.Props["LogoutURLs"]), `[https://relay.example.com/]`},
		{"no secret", render(c.Props["GenerateSecret"]), `false`},
		{"idp", render(c.Props["SupportedIdentityProviders"]), `[COGNITO]`},
	} {
		if x.got != x.want {
			t.Errorf("client %s: got %s, want %s", x.what, x.got, x.want)
		}
	}
	if n := len(variantStack(t).resources("AWS::Cognito::UserPoolDomain")); n != 0 {
		t.Errorf("external issuer: got %d hosted UI domains, want 0", n)
	}
}

func TestCognitoDomainPrefix(t *testing.T) {
	for _, c := range []struct{ domain, want string }{
		{"relay.example.com", "relay-relay-example-com"},
		{"Dispatch.AWS-Amazon.io", "relay-dispatch-x-x-io"},
		{strings.Repeat("a", 70) + ".com", "relay-" + strings.Repeat("a", 57)},
	} {
		if got := (Settings{DomainName: c.domain}).CognitoDomainPrefix(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.domain, got, c.want)
		}
	}
}
