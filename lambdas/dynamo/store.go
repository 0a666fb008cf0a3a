package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dispatchrelay/dispatch-relay/lambdas/awserr"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Attribute names; doc.go shows the item design.
const (
	attrPK        = "pk"
	attrSK        = "sk"
	attrGSI1PK    = "gsi1pk"
	attrGSI1SK    = "gsi1sk"
	attrTTL       = "ttl"
	attrData      = "data"
	attrTenantID  = "tenant_id"
	attrVersion   = "version"
	attrClaimedAt = "claimed_at"
	attrExpiresAt = "expires_at"
	attrRelayID   = "relay_id"
	attrCount     = "n"
	attrTakeToks  = "toks" // a take item's request tokens (exactly-once counting)
	attrLast      = "last"
	attrOptedOut  = "opted_out"
	attrAt        = "at"

	// gsi1 is the name of the table's one global secondary index.
	gsi1 = "gsi1"
)

// Store is a relay.Store on one DynamoDB table. It is safe for concurrent use.
type Store struct {
	client *dynamodb.Client
	table  string
}

var _ relay.Store = (*Store)(nil)

// New returns a Store on the table, which must have the schema CreateTable
// makes.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table}
}

// esc escapes the key separator '#' (and the escape character) in a part of
// a key, so that parts from callers cannot spell other keys.
var esc = strings.NewReplacer("%", "%25", "#", "%23").Replace

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

// getS returns the string attribute name of item, or "".
func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// getN returns the number attribute name of item as an int64.
func getN(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, relay.Errorf(relay.Internal, "attribute %s is not a number", name)
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return 0, relay.Wrap(relay.Internal, err, "attribute "+name+" is not an integer")
	}
	return n, nil
}

// decode unmarshals the JSON data attribute of item into v.
func decode(item map[string]types.AttributeValue, v any) error {
	if err := json.Unmarshal([]byte(getS(item, attrData)), v); err != nil {
		return relay.Wrap(relay.Internal, err, "stored item is not valid")
	}
	return nil
}

// encode returns v as the JSON data attribute.
func encode(v any) (types.AttributeValue, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, relay.Wrap(relay.Internal, err, "encode item")
	}
	return str(string(b)), nil
}

// ttlOf returns t as a TTL value: Unix seconds, rounded up so that an item
// never expires before t.
func ttlOf(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// get reads one item, strongly consistent; a missing item is nil.
func (s *Store) get(ctx context.Context, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: itemKey(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, classify(err)
	}
	return out.Item, nil
}

// getData reads one item into v, or fails with NotFound naming what.
func (s *Store) getData(ctx context.Context, pk, sk, what string, v any) error {
	item, err := s.get(ctx, pk, sk)
	if err != nil {
		return err
	}
	if item == nil {
		return relay.Errorf(relay.NotFound, "%s not found", what)
	}
	return decode(item, v)
}

// query returns every item the query matches, following pages.
func (s *Store) query(ctx context.Context, in *dynamodb.QueryInput) ([]map[string]types.AttributeValue, error) {
	in.TableName = &s.table
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify(err)
		}
		items = append(items, page.Items...)
	}
	return items, nil
}

// queryGSI1 returns the items of gsi1 whose gsi1pk is pk, in gsi1sk order.
func (s *Store) queryGSI1(ctx context.Context, pk string) ([]map[string]types.AttributeValue, error) {
	return s.query(ctx, &dynamodb.QueryInput{
		IndexName:                 aws.String(gsi1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
	})
}

// isConditionFailed reports whether err is a lost ConditionExpression.
func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// errorCodes are DynamoDB's error codes worth retrying later; the transport
// (network failures, deadlines, 5xx) is classified by awserr.
var errorCodes = map[string]relay.Kind{
	"ThrottlingException":                    relay.Transient,
	"ProvisionedThroughputExceededException": relay.Transient,
	"RequestLimitExceeded":                   relay.Transient,
	"InternalServerError":                    relay.Transient,
	"ServiceUnavailable":                     relay.Transient,
	"InternalFailure":                        relay.Transient,
}

// classify gives an SDK error its relay Kind: a lost condition is Conflict;
// throttling, 5xx answers, network failures and deadlines are Transient;
// anything else is Internal.
func classify(err error) error {
	if err != nil && isConditionFailed(err) {
		return relay.Wrap(relay.Conflict, err, "condition failed")
	}
	return awserr.Classify(err, "store request failed", errorCodes)
}

// Ping reads an item that never exists, which proves the table is
// reachable with no permission beyond GetItem.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.get(ctx, "PING", "PING"); err != nil {
		return fmt.Errorf("ping table %s: %w", s.table, err)
	}
	return nil
}
