// Package apigw adapts the relay's net/http handler to API Gateway HTTP API
// (payload format 2.0) through aws-lambda-go-api-proxy, and reads the caller
// from the claims API Gateway's JWT authorizer has already verified.
package apigw

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
)

var _ httpapi.Authenticator = Claims{}

// Handler returns a Lambda handler that serves API Gateway v2 events with h.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return httpadapter.NewV2(h).ProxyWithContext
}

// Claims authenticates internal routes from the JWT claims in the request
// context. API Gateway has checked the token's signature, issuer, audience
// and expiry before invoking the function; the function only reads claims.
type Claims struct {
	// TenantClaim is the claim naming the caller's tenant, e.g. custom:tenant_id.
	TenantClaim string
	// GroupsClaim is the claim listing the caller's groups, e.g.
	// cognito:groups; the strongest group that names a role is the
	// caller's role, and a caller in no such group is a viewer.
	GroupsClaim string
}

// roleOf returns the strongest role among the groups of a claim, which API
// Gateway passes as "[admin viewer]" (or a comma-separated list).
func roleOf(groups string) httpapi.Role {
	role := httpapi.RoleViewer
	for _, g := range strings.FieldsFunc(strings.Trim(groups, "[]"), func(r rune) bool { return r == ' ' || r == ',' }) {
		if r, ok := httpapi.ParseRole(strings.Trim(g, `"`)); ok && r.AtLeast(role) {
			role = r
		}
	}
	return role
}

// Authenticate returns the caller's tenant and subject.
func (c Claims) Authenticate(r *http.Request) (httpapi.Principal, error) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return httpapi.Principal{}, errors.New("no verified JWT on the request")
	}
	claims := rc.Authorizer.JWT.Claims
	tenant := claims[c.TenantClaim]
	if tenant == "" {
		// A token without a tenant sees nothing rather than everything.
		return httpapi.Principal{}, errors.New("the token has no " + c.TenantClaim + " claim")
	}
	sub := claims["sub"]
	if sub == "" {
		sub = claims["username"]
	}
	return httpapi.Principal{TenantID: tenant, Subject: sub, Role: roleOf(claims[c.GroupsClaim])}, nil
}
