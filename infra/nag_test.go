package infra

import (
	"regexp"
	"sort"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// cdk-nag's AwsSolutions pack runs as an aspect of the app (see newApp), so synth itself fails
// on an unsuppressed error; these tests also refuse warnings and undocumented suppressions.

func TestNagAwsSolutionsClean(t *testing.T) {
	for name, s := range map[string]synthesis{"main": mainStack(t), "variant": variantStack(t)} {
		a := assertions.Annotations_FromStack(s.stack)
		any := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
		for _, m := range *a.FindError(jsii.String("*"), any) {
			t.Errorf("%s: unsuppressed error at %s: %v", name, *m.Id, m.Entry.Data)
		}
		for _, m := range *a.FindWarning(jsii.String("*"), any) {
			t.Errorf("%s: unsuppressed warning at %s: %v", name, *m.Id, m.Entry.Data)
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
	"Distribution AwsSolutions-CFR2",
	"EscalatorFunctionRoleDefaultPolicy AwsSolutions-IAM5",
	"HttpApiGETapiauthconfig AwsSolutions-APIG4",
	"HttpApiGETapismsstatus AwsSolutions-APIG4",
	"HttpApiGETapitrack AwsSolutions-APIG4",
	"HttpApiPOSTapismsdelivery AwsSolutions-APIG4",
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
