package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// WAF rate limits, per client IP over a 5-minute window (AWS WAF's rate-based rules:
// https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html).
const (
	wafWindowSeconds = 300
	// Twilio posts webhooks from a shared pool of addresses it does not publish, so one
	// address can carry a tenant's whole burst (a text, three delivery callbacks, the
	// fallback): 10,000 per 5 minutes (33/s sustained from one address) passes any
	// dispatch business's burst and still stops a single-source flood.
	wafTwilioLimit = 10000
	// Everything else under /api/ (dashboards, the CLI, probes): 1,000 per 5 minutes.
	wafAPILimit = 1000
)

// WAF is the CLOUDFRONT-scope web ACL in front of the distribution. CloudFormation
// creates such ACLs only in us-east-1: elsewhere, set the webAclArn context to an
// ACL made there (docs/deploy.md); the stack then attaches that one instead.
type WAF struct {
	// ACL is nil when webAclArn names an existing ACL.
	ACL awswafv2.CfnWebACL
	// InUsEast1 guards the created ACL: outside us-east-1 it is not created.
	InUsEast1 awscdk.CfnCondition
	// Arn is what the distribution attaches (possibly AWS::NoValue outside us-east-1).
	Arn *string
}

// twilioPaths are the webhook paths Twilio posts to (the routes marked Twilio).
func twilioPaths() []string {
	var out []string
	for _, r := range append(append([]Route{}, Routes...), FallbackRoute) {
		if r.Twilio {
			out = append(out, r.Path)
		}
	}
	return out
}

