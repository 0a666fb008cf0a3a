package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// threadTTL is how long a thread pointer outlives the relay it names; the
// relay itself is kept for relay.DefaultRelayTTL.
const threadTTL = relay.DefaultRelayTTL + 24*time.Hour

func threadSK(phone string) string { return "THREAD#" + esc(phone) }

// LatestRelay returns the id of the phone's latest relay in the tenant.
func (s *Store) LatestRelay(ctx context.Context, tenantID, phone string) (string, error) {
	item, err := s.get(ctx, tenantPK(tenantID), threadSK(phone))
	if err != nil {
		return "", fmt.Errorf("get thread in %s: %w", tenantID, err)
	}
	id := getS(item, attrRelayID)
	if id == "" {
		return "", relay.Errorf(relay.NotFound, "thread not found")
	}
	return id, nil
}

// SetLatestRelay points the phone's thread at relayID with one conditional
// put, unless a relay started later holds it.
func (s *Store) SetLatestRelay(ctx context.Context, tenantID, phone, relayID string, at time.Time) error {
	if tenantID == "" || phone == "" || relayID == "" {
		return relay.Errorf(relay.Invalid, "thread needs a tenant, a phone and a relay")
	}
	item := itemKey(tenantPK(tenantID), threadSK(phone))
	item[attrRelayID], item[attrAt] = str(relayID), num(at.UnixNano())
	item[attrTTL] = num(ttlOf(at.Add(threadTTL)))
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #at <= :at"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#at": attrAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": num(at.UnixNano())},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("set thread in %s: %w", tenantID, classify(err))
	}
	return nil
}
