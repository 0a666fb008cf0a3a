package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
)

// RelayStackProps configures NewRelayStack.
type RelayStackProps struct {
	awscdk.StackProps
	// Settings come from context (see LoadSettings).
	Settings Settings
}

// RelayStack is the whole deployment; each field is one concern's constructs.
type RelayStack struct {
	// Stack is the CDK stack (a named field: jsii refuses Go structs embedding a construct).
	Stack     awscdk.Stack
	Logs      *AccessLogs
	Data      *Data
	Audit     *Audit
	Media     *Media
	Timers    *Timers
	Fallback  *Fallback
	Secrets   *Secrets
	Functions *Functions
	Auth      *Auth
	API       *API
	Edge      *Edge
	DNS       *DNS
	Alarms    *Alarms
}

// accountWideName is a name for resources whose names are unique per account
// (CloudFront policies, functions, origin access controls): "<stack>-<region>-<suffix>",
// so a second copy of the stack, in another region or under another stackName,
// never collides.
func accountWideName(suffix string) *string {
	return awscdk.Fn_Join(jsii.String("-"), &[]*string{awscdk.Aws_STACK_NAME(), awscdk.Aws_REGION(), jsii.String(suffix)})
}

// NewRelayStack composes the relay: one small constructor per concern, wired in
// dependency order (state, then code, then the API, then the edge in front of it).
//
// Stateful resources (table, buckets, user pool, Twilio secret, log groups) use
// RETAIN_ON_UPDATE_OR_DELETE: kept when the stack is deleted or a resource is
// replaced, but removed when a first create rolls back, so retrying a failed first
// deploy never meets "already exists" or leaves orphans.
func NewRelayStack(scope constructs.Construct, id string, props *RelayStackProps) *RelayStack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := props.Settings
	// Cost allocation: every taggable resource carries the service name.
	awscdk.Tags_Of(stack).Add(jsii.String("service"), jsii.String(config.MetricServiceValue), nil)

	r := &RelayStack{Stack: stack}
	r.Logs = newAccessLogs(stack)
	r.Data = newData(stack)
	r.Audit = newAudit(stack, s, r.Logs)
	r.Media = newMedia(stack, r.Logs)
	r.Timers = newTimers(stack)
	r.Fallback = newFallback(stack)
	r.Secrets = newSecrets(stack, s)
	r.Auth = newAuth(stack, s)
	r.Functions = newFunctions(stack, s, r.Data, r.Audit, r.Media, r.Timers, r.Secrets, r.Fallback, r.Auth)
	r.API = newAPI(stack, s, r.Functions, r.Auth, r.Fallback)
	r.Edge = newEdge(stack, s, r.Logs, r.API, r.Secrets, r.Auth)
	r.DNS = newDNS(stack, s, r.Edge)
	r.Alarms = newAlarms(stack, s, r.Functions, r.Timers, r.Fallback, r.API)
	newOutputs(stack, s, r)
	return r
}
