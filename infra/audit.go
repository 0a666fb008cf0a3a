package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// AuditPrefix is where the runtime writes one object per audit event (and the
// maintenance.json export); IAM grants are limited to it.
const AuditPrefix = "audit/"

// Audit is the bucket receiving one object per routing decision.
type Audit struct {
	Bucket awss3.Bucket
}

// ObjectsArn is the ARN pattern of the audit objects (bucket/audit/*).
func (a *Audit) ObjectsArn() *string { return a.Bucket.ArnForObjects(jsii.String(AuditPrefix + "*")) }

func newAudit(scope constructs.Construct, s Settings, logs *AccessLogs) *Audit {
	props := &awss3.BucketProps{
		// Audit records name customers and phone numbers: never public.
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		// Deny any request not made over TLS (bucket policy on aws:SecureTransport).
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		// SSE-S3: encrypted at rest without a KMS key to pay for or grant.
		Encryption: awss3.BucketEncryption_S3_MANAGED,
		// ACLs off: access is decided by IAM and the bucket policy only.
		ObjectOwnership: awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		// Versioning: an overwrite or delete of an audit object stays recoverable.
		Versioned: jsii.Bool(true),
		// Server access logs: who read or wrote audit objects.
		ServerAccessLogsBucket: logs.Bucket,
		ServerAccessLogsPrefix: jsii.String(accessLogPrefixAudit),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			// Older audit data is rarely read: move it to cheaper storage. S3 does not transition
			// objects under 128 KiB by default, so single events stay in Standard (cheaper for them)
			// and the larger exports move.
			Id:     jsii.String("AuditToColderStorage"),
			Prefix: jsii.String(AuditPrefix),
			Transitions: &[]*awss3.Transition{
				{StorageClass: awss3.StorageClass_INFREQUENT_ACCESS(), TransitionAfter: awscdk.Duration_Days(jsii.Number(30))},
				{StorageClass: awss3.StorageClass_GLACIER_INSTANT_RETRIEVAL(), TransitionAfter: awscdk.Duration_Days(jsii.Number(365))},
			},
			// Replaced versions (re-exports of maintenance.json) are kept 90 days, then dropped.
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(90)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
		}},
		// The audit trail outlives the stack (and a replacement); a rolled-back create removes it.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
		// Always lock-capable: Object Lock can only be enabled when a bucket is created, so
		// turning it on later would replace the bucket and the functions would silently
		// write to a new, empty one. Without a default retention nothing is locked yet.
		ObjectLockEnabled: jsii.Bool(true),
	}
	if s.ObjectLockDays > 0 {
		// Compliance mode: nobody, root included, can delete or shorten an object's retention.
		// Turned on, lengthened or shortened in place (for new objects) by auditObjectLockDays.
		props.ObjectLockDefaultRetention = awss3.ObjectLockRetention_Compliance(awscdk.Duration_Days(jsii.Number(float64(s.ObjectLockDays))))
	}
	return &Audit{Bucket: awss3.NewBucket(scope, jsii.String("AuditBucket"), props)}
}
