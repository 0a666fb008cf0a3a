package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// MediaPrefix is where the runtime stores customers' and operators' photos
// (media/<tenant>/<relay>/<sid>-<n>); IAM grants are limited to it.
const MediaPrefix = "media/"

// mediaDays is how long photos are kept: as long as the relays that name them.
const mediaDays = 30

// Media is the bucket holding photos and files of texts (MMS), served to
// Twilio and operators through short-lived presigned URLs only.
type Media struct {
	Bucket awss3.Bucket
}

// ObjectsArn is the ARN pattern of the media objects (bucket/media/*).
func (m *Media) ObjectsArn() *string { return m.Bucket.ArnForObjects(jsii.String(MediaPrefix + "*")) }

func newMedia(scope constructs.Construct, logs *AccessLogs) *Media {
	b := awss3.NewBucket(scope, jsii.String("MediaBucket"), &awss3.BucketProps{
		// Photos of customers' sites: never public (presigned URLs only), TLS only, encrypted at rest.
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		// Server access logs: who fetched or stored a photo.
		ServerAccessLogsBucket: logs.Bucket,
		ServerAccessLogsPrefix: jsii.String(accessLogPrefixMedia),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("ExpireMedia"),
			Prefix:                              jsii.String(MediaPrefix),
			Expiration:                          awscdk.Duration_Days(jsii.Number(mediaDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	return &Media{Bucket: b}
}
