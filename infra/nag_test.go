package infra

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/constructs-go/constructs/v10"
)

// cdk-nag's AwsSolutions pack runs as an aspect of the app (see newApp), so synth itself fails
// on an unsuppressed error; these tests also refuse warnings and undocumented suppressions.

func TestNagAwsSolutionsClean(t *testing.T) {
	for name, s := range map[string]synthesis{"main": mainStack(t), "variant": variantStack(t)} {
		// cdk-nag reports as construct metadata (aws:cdk:error / aws:cdk:warning entries).
		for _, c := range *s.stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
			for _, m := range *c.Node().Metadata() {
				typ, data := *m.Type, fmt.Sprint(m.Data)
				if (typ == "aws:cdk:error" || typ == "aws:cdk:warning") && strings.Contains(data, "AwsSolutions-") {
					t.Errorf("%s: unsuppressed %s at %s: %s", name, strings.TrimPrefix(typ, "aws:cdk:"), *c.Node().Path(), data)
				}
			}
		}
	}
}

// wantSuppressions is every suppression in the default template, as "<resource> <rule>".
// A new one must be added here, so it is reviewed with its reason.
var wantSuppressions = []string{
	"AccessLogBucket AwsSolutions-S1",
	"ApiFunctionRoleDefaultPolicy AwsSolutions-IAM5",
	"CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C AwsSolutions-L1",
	"Distribution AwsSolutions-CFR1",
	"EscalatorFunctionRoleDefaultPolicy AwsSolutions-IAM5",
	"FallbackFunctionRoleDefaultPolicy AwsSolutions-IAM5",
	"HttpApiGETapiauthconfig AwsSolutions-APIG4",
	"HttpApiGETapiopenapijson AwsSolutions-APIG4",
	"HttpApiGETapismsstatus AwsSolutions-APIG4",
	"HttpApiGETapitrack AwsSolutions-APIG4",
	"HttpApiPOSTapismsdelivery AwsSolutions-APIG4",
	"HttpApiPOSTapismsfallback AwsSolutions-APIG4",
	"HttpApiPOSTapismsincoming AwsSolutions-APIG4",
	"HttpApiPOSTapismsstatus AwsSolutions-APIG4",
	"OriginVerifySecret AwsSolutions-SMG4",
	"SiteDeploymentPolicy AwsSolutions-IAM5",
	"TwilioSecret AwsSolutions-SMG4",
	"UserPool AwsSolutions-COG8",
}

var nagRuleID = regexp.MustCompile(`^AwsSolutions-[A-Z]+[0-9]+$`)

func TestNagSuppressionsAreNamedAndReasoned(t *testing.T) {
	s := mainStack(t)
	var got []string
	for id, v := range s.doc["Resources"].(map[string]any) {
		for _, r := range asList(get(v, "Metadata", "cdk_nag", "rules_to_suppress")) {
			rule, _ := get(r, "id").(string)
			reason, _ := get(r, "reason").(string)
			got = append(got, id[:len(id)-8]+" "+rule)
			if !nagRuleID.MatchString(rule) {
				t.Errorf("%s: suppression without a rule id: %v", id, r)
			}
			if len(reason) < 60 {
				t.Errorf("%s %s: reason %q is too thin to review", id, rule, reason)
			}
			if rule == "AwsSolutions-IAM5" && len(asList(get(r, "applies_to"))) == 0 {
				t.Errorf("%s: IAM5 suppressed for every finding; name the wildcard it covers (applies_to)", id)
			}
		}
	}
	sort.Strings(got)
	if !equalStrings(got, wantSuppressions) {
		t.Errorf("suppressions:\n got %q\nwant %q", got, wantSuppressions)
	}
}
