package httpapi

import (
	"net/http"
	"sort"
	"strings"
)

// Access says who may call a route.
type Access string

// Access levels of the route table.
const (
	// AccessPublic needs no credential (health, the OpenAPI document).
	AccessPublic Access = "public"
	// AccessTwilio is a Twilio webhook, authenticated by X-Twilio-Signature.
	AccessTwilio Access = "twilio"
	// AccessViewer, AccessDispatcher and AccessAdmin need a bearer token or
	// JWT with at least that role.
	AccessViewer     Access = "viewer"
	AccessDispatcher Access = "dispatcher"
	AccessAdmin      Access = "admin"
)

// Role returns the least role an internal route needs.
func (a Access) Role() Role { return Role(a) }

// Route is one route of the handler: the method, the net/http path pattern
// and who may call it. RouteTable lists them all; the mux registrations,
// the 405 and preflight answers, the OpenAPI document's test and the CDK
// routes' test all read it.
type Route struct {
	Method  string
	Pattern string
	Access  Access
}

type route struct {
	Route
	handle func(h *handler, w http.ResponseWriter, r *http.Request)
}

// routeTable is the one list of routes.
var routeTable = []route{
	{Route{"POST", "/api/sms/incoming", AccessTwilio}, (*handler).incoming},
	{Route{"POST", FallbackPath, AccessTwilio}, (*handler).incoming},
	{Route{"POST", "/api/sms/delivery", AccessTwilio}, (*handler).delivery},
	{Route{"GET", "/api/sms/status", AccessPublic}, (*handler).status},
	{Route{"POST", "/api/sms/status", AccessPublic}, (*handler).status},
	{Route{"POST", "/api/sms/forward", AccessDispatcher}, (*handler).forward},
	{Route{"POST", "/api/sms/ack", AccessDispatcher}, (*handler).ack},
	{Route{"POST", "/api/sms/audit", AccessDispatcher}, (*handler).postAudit},
	{Route{"GET", "/api/sms/audit", AccessViewer}, (*handler).getAudit},
	{Route{"GET", "/api/sms/audit/export", AccessViewer}, (*handler).export},
	{Route{"GET", "/api/sms/relays", AccessViewer}, (*handler).listRelays},
	{Route{"GET", "/api/sms/relays/{id}", AccessViewer}, (*handler).getRelay},
	{Route{"GET", "/api/track", AccessPublic}, (*handler).track},
	{Route{"GET", "/api/track/link", AccessDispatcher}, (*handler).trackLink},
	{Route{"GET", "/api/auth/config", AccessPublic}, (*handler).signInConfig},
	{Route{"GET", "/api/openapi.json", AccessPublic}, (*handler).openAPI},

	{Route{"GET", "/api/tenant", AccessViewer}, (*handler).getTenant},
	{Route{"PUT", "/api/tenant", AccessAdmin}, (*handler).putTenant},
	{Route{"GET", "/api/operators", AccessViewer}, (*handler).listOperators},
	{Route{"GET", "/api/operators/{id}", AccessViewer}, (*handler).getOperator},
	{Route{"PUT", "/api/operators/{id}", AccessAdmin}, (*handler).putOperator},
	{Route{"DELETE", "/api/operators/{id}", AccessAdmin}, (*handler).deleteOperator},
	{Route{"GET", "/api/customers", AccessViewer}, (*handler).listCustomers},
	{Route{"GET", "/api/customers/{id}", AccessViewer}, (*handler).getCustomer},
	{Route{"PUT", "/api/customers/{id}", AccessAdmin}, (*handler).putCustomer},
	{Route{"DELETE", "/api/customers/{id}", AccessAdmin}, (*handler).deleteCustomer},
	{Route{"GET", "/api/jobs", AccessViewer}, (*handler).listJobs},
	{Route{"GET", "/api/jobs/{id}", AccessViewer}, (*handler).getJob},
	{Route{"PUT", "/api/jobs/{id}", AccessDispatcher}, (*handler).putJob},
	{Route{"PATCH", "/api/jobs/{id}", AccessDispatcher}, (*handler).patchJob},
	{Route{"DELETE", "/api/jobs/{id}", AccessDispatcher}, (*handler).deleteJob},
}

// RouteTable returns every route the handler serves.
func RouteTable() []Route {
	out := make([]Route, len(routeTable))
	for i, r := range routeTable {
		out[i] = r.Route
	}
	return out
}

// allowed returns the methods of the pattern that matches path, for 405 and
// preflight answers, and whether any pattern does.
func allowed(path string) (string, bool) {
	var methods []string
	for _, r := range routeTable {
		if matchPattern(r.Pattern, path) {
			methods = append(methods, r.Method)
		}
	}
	if len(methods) == 0 {
		return "", false
	}
	sort.Strings(methods)
	return strings.Join(methods, ", "), true
}

// matchPattern reports whether path matches a pattern whose {name}
// segments match one non-empty segment.
func matchPattern(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if p != xs[i] {
			return false
		}
	}
	return true
}
