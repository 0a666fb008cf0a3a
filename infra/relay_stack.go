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
	Timers    *Timers
	Secrets   *Secrets
	Functions *Functions
	Auth      *Auth
	API       *API
	Edge      *Edge
	DNS       *DNS
	Alarms    *Alarms
}

// NewRelayStack composes the relay: one small constructor per concern, wired in
// dependency order (state, then code, then the API, then the edge in front of it).
func NewRelayStack(scope constructs.Construct, id string, props *RelayStackProps) *RelayStack {
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := props.Settings
	// Cost allocation: every taggable resource carries the service name.
	awscdk.Tags_Of(stack).Add(jsii.String("service"), jsii.String(config.MetricServiceValue), nil)

	r := &RelayStack{Stack: stack}
	r.Logs = newAccessLogs(stack)
	r.Data = newData(stack)
	r.Audit = newAudit(stack, s, r.Logs)
	r.Timers = newTimers(stack)
	r.Secrets = newSecrets(stack, s)
	r.Auth = newAuth(stack, s)
	r.Functions = newFunctions(stack, s, r.Data, r.Audit, r.Timers, r.Secrets, r.Auth)
	r.API = newAPI(stack, s, r.Functions, r.Auth)
	r.Edge = newEdge(stack, s, r.Logs, r.API, r.Secrets, r.Auth)
	r.DNS = newDNS(stack, s, r.Edge)
	r.Alarms = newAlarms(stack, s, r.Functions, r.Timers, r.API)
	newOutputs(stack, s, r)
	return r
}
