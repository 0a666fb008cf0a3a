package infra

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// nagRule is one cdk-nag suppression: the rule, why it does not apply here, and,
// for IAM5, exactly which wildcard findings it covers.
type nagRule struct {
	ID     string
	Reason string
	// AppliesTo holds regular expressions (cdk-nag's /.../g form) over findings such as
	// "Resource::<AuditBucketB2B2A1E2.Arn>/audit/*"; empty suppresses the rule for the resource.
	AppliesTo []string
}

func nag(id, reason string, appliesTo ...string) nagRule {
	return nagRule{ID: id, Reason: reason, AppliesTo: appliesTo}
}

// suppress records suppressions on exactly one CloudFormation resource: c's L1
// resource (its default child) or c itself, never its other children. The reasons end
// up in the template's Metadata, where a reviewer reads them next to the resource.
func suppress(c constructs.IConstruct, rules ...nagRule) {
	target := c
	if d := c.Node().DefaultChild(); d != nil {
		target = d
	}
	out := make([]*cdknag.NagPackSuppression, 0, len(rules))
	for _, r := range rules {
		s := &cdknag.NagPackSuppression{Id: jsii.String(r.ID), Reason: jsii.String(r.Reason)}
		if len(r.AppliesTo) > 0 {
			at := make([]any, len(r.AppliesTo))
			for i, a := range r.AppliesTo {
				at[i] = &cdknag.RegexAppliesTo{Regex: jsii.String(a)}
			}
			s.AppliesTo = &at
		}
		out = append(out, s)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(target, &out, jsii.Bool(false))
}
