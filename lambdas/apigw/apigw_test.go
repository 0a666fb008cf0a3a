package apigw_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/dispatchrelay/dispatch-relay/lambdas/apigw"
	"github.com/dispatchrelay/dispatch-relay/lambdas/httpapi"
	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/twilio"
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
	auth := apigw.Claims{TenantClaim: "custom:tenant_id", GroupsClaim: "cognito:groups"}
	tests := []struct {
		name    string
		claims  map[string]string
		wantErr bool
		tenant  string
		role    httpapi.Role
	}{
		{"tenant claim, no groups: viewer", map[string]string{"custom:tenant_id": "qdn", "sub": "u-1"}, false, "qdn", httpapi.RoleViewer},
		{"dispatcher group", map[string]string{"custom:tenant_id": "qdn", "sub": "u-1", "cognito:groups": "[dispatcher]"}, false, "qdn", httpapi.RoleDispatcher},
		{"strongest group wins", map[string]string{"custom:tenant_id": "qdn", "sub": "u-1", "cognito:groups": "[viewer admin]"}, false, "qdn", httpapi.RoleAdmin},
		{"comma list", map[string]string{"custom:tenant_id": "qdn", "sub": "u-1", "cognito:groups": "ops,dispatcher"}, false, "qdn", httpapi.RoleDispatcher},
		{"unknown group: viewer", map[string]string{"custom:tenant_id": "qdn", "sub": "u-1", "cognito:groups": "[superuser]"}, false, "qdn", httpapi.RoleViewer},
		{"no tenant claim", map[string]string{"sub": "u-1"}, true, "", ""},
		{"no authorizer", nil, true, "", ""},
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
			if (gotErr != nil) != tt.wantErr || got.TenantID != tt.tenant || got.Role != tt.role {
				t.Errorf("principal %+v err %v; want tenant %q, role %q, error %v", got, gotErr, tt.tenant, tt.role, tt.wantErr)
			}
			if query != "a=1&b=2" || sig != "abc=" {
				t.Errorf("query %q signature %q; want the raw query and header kept", query, sig)
			}
		})
	}
}

// TestWebhookThroughAPIGateway runs a signed Twilio webhook through the
// payload v2 adapter into the real handler and domain, as the Lambda does.
func TestWebhookThroughAPIGateway(t *testing.T) {
	const base, token, number = "https://relay.example.com", "tok", "+16195550100"
	st := memstore.New()
	ctx := context.Background()
	_ = st.PutTenant(ctx, relay.Tenant{ID: "qdn", Name: "QDN", Numbers: []string{number}, Chain: []string{"a"}})
	_ = st.PutOperator(ctx, relay.Operator{TenantID: "qdn", ID: "a", Name: "A", Phone: "+16195550111", Active: true})
	var sent []relay.Message
	snd := senderFunc(func(m relay.Message) { sent = append(sent, m) })
	h := httpapi.New(httpapi.Config{
		Service: &relay.Service{Store: st, Sender: snd, Timer: nopTimer{}, Log: slog.New(slog.DiscardHandler)},
		Store:   st, Log: slog.New(slog.DiscardHandler),
		Signature: twilio.Verifier{Validator: twilio.NewValidator(token, ""), BaseURL: base},
	})
	form := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "From": {"+16195551234"}, "To": {number}, "Body": {"need a pickup"}}
	for _, b64 := range []bool{false, true} {
		body := form.Encode()
		if b64 {
			body = base64.StdEncoding.EncodeToString([]byte(body))
		}
		ev := event("/api/sms/incoming", nil)
		ev.RawQueryString, ev.Body, ev.IsBase64Encoded = "", body, b64
		ev.Headers = map[string]string{"content-type": "application/x-www-form-urlencoded",
			"x-twilio-signature": twilio.Signature(token, base+"/api/sms/incoming", form)}
		resp, err := Handler(h)(ctx, ev)
		if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, "<Response/>") {
			t.Fatalf("base64=%v: %d %q %v", b64, resp.StatusCode, resp.Body, err)
		}
		if ct := resp.Headers["Content-Type"]; !strings.HasPrefix(ct, "text/xml") {
			t.Errorf("Content-Type = %q, want text/xml", ct)
		}
	}
	if len(sent) != 1 || sent[0].To != "+16195550111" {
		t.Errorf("sent %+v, want one forward (the second event is a duplicate)", sent)
	}
	ev := event("/api/sms/incoming", nil)
	ev.Headers = map[string]string{"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "bad"}
	ev.Body = form.Encode()
	if resp, _ := Handler(h)(ctx, ev); resp.StatusCode != 403 {
		t.Errorf("bad signature through the adapter: %d, want 403", resp.StatusCode)
	}
}

type senderFunc func(relay.Message)

func (f senderFunc) Send(_ context.Context, m relay.Message) (relay.Sent, error) {
	f(m)
	return relay.Sent{Sid: "SM" + strings.Repeat("1", 32), Status: "queued"}, nil
}

type nopTimer struct{}

func (nopTimer) Schedule(context.Context, relay.Tick) error { return nil }

var Handler = apigw.Handler

func (f senderFunc) Lookup(context.Context, relay.Message, time.Time) (relay.Sent, bool, error) {
	return relay.Sent{}, false, nil
}
