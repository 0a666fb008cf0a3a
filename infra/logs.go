package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// AccessLogs is the bucket receiving S3 server access logs and CloudFront standard logs.
type AccessLogs struct {
	Bucket awss3.Bucket
}

// Log prefixes inside the access-log bucket, one per source.
const (
	accessLogPrefixAudit      = "s3/audit/"
	accessLogPrefixSite       = "s3/site/"
	accessLogPrefixMedia      = "s3/media/"
	accessLogPrefixCloudFront = "cloudfront/"
)

func newAccessLogs(scope constructs.Construct) *AccessLogs {
	b := awss3.NewBucket(scope, jsii.String("AccessLogBucket"), &awss3.BucketProps{
		// Logs hold caller IPs and paths: never public, TLS only, encrypted at rest.
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		// CloudFront standard logging writes with an ACL grant, so ACLs stay available to the bucket owner.
		ObjectOwnership: awss3.ObjectOwnership_BUCKET_OWNER_PREFERRED,
		// Access logs are for incident review, not an archive: keep 90 days.
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("ExpireAccessLogs"),
			Expiration:                          awscdk.Duration_Days(jsii.Number(90)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		// Logs of a deleted stack are still evidence.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	suppress(b, nag("AwsSolutions-S1", "This is the access-log bucket itself; logging it into itself would loop and another bucket would only move the finding."))
	return &AccessLogs{Bucket: b}
}
