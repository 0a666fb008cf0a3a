package infra

import (
	"reflect"
	"strings"
	"testing"
)

func TestNoWildcardActionsOrResources(t *testing.T) {
	for name, s := range map[string]synthesis{"main": mainStack(t), "variant": variantStack(t)} {
		for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"} {
			for _, r := range s.resources(typ) {
				var sts []statement
				if typ == "AWS::IAM::Role" {
					if arns := r.Props["ManagedPolicyArns"]; arns != nil {
						t.Errorf("%s %s: managed policies %s (want only what the role calls)", name, r.ID, render(arns))
					}
					for _, p := range asList(r.Props["Policies"]) {
						sts = append(sts, statements(p.(map[string]any)["PolicyDocument"])...)
					}
				} else {
					sts = statements(r.Props["PolicyDocument"])
				}
				for _, st := range sts {
					for _, k := range []string{"NotAction", "NotResource"} {
						if _, ok := st.Raw[k]; ok {
							t.Errorf("%s %s: %s", name, r.ID, k)
						}
					}
					for _, a := range st.Actions {
						if strings.Contains(a, "*") {
							t.Errorf("%s %s: wildcard action %q", name, r.ID, a)
						}
					}
					xrayOnly := len(st.Actions) > 0
					for _, a := range st.Actions {
						xrayOnly = xrayOnly && strings.HasPrefix(a, "xray:")
					}
					for _, res := range st.Resources {
						// X-Ray (tracing option) has no resource-level permissions.
						if res == "*" && !(xrayOnly && name == "variant") {
							t.Errorf("%s %s: Resource \"*\" for %v", name, r.ID, st.Actions)
						}
					}
				}
			}
		}
	}
}

func TestResourcePoliciesAllowOnlyNamedPrincipals(t *testing.T) {
	s := mainStack(t)
	for _, typ := range []string{"AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"} {
		for _, r := range s.resources(typ) {
			for _, st := range statements(r.Props["PolicyDocument"]) {
				if st.Effect != "Allow" {
					continue
				}
				if strings.Contains(st.Principals, `"*"`) || st.Principals == "*" {
					t.Errorf("%s allows principal %s", r.ID, st.Principals)
				}
				for _, a := range st.Actions {
					if strings.Contains(a, "*") {
						t.Errorf("%s allows wildcard action %q", r.ID, a)
					}
				}
			}
		}
	}
}

func TestRolesTrustOnlyLambda(t *testing.T) {
	s := mainStack(t)
	for _, r := range s.resources("AWS::IAM::Role") {
		want := `{"Service":"lambda.amazonaws.com"}`
		if strings.HasPrefix(r.ID, "HttpApiPOSTapismsfallbackInvokeRole") {
			// The fallback route's SQS integration: API Gateway assumes it to send.
			want = `{"Service":"apigateway.amazonaws.com"}`
		}
		sts := statements(r.Props["AssumeRolePolicyDocument"])
		if len(sts) != 1 || sts[0].Principals != want || !reflect.DeepEqual(sts[0].Actions, []string{"sts:AssumeRole"}) {
			t.Errorf("%s trust policy: got %+v, want %s sts:AssumeRole only", r.ID, sts, want)
		}
	}
}

