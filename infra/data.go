package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Table schema shared with lambdas/dynamo (fixed by the team; see the issue).
const (
	tablePartitionKey = "pk"
	tableSortKey      = "sk"
	tableIndexName    = "gsi1"
	tableIndexPK      = "gsi1pk"
	tableIndexSK      = "gsi1sk"
	// The relay listing's index (lambdas/dynamo/relays.go): tenant + status, then time.
	relayIndexName    = "gsi2"
	relayIndexPK      = "gsi2pk"
	relayIndexSK      = "gsi2sk"
	tableTTLAttribute = "ttl"
)

// Data is the DynamoDB table holding directory and relay state.
type Data struct {
	Table awsdynamodb.Table
}

func newData(scope constructs.Construct) *Data {
	t := awsdynamodb.NewTable(scope, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(tablePartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String(tableSortKey), Type: awsdynamodb.AttributeType_STRING},
		// On-demand: traffic is bursty and small; no capacity to plan or pay for while idle.
		BillingMode: awsdynamodb.BillingMode_PAY_PER_REQUEST,
		// Point-in-time recovery: restore to any second of the last 35 days after a bad write.
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: jsii.Bool(true)},
		// Relay and claim records carry an expiry; DynamoDB deletes them for free (best-effort, days late).
		TimeToLiveAttribute: jsii.String(tableTTLAttribute),
		// Tenants, operators and relay history must survive a mistaken delete or stack teardown.
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
		// Encryption at rest: DynamoDB's default AWS owned key (always on; no KMS cost or key policy).
	})
	t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(tableIndexName),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(tableIndexPK), Type: awsdynamodb.AttributeType_STRING},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(tableIndexSK), Type: awsdynamodb.AttributeType_STRING},
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})
	// The dashboard's "Open relays": a tenant's relays in one status, newest first. Adding
	// it to a live table is an online index build; docs/architecture.md has the backfill.
	t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(relayIndexName),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(relayIndexPK), Type: awsdynamodb.AttributeType_STRING},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(relayIndexSK), Type: awsdynamodb.AttributeType_STRING},
		ProjectionType: awsdynamodb.ProjectionType_ALL,
	})
	return &Data{Table: t}
}

// RelayIndexArn is the ARN of the relay listing's index (gsi2).
func (d *Data) RelayIndexArn() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{d.Table.TableArn(), jsii.String("/index/" + relayIndexName)})
}

// IndexArn is the ARN of the gsi1 index, for Query permissions scoped to it.
func (d *Data) IndexArn() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{d.Table.TableArn(), jsii.String("/index/" + tableIndexName)})
}