func newWAF(scope constructs.Construct, s Settings) *WAF {
	if s.WebACLArn != "" {
		return &WAF{Arn: jsii.String(s.WebACLArn)}
	}
	w := &WAF{}
	w.InUsEast1 = awscdk.NewCfnCondition(scope, jsii.String("WebAclRegion"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String("us-east-1")),
	})
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true), SampledRequestsEnabled: jsii.Bool(true), MetricName: jsii.String(name),
		}
	}
	pathIs := func(p string) *awswafv2.CfnWebACL_StatementProperty {
		return &awswafv2.CfnWebACL_StatementProperty{ByteMatchStatement: &awswafv2.CfnWebACL_ByteMatchStatementProperty{
			FieldToMatch:         &awswafv2.CfnWebACL_FieldToMatchProperty{UriPath: map[string]any{}},
			PositionalConstraint: jsii.String("EXACTLY"),
			SearchString:         jsii.String(p),
			TextTransformations:  &[]*awswafv2.CfnWebACL_TextTransformationProperty{{Priority: jsii.Number(0), Type: jsii.String("NONE")}},
		}}
	}
	var paths []any
	for _, p := range twilioPaths() {
		paths = append(paths, pathIs(p))
	}
	twilio := &awswafv2.CfnWebACL_StatementProperty{OrStatement: &awswafv2.CfnWebACL_OrStatementProperty{Statements: &paths}}
	hasSignature := &awswafv2.CfnWebACL_StatementProperty{SizeConstraintStatement: &awswafv2.CfnWebACL_SizeConstraintStatementProperty{
		FieldToMatch:        &awswafv2.CfnWebACL_FieldToMatchProperty{SingleHeader: map[string]any{"Name": "x-twilio-signature"}},
		ComparisonOperator:  jsii.String("GT"),
		Size:                jsii.Number(0),
		TextTransformations: &[]*awswafv2.CfnWebACL_TextTransformationProperty{{Priority: jsii.Number(0), Type: jsii.String("NONE")}},
	}}
	api := &awswafv2.CfnWebACL_StatementProperty{ByteMatchStatement: &awswafv2.CfnWebACL_ByteMatchStatementProperty{
		FieldToMatch:         &awswafv2.CfnWebACL_FieldToMatchProperty{UriPath: map[string]any{}},
		PositionalConstraint: jsii.String("STARTS_WITH"),
		SearchString:         jsii.String("/api/"),
		TextTransformations:  &[]*awswafv2.CfnWebACL_TextTransformationProperty{{Priority: jsii.Number(0), Type: jsii.String("NONE")}},
	}}
	tooMany := &awswafv2.CfnWebACL_RuleActionProperty{Block: &awswafv2.CfnWebACL_BlockActionProperty{
		CustomResponse: &awswafv2.CfnWebACL_CustomResponseProperty{ResponseCode: jsii.Number(429)},
	}}
	rate := func(limit float64, scopeDown *awswafv2.CfnWebACL_StatementProperty) *awswafv2.CfnWebACL_StatementProperty {
		return &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
			AggregateKeyType: jsii.String("IP"), Limit: jsii.Number(limit), EvaluationWindowSec: jsii.Number(wafWindowSeconds),
			ScopeDownStatement: scopeDown,
		}}
	}
	rules := []any{
		// A Twilio webhook always carries X-Twilio-Signature; without one it is not Twilio,
		// and it never reaches the function or the fallback queue.
		&awswafv2.CfnWebACL_RuleProperty{
			Name: jsii.String("TwilioWebhooksNeedSignature"), Priority: jsii.Number(0),
			Action: &awswafv2.CfnWebACL_RuleActionProperty{Block: &awswafv2.CfnWebACL_BlockActionProperty{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{AndStatement: &awswafv2.CfnWebACL_AndStatementProperty{Statements: &[]any{
				twilio, &awswafv2.CfnWebACL_StatementProperty{NotStatement: &awswafv2.CfnWebACL_NotStatementProperty{Statement: hasSignature}},
			}}},
			VisibilityConfig: visibility("TwilioWebhooksNeedSignature"),
		},
		// Twilio's routes: their own, generous per-IP budget.
		&awswafv2.CfnWebACL_RuleProperty{
			Name: jsii.String("TwilioWebhooksRatePerIp"), Priority: jsii.Number(1), Action: tooMany,
			Statement: rate(wafTwilioLimit, twilio), VisibilityConfig: visibility("TwilioWebhooksRatePerIp"),
		},
		// Every other API route: a tighter per-IP budget, so anonymous traffic is cut at
		// the edge before it reaches the API's throttle that Twilio shares.
		&awswafv2.CfnWebACL_RuleProperty{
			Name: jsii.String("ApiRatePerIp"), Priority: jsii.Number(2), Action: tooMany,
			Statement: rate(wafAPILimit, &awswafv2.CfnWebACL_StatementProperty{AndStatement: &awswafv2.CfnWebACL_AndStatementProperty{Statements: &[]any{
				api, &awswafv2.CfnWebACL_StatementProperty{NotStatement: &awswafv2.CfnWebACL_NotStatementProperty{Statement: twilio}},
			}}}),
			VisibilityConfig: visibility("ApiRatePerIp"),
		},
		// Addresses Amazon's threat intelligence knows for bots and scanning (low false positives;
		// the common rule set is left out: it would block customers' texts that look like markup).
		&awswafv2.CfnWebACL_RuleProperty{
			Name: jsii.String("AmazonIpReputation"), Priority: jsii.Number(3),
			OverrideAction: &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{ManagedRuleGroupStatement: &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
				VendorName: jsii.String("AWS"), Name: jsii.String("AWSManagedRulesAmazonIpReputationList"),
			}},
			VisibilityConfig: visibility("AmazonIpReputation"),
		},
	}
	w.ACL = awswafv2.NewCfnWebACL(scope, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		Name:             accountWideName("edge"),
		Description:      jsii.String("dispatch-relay edge: Twilio webhooks signed and rate-limited on their own budget, per-IP API limit, IP reputation"),
		Scope:            jsii.String("CLOUDFRONT"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: &awswafv2.CfnWebACL_AllowActionProperty{}},
		VisibilityConfig: visibility("DispatchRelayEdge"),
		Rules:            &rules,
	})
	w.ACL.CfnOptions().SetCondition(w.InUsEast1)
	w.Arn = awscdk.Fn_ConditionIf(w.InUsEast1.LogicalId(), w.ACL.AttrArn(), awscdk.Aws_NO_VALUE()).ToString()
	return w
}
