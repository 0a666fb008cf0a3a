// Package apigw adapts the relay's net/http handler to API Gateway HTTP API
// (payload format 2.0) through aws-lambda-go-api-proxy, and reads the caller
// from the claims API Gateway's JWT authorizer has already verified.
package apigw

import (
	"context"
	"errors"
	"net/http"

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
	return httpapi.Principal{TenantID: tenant, Subject: sub}, nil
}
