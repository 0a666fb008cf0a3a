package dynamo

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Key builders for relay state; doc.go shows the design.
func relayPK(id string) string { return "RELAY#" + esc(id) }
func codesPK(tenantID, operatorID string) string {
	return "CODES#" + esc(tenantID) + "#" + esc(operatorID)
}
func codeSK(code int) string       { return "CODE#" + strconv.Itoa(code) }
func takePK(key string) string     { return "TAKE#" + esc(key) }
func windowSK(start int64) string  { return "WINDOW#" + strconv.FormatInt(start, 10) }
func optOutSK(phone string) string { return "OPTOUT#" + esc(phone) }

const (
	relaySK = "RELAY"
	claimSK = "CLAIM"
	slotSK  = "SLOT"

	// leaseGrace keeps an expired lease a day before TTL may delete it, so
	// Codes still lists recently expired leases.
	leaseGrace = 24 * time.Hour
	// counterGrace keeps a take window or slot a while after it stops
	// mattering, so a clock a little behind still finds it.
	counterGrace = time.Hour
)

// relayItem returns the item of r, stored as version.
func relayItem(r relay.Relay, version int64) (map[string]types.AttributeValue, error) {
	r.Version = version
	data, err := encode(r)
	if err != nil {
		return nil, err
	}
	item := itemKey(relayPK(r.ID), relaySK)
	item[attrTenantID], item[attrVersion], item[attrData] = str(r.TenantID), num(version), data
	if !r.ExpiresAt.IsZero() {
		item[attrTTL] = num(ttlOf(r.ExpiresAt))
	}
	maps.Copy(item, relayIndexAttrs(r)) // the listing's index, relays.go
	return item, nil
}

// CreateRelay stores r with Version 1; Conflict if its id exists.
func (s *Store) CreateRelay(ctx context.Context, r *relay.Relay) error {
	if r.ID == "" {
		return fmt.Errorf("create relay: %w", invalid("relay id is empty"))
	}
	item, err := relayItem(*r, 1)
	if err != nil {
		return fmt.Errorf("create relay %s: %w", r.ID, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	})
	if isConditionFailed(err) {
		// The SDK retries a request whose answer was lost; if the first try
		// was applied, the retry fails its condition on our own item.
		if cur, gerr := s.get(ctx, relayPK(r.ID), relaySK); gerr == nil && sameData(cur, item) {
			r.Version = 1
			return nil
		}
		return fmt.Errorf("create relay %s: %w", r.ID, relay.Wrap(relay.Conflict, err, "relay already exists"))
	}
	if err != nil {
		return fmt.Errorf("create relay %s: %w", r.ID, classify(err))
	}
	r.Version = 1
	return nil
}

// Relay returns the relay with the given id.
func (s *Store) Relay(ctx context.Context, id string) (relay.Relay, error) {
	var r relay.Relay
	if err := s.getData(ctx, relayPK(id), relaySK, "relay", &r); err != nil {
		return relay.Relay{}, fmt.Errorf("get relay %s: %w", id, err)
	}
	return r, nil
}

// UpdateRelay stores r if the stored version equals r.Version and then
// increments r.Version; Conflict if the version differs, NotFound if the
// relay does not exist.
func (s *Store) UpdateRelay(ctx context.Context, r *relay.Relay) error {
	next := r.Version + 1
	item, err := relayItem(*r, next)
	if err != nil {
		return fmt.Errorf("update relay %s: %w", r.ID, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("#v = :v"),
		ExpressionAttributeNames:  map[string]string{"#v": attrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(r.Version)},
	})
	if isConditionFailed(err) {
		// Tell a missing relay from a changed one; relays are never deleted
		// but by TTL, so the answer does not go stale in between.
		cur, gerr := s.get(ctx, relayPK(r.ID), relaySK)
		switch {
		case gerr != nil:
			err = gerr
		case cur == nil:
			err = relay.Errorf(relay.NotFound, "relay not found")
		case sameData(cur, item):
			// Our own write, applied by a try whose answer was lost.
			r.Version = next
			return nil
		default:
			err = relay.Wrap(relay.Conflict, err, "relay changed")
		}
		return fmt.Errorf("update relay %s: %w", r.ID, err)
	}
	if err != nil {
		return fmt.Errorf("update relay %s: %w", r.ID, classify(err))
	}
	r.Version = next
	return nil
}

// ClaimCode stores l unless an unexpired lease holds the same code.
func (s *Store) ClaimCode(ctx context.Context, l relay.CodeLease) error {
	if l.TenantID == "" || l.OperatorID == "" {
		return fmt.Errorf("claim code: %w", invalid("lease tenant and operator are required"))
	}
	data, err := encode(l)
	if err != nil {
		return fmt.Errorf("claim code %d of %s/%s: %w", l.Code, l.TenantID, l.OperatorID, err)
	}
	item := itemKey(codesPK(l.TenantID, l.OperatorID), codeSK(l.Code))
	item[attrRelayID], item[attrExpiresAt], item[attrData] = str(l.RelayID), num(l.ExpiresAt.UnixNano()), data
	item[attrTTL] = num(ttlOf(l.ExpiresAt.Add(leaseGrace)))
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #exp <= :created"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#exp": attrExpiresAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":created": num(l.CreatedAt.UnixNano())},
	})
	if isConditionFailed(err) {
		err = relay.Wrap(relay.Conflict, err, "code already leased")
		// A retried request whose first try was applied finds its own lease.
		if cur, gerr := s.get(ctx, codesPK(l.TenantID, l.OperatorID), codeSK(l.Code)); gerr == nil && sameLease(cur, item) {
			err = nil
		}
	} else {
		err = classify(err)
	}
	if err != nil {
		return fmt.Errorf("claim code %d of %s/%s: %w", l.Code, l.TenantID, l.OperatorID, err)
	}
	return nil
}

