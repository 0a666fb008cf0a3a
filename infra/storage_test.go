package infra

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestTable(t *testing.T) {
	s := mainStack(t)
	check(t, "table", func() {
		s.template.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy":      "RetainExceptOnCreate",
			"UpdateReplacePolicy": "Retain",
			"Properties": map[string]any{
				"BillingMode":                      "PAY_PER_REQUEST",
				"DeletionProtectionEnabled":        true,
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
				"KeySchema": []any{
					map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
				},
				"GlobalSecondaryIndexes": []any{map[string]any{
					"IndexName": "gsi1",
					"KeySchema": []any{
						map[string]any{"AttributeName": "gsi1pk", "KeyType": "HASH"},
						map[string]any{"AttributeName": "gsi1sk", "KeyType": "RANGE"},
					},
					"Projection": map[string]any{"ProjectionType": "ALL"},
				}, map[string]any{
					"IndexName": "gsi2",
					"KeySchema": []any{
						map[string]any{"AttributeName": "gsi2pk", "KeyType": "HASH"},
						map[string]any{"AttributeName": "gsi2sk", "KeyType": "RANGE"},
					},
					"Projection": map[string]any{"ProjectionType": "ALL"},
				}},
			},
		})
	})
	if n := len(s.resources("AWS::DynamoDB::Table")); n != 1 {
		t.Errorf("got %d tables, want 1", n)
	}
}

func TestBucketsArePrivateEncryptedAndTLSOnly(t *testing.T) {
	s := mainStack(t)
	buckets := s.resources("AWS::S3::Bucket")
	if len(buckets) != 4 {
		t.Errorf("got %d buckets, want 4 (audit, media, site, access logs)", len(buckets))
	}
	policies := map[string]statement{}
	for _, p := range s.resources("AWS::S3::BucketPolicy") {
		for _, st := range statements(p.Props["PolicyDocument"]) {
			if st.Effect == "Deny" && render(st.Condition) == `{"Bool":{"aws:SecureTransport":"false"}}` {
				policies[render(p.Props["Bucket"])] = st
			}
		}
	}
	for _, b := range buckets {
		block := get(b.Props, "PublicAccessBlockConfiguration").(map[string]any)
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if block[k] != true {
				t.Errorf("%s %s: got %v, want true", b.ID, k, block[k])
			}
		}
		if got := render(get(b.Props, "BucketEncryption", "ServerSideEncryptionConfiguration", 0, "ServerSideEncryptionByDefault", "SSEAlgorithm")); got != "AES256" {
			t.Errorf("%s encryption: got %s, want AES256", b.ID, got)
		}
		if b.Raw["DeletionPolicy"] != "RetainExceptOnCreate" || b.Raw["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s policies: got %v/%v, want RetainExceptOnCreate/Retain", b.ID, b.Raw["DeletionPolicy"], b.Raw["UpdateReplacePolicy"])
		}
		if _, ok := policies[render(map[string]any{"Ref": b.ID})]; !ok {
			t.Errorf("%s: no bucket policy denying aws:SecureTransport=false", b.ID)
		}
	}
}

func TestAuditBucket(t *testing.T) {
	s := mainStack(t)
	b := s.one(t, "AWS::S3::Bucket", "AuditBucket")
	for _, c := range []struct{ what, got, want string }{
		{"versioning", render(get(b.Props, "VersioningConfiguration", "Status")), "Enabled"},
		{"ownership", render(get(b.Props, "OwnershipControls", "Rules", 0, "ObjectOwnership")), "BucketOwnerEnforced"},
		{"access logs", render(get(b.Props, "LoggingConfiguration")), `{"DestinationBucketName":{"Ref":"` + s.one(t, "AWS::S3::Bucket", "AccessLogBucket").ID + `"},"LogFilePrefix":"s3/audit/"}`},
		{"lifecycle prefix", render(get(b.Props, "LifecycleConfiguration", "Rules", 0, "Prefix")), "audit/"},
		{"transitions", render(get(b.Props, "LifecycleConfiguration", "Rules", 0, "Transitions")),
			`[{"StorageClass":"STANDARD_IA","TransitionInDays":30},{"StorageClass":"GLACIER_IR","TransitionInDays":365}]`},
		// Lock-capable from creation (enabling it later would replace the bucket); no retention by default.
		{"object lock enabled at creation", render(b.Props["ObjectLockEnabled"]), "true"},
		{"no default retention", render(b.Props["ObjectLockConfiguration"]), "null"},
	} {
		if c.got != c.want {
			t.Errorf("audit bucket %s: got %s, want %s", c.what, c.got, c.want)
		}
	}
	// TLS 1.2 minimum on top of TLS-only.
	check(t, "audit bucket TLS version", func() {
		s.template.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
			"Bucket": map[string]any{"Ref": b.ID},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Effect": "Deny", "Action": "s3:*",
				"Condition": map[string]any{"NumericLessThan": map[string]any{"s3:TlsVersion": 1.2}},
			})})},
		})
	})
}

func TestAuditObjectLockOption(t *testing.T) {
	s := variantStack(t)
	b := s.one(t, "AWS::S3::Bucket", "AuditBucket")
	if got, want := render(b.Props["ObjectLockEnabled"]), "true"; got != want {
		t.Errorf("ObjectLockEnabled: got %s, want %s", got, want)
	}
	if got, want := render(b.Props["ObjectLockConfiguration"]), `{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Days":2555,"Mode":"COMPLIANCE"}}}`; got != want {
		t.Errorf("ObjectLockConfiguration: got %s, want %s", got, want)
	}
}

func TestTimerQueues(t *testing.T) {
	s := mainStack(t)
	q := s.one(t, "AWS::SQS::Queue", "TimerQueue")
	dlq := s.one(t, "AWS::SQS::Queue", "TimerDeadLetterQueue")
	for _, c := range []struct{ what, got, want string }{
		{"redrive", render(q.Props["RedrivePolicy"]), `{"deadLetterTargetArn":{"Fn::GetAtt":["` + dlq.ID + `","Arn"]},"maxReceiveCount":5}`},
		{"visibility timeout (escalator timeout + 30 s)", render(q.Props["VisibilityTimeout"]), "90"},
		{"queue SSE", render(q.Props["SqsManagedSseEnabled"]), "true"},
		{"DLQ SSE", render(dlq.Props["SqsManagedSseEnabled"]), "true"},
		{"DLQ retention", render(dlq.Props["MessageRetentionPeriod"]), "1209600"},
		{"no queue-level delay (per-message DelaySeconds)", render(q.Props["DelaySeconds"]), "null"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %s, want %s", c.what, c.got, c.want)
		}
	}
	tlsOnly := map[string]bool{}
	for _, p := range s.resources("AWS::SQS::QueuePolicy") {
		for _, st := range statements(p.Props["PolicyDocument"]) {
			if st.Effect == "Deny" && render(st.Condition) == `{"Bool":{"aws:SecureTransport":"false"}}` {
				for _, qq := range asList(p.Props["Queues"]) {
					tlsOnly[render(qq)] = true
				}
			}
		}
	}
	for _, id := range []string{"<TimerQueue>", "<TimerDeadLetterQueue>"} {
		if !tlsOnly[id] {
			t.Errorf("%s: no policy denying aws:SecureTransport=false", id)
		}
	}
}