func TestFunctionRolesHoldOnlyWhatTheyCall(t *testing.T) {
	s := mainStack(t)
	tableItems := []string{"<Table.Arn>"}
	tableQuery := []string{"<Table.Arn>", "<Table.Arn>/index/gsi1"}
	apiQuery := append(append([]string{}, tableQuery...), "<Table.Arn>/index/gsi2")
	// Photos: stored and presigned (GetObject) by every function that sends.
	media := []string{"<MediaBucket.Arn>/media/*"}
	auditAndMedia := []string{"<AuditBucket.Arn>/audit/*", "<MediaBucket.Arn>/media/*"} // audit/: one object per event
	queue := []string{"<TimerQueue.Arn>"}
	for _, c := range []struct {
		role string
		want map[string][]string
	}{
		{"ApiFunctionRole", map[string][]string{
			"logs:CreateLogStream":          {"<ApiFunctionLogs.Arn>"},
			"logs:PutLogEvents":             {"<ApiFunctionLogs.Arn>"},
			"dynamodb:GetItem":              tableItems,
			"dynamodb:PutItem":              tableItems,
			"dynamodb:UpdateItem":           tableItems,
			"dynamodb:DeleteItem":           tableItems,
			"dynamodb:Query":                apiQuery,
			"s3:PutObject":                  auditAndMedia,
			"s3:GetObject":                  auditAndMedia,
			"s3:ListBucket":                 {"<AuditBucket.Arn>"},
			"sqs:SendMessage":               queue,
			"secretsmanager:GetSecretValue": {"<OriginVerifySecret>", "<TwilioSecret>"},
		}},
		{"EscalatorFunctionRole", map[string][]string{
			"logs:CreateLogStream":          {"<EscalatorFunctionLogs.Arn>"},
			"logs:PutLogEvents":             {"<EscalatorFunctionLogs.Arn>"},
			"dynamodb:GetItem":              tableItems,
			"dynamodb:PutItem":              tableItems,
			"dynamodb:UpdateItem":           tableItems,
			"dynamodb:DeleteItem":           tableItems,
			"dynamodb:Query":                tableQuery,
			"s3:PutObject":                  auditAndMedia,
			"s3:GetObject":                  media,
			"sqs:SendMessage":               queue,
			"sqs:ReceiveMessage":            queue,
			"sqs:DeleteMessage":             queue,
			"sqs:ChangeMessageVisibility":   queue,
			"sqs:GetQueueAttributes":        queue,
			"sqs:GetQueueUrl":               queue,
			"secretsmanager:GetSecretValue": {"<TwilioSecret>"},
		}},
	} {
		role := s.one(t, "AWS::IAM::Role", c.role)
		got := s.permissions(role.ID)
		for action, want := range c.want {
			if !reflect.DeepEqual(got[action], want) {
				t.Errorf("%s %s: got %v, want %v", c.role, action, got[action], want)
			}
		}
		for action, res := range got {
			if _, ok := c.want[action]; !ok {
				t.Errorf("%s has unexpected %s on %v", c.role, action, res)
			}
		}
		// ListBucket only for keys under audit/.
		for _, st := range s.identityStatements(role.ID) {
			for _, a := range st.Actions {
				if a == "s3:ListBucket" && render(st.Condition) != `{"StringLike":{"s3:prefix":["audit/*"]}}` {
					t.Errorf("%s s3:ListBucket condition: got %s, want s3:prefix audit/*", c.role, render(st.Condition))
				}
			}
		}
	}
}

func TestImportedTwilioSecretPermission(t *testing.T) {
	s := variantStack(t)
	if n := len(s.resources("AWS::SecretsManager::Secret")); n != 1 {
		t.Errorf("got %d secrets, want 1 (origin-verify; Twilio is imported)", n)
	}
	want := "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:shared/twilio-??????"
	for _, role := range []string{"ApiFunctionRole", "EscalatorFunctionRole"} {
		got := s.permissions(s.one(t, "AWS::IAM::Role", role).ID)["secretsmanager:GetSecretValue"]
		found := false
		for _, r := range got {
			found = found || r == want
		}
		if !found {
			t.Errorf("%s GetSecretValue: got %v, want it to include %s", role, got, want)
		}
	}
}

func TestSiteDeploymentRole(t *testing.T) {
	s := mainStack(t)
	role := s.one(t, "AWS::IAM::Role", "SiteDeploymentRole")
	got := s.permissions(role.ID)
	want := map[string][]string{
		"logs:CreateLogStream":          {"<SiteDeploymentLogs.Arn>"},
		"logs:PutLogEvents":             {"<SiteDeploymentLogs.Arn>"},
		"s3:GetObject":                  {"arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}/ASSET.zip"},
		"s3:ListBucket":                 {"<SiteBucket.Arn>"},
		"s3:PutObject":                  {"<SiteBucket.Arn>/*"},
		"s3:DeleteObject":               {"<SiteBucket.Arn>/*"},
		"cloudfront:CreateInvalidation": {"arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<Distribution>"},
		"cloudfront:GetInvalidation":    {"arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<Distribution>"},
	}
	for a := range got {
		for i, r := range got[a] {
			got[a][i] = assetHash.ReplaceAllString(r, "ASSET")
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("site deployment permissions:\n got %v\nwant %v", got, want)
	}
}
