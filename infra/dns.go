package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// DNS is the domain's alias records pointing at the distribution.
type DNS struct {
	A    awsroute53.ARecord
	AAAA awsroute53.AaaaRecord
}

func newDNS(scope constructs.Construct, s Settings, edge *Edge) *DNS {
	// Zone from context, not a lookup: synth stays offline and needs no credentials.
	zone := awsroute53.HostedZone_FromHostedZoneAttributes(scope, jsii.String("HostedZone"), &awsroute53.HostedZoneAttributes{
		HostedZoneId: jsii.String(s.HostedZoneID),
		ZoneName:     jsii.String(s.HostedZoneName),
	})
	target := awsroute53.RecordTarget_FromAlias(awsroute53targets.NewCloudFrontTarget(edge.Distribution))
	return &DNS{
		A: awsroute53.NewARecord(scope, jsii.String("AliasRecord"), &awsroute53.ARecordProps{
			Zone: zone, RecordName: jsii.String(s.DomainName + "."), Target: target,
		}),
		// IPv6 viewers too (the distribution has IPv6 enabled).
		AAAA: awsroute53.NewAaaaRecord(scope, jsii.String("AliasRecordIpv6"), &awsroute53.AaaaRecordProps{
			Zone: zone, RecordName: jsii.String(s.DomainName + "."), Target: target,
		}),
	}
}