// Codes returns the operator's leases, expired ones included (until TTL
// deletes them, a day after they expire).
func (s *Store) Codes(ctx context.Context, tenantID, operatorID string) ([]relay.CodeLease, error) {
	items, err := s.query(ctx, &dynamodb.QueryInput{
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(codesPK(tenantID, operatorID))},
	})
	if err != nil {
		return nil, fmt.Errorf("list codes of %s/%s: %w", tenantID, operatorID, err)
	}
	ls := make([]relay.CodeLease, 0, len(items))
	for _, item := range items {
		var l relay.CodeLease
		if err := decode(item, &l); err != nil {
			return nil, fmt.Errorf("list codes of %s/%s: %w", tenantID, operatorID, err)
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// Take counts one use of key in the fixed window containing now and reports
// whether the count stayed within limit.
func (s *Store) Take(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, error) {
	if key == "" || window <= 0 {
		return false, fmt.Errorf("take %s: %w", key, invalid("take needs a key and a positive window"))
	}
	start := relay.WindowStart(now, window)
	// Each take appends a token to the item's list, so an SDK retry of a
	// request that was applied but whose answer was lost counts once, and
	// finds its own number: its token's place in the list.
	tok := fmt.Sprintf("%016x", rand.Uint64())
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: itemKey(takePK(key), windowSK(start)),
		UpdateExpression:         aws.String("ADD #n :one SET #toks = list_append(if_not_exists(#toks, :empty), :tokl), #ttl = :ttl"),
		ConditionExpression:      aws.String("attribute_not_exists(#toks) OR NOT contains(#toks, :t)"),
		ExpressionAttributeNames: map[string]string{"#n": attrCount, "#ttl": attrTTL, "#toks": attrTakeToks},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":   num(1),
			":empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
			":tokl":  &types.AttributeValueMemberL{Value: []types.AttributeValue{str(tok)}},
			":t":     str(tok),
			":ttl":   num(ttlOf(time.Unix(0, start).Add(window + counterGrace))),
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	var n int64
	switch {
	case isConditionFailed(err):
		// Our own earlier try was applied: our number is our token's place.
		item, gerr := s.get(ctx, takePK(key), windowSK(start))
		if gerr != nil {
			return false, fmt.Errorf("take %s: %w", key, gerr)
		}
		toks, _ := item[attrTakeToks].(*types.AttributeValueMemberL)
		for i, v := range toksOf(toks) {
			if v == tok {
				n = int64(i + 1)
			}
		}
		if n == 0 {
			return false, fmt.Errorf("take %s: %w", key, relay.Errorf(relay.Conflict, "take token not found"))
		}
	case err != nil:
		return false, fmt.Errorf("take %s: %w", key, classify(err))
	default:
		if n, err = getN(out.Attributes, attrCount); err != nil {
			return false, fmt.Errorf("take %s: %w", key, err)
		}
	}
	return n <= int64(limit), nil
}

// SetOptOut records whether phone opted out of the tenant's texts. A change
// older than the recorded one is ignored, so STOP and START delivered out of
// order keep the later decision.
func (s *Store) SetOptOut(ctx context.Context, tenantID, phone string, optedOut bool, at time.Time) error {
	item := itemKey(tenantPK(tenantID), optOutSK(phone))
	item[attrOptedOut], item[attrAt] = &types.AttributeValueMemberBOOL{Value: optedOut}, num(at.UnixNano())
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #at <= :at"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#at": attrAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": num(at.UnixNano())},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("set opt-out in %s: %w", tenantID, classify(err))
	}
	return nil
}

// OptedOut reports whether phone opted out of the tenant's texts.
func (s *Store) OptedOut(ctx context.Context, tenantID, phone string) (bool, error) {
	item, err := s.get(ctx, tenantPK(tenantID), optOutSK(phone))
	if err != nil {
		return false, fmt.Errorf("get opt-out in %s: %w", tenantID, err)
	}
	v, _ := item[attrOptedOut].(*types.AttributeValueMemberBOOL)
	return v != nil && v.Value, nil
}

// sameData reports whether two relay items hold the same version and data:
// every relay write carries a fresh token in its data, so equal data means
// the stored item is this very write.
func sameData(a, b map[string]types.AttributeValue) bool {
	av, ok1 := a[attrData].(*types.AttributeValueMemberS)
	bv, ok2 := b[attrData].(*types.AttributeValueMemberS)
	an, ok3 := a[attrVersion].(*types.AttributeValueMemberN)
	bn, ok4 := b[attrVersion].(*types.AttributeValueMemberN)
	return ok1 && ok2 && ok3 && ok4 && av.Value == bv.Value && an.Value == bn.Value
}

// sameLease reports whether a stored lease item is the one in b.
func sameLease(a, b map[string]types.AttributeValue) bool {
	av, ok1 := a[attrData].(*types.AttributeValueMemberS)
	bv, ok2 := b[attrData].(*types.AttributeValueMemberS)
	return ok1 && ok2 && av.Value == bv.Value
}

// toksOf returns a take item's tokens in the order they were appended.
func toksOf(l *types.AttributeValueMemberL) []string {
	if l == nil {
		return nil
	}
	out := make([]string, 0, len(l.Value))
	for _, v := range l.Value {
		if sv, ok := v.(*types.AttributeValueMemberS); ok {
			out = append(out, sv.Value)
		}
	}
	return out
}
