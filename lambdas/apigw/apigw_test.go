package apigw_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dispatchrelay/dispatch-relay/lambdas/apigw"
	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
)

// event builds a payload-v2 event like API Gateway sends after its JWT authorizer.
func event(path string, claims map[string]string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST " + path, RawPath: path, RawQueryString: "a=1&b=2",
		Headers: map[string]string{"content-type": "application/json", "x-twilio-signature": "abc="},
		Body:    `{"x":1}`,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "abc.execute-api.us-east-1.amazonaws.com",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path, SourceIP: "1.2.3.4"},
		},
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return ev
}

func TestHandlerCarriesRequestAndClaims(t *testing.T) {
	auth := apigw.Claims{TenantClaim: "custom:tenant_id"}
	tests := []struct {
		name    string
		claims  map[string]string
		wantErr bool
		tenant  string
	}{
		{"tenant claim", map[string]string{"custom:tenant_id": "qdn", "sub": "u-1"}, false, "qdn"},
		{"no tenant claim", map[string]string{"sub": "u-1"}, true, ""},
		{"no authorizer", nil, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got httpapi.Principal
			var gotErr error
			var query, sig string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, gotErr = auth.Authenticate(r)
				query, sig = r.URL.RawQuery, r.Header.Get("X-Twilio-Signature")
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]string{"ok": "yes"})
			})
			resp, err := apigw.Handler(h)(context.Background(), event("/api/sms/forward", tt.claims))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("response %d, %v", resp.StatusCode, err)
			}
			if (gotErr != nil) != tt.wantErr || got.TenantID != tt.tenant {
				t.Errorf("principal %+v err %v; want tenant %q, error %v", got, gotErr, tt.tenant, tt.wantErr)
			}
			if query != "a=1&b=2" || sig != "abc=" {
				t.Errorf("query %q signature %q; want the raw query and header kept", query, sig)
			}
		})
	}
}
