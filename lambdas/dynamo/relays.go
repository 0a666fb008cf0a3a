package dynamo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// The relay listing's index: gsi2 on gsi2pk (tenant and status) and gsi2sk
// (received time, then id), projecting ALL. doc.go shows the item design.
const (
	attrGSI2PK = "gsi2pk"
	attrGSI2SK = "gsi2sk"
	gsi2       = "gsi2"
)

// relayScanBudget bounds the index items one listing reads per status, so a
// filter that matches little cannot turn a page into a table read; the page
// then ends early and its cursor continues where it stopped. A variable so
// that a test can make it small.
var relayScanBudget = 1000

// IndexNames are the table's global secondary indexes, for the CDK stack's
// test that the deployed table matches CreateTable.
var IndexNames = []string{gsi1, gsi2}

var _ relay.RelayLister = (*Store)(nil)

// relayStatusPK is the gsi2 partition of one tenant's relays in one status.
func relayStatusPK(tenantID string, st relay.Status) string {
	return "TENANT#" + esc(tenantID) + "#RELAYS#" + string(st)
}

// relayIndexAttrs returns the gsi2 key attributes of a relay item; a relay
// without a tenant or status stays out of the index.
func relayIndexAttrs(r relay.Relay) map[string]types.AttributeValue {
	if r.TenantID == "" || r.Status == "" {
		return nil
	}
	return map[string]types.AttributeValue{
		attrGSI2PK: str(relayStatusPK(r.TenantID, r.Status)),
		attrGSI2SK: str(relay.PositionOf(r).SortKey()),
	}
}

// ListRelays answers a relay listing from gsi2: one descending Query per
// status asked for (all three without a status filter), merged newest
// first. Customer, operator and expiry are filtered in code.
func (s *Store) ListRelays(ctx context.Context, q relay.RelayQuery) (relay.RelayPage, error) {
	if err := q.Validate(); err != nil {
		return relay.RelayPage{}, fmt.Errorf("list relays: %w", err)
	}
	var after *relay.RelayPosition
	if q.Cursor != "" {
		p, err := relay.DecodeRelayCursor(q.Cursor)
		if err != nil {
			return relay.RelayPage{}, fmt.Errorf("list relays: %w", err)
		}
		after = &p
	}
	statuses := relay.RelayStatuses
	if q.Status != "" {
		statuses = []relay.Status{q.Status}
	}
	now := time.Now()
	var found []relay.Relay
	// floor is the newest position where a status's scan stopped at its
	// budget: below it that status is unknown, so the page ends there.
	var floor *relay.RelayPosition
	for _, st := range statuses {
		rs, stopped, err := s.listStatus(ctx, q, st, after, now)
		if err != nil {
			return relay.RelayPage{}, fmt.Errorf("list %s relays: %w", st, err)
		}
		found = append(found, rs...)
		if stopped != nil && (floor == nil || stopped.Before(*floor)) {
			floor = stopped
		}
	}
	if floor != nil {
		found = slices.DeleteFunc(found, func(r relay.Relay) bool { return floor.Before(relay.PositionOf(r)) })
	}
	page, err := relay.SelectRelays(found, relay.RelayQuery{TenantID: q.TenantID, Limit: q.Limit}, now)
	if err != nil {
		return relay.RelayPage{}, fmt.Errorf("list relays: %w", err)
	}
	if page.Next == "" && floor != nil {
		page.Next = relay.EncodeRelayCursor(*floor)
	}
	return page, nil
}

// listStatus reads one status's partition newest first until it has one
// match more than the page holds, the partition ends, or the budget is
// spent; then it returns the position it stopped at.
func (s *Store) listStatus(ctx context.Context, q relay.RelayQuery, st relay.Status, after *relay.RelayPosition, now time.Time) ([]relay.Relay, *relay.RelayPosition, error) {
	cond := "#pk = :pk"
	values := map[string]types.AttributeValue{":pk": str(relayStatusPK(q.TenantID, st))}
	lo := ""
	if !q.Since.IsZero() {
		lo = relay.RelayPosition{ReceivedAt: q.Since.UnixNano()}.SortKey()
	}
	hi := ""
	if after != nil {
		hi = after.SortKey()
	}
	names := map[string]string{"#pk": attrGSI2PK}
	if lo != "" || hi != "" {
		names["#sk"] = attrGSI2SK
	}
	switch {
	case lo != "" && hi != "":
		cond += " AND #sk BETWEEN :lo AND :hi"
		values[":lo"], values[":hi"] = str(lo), str(hi)
	case lo != "":
		cond += " AND #sk >= :lo"
		values[":lo"] = str(lo)
	case hi != "":
		cond += " AND #sk <= :hi"
		values[":hi"] = str(hi)
	}
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(gsi2),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(min(max(q.Limit+1, 100), relayScanBudget))),
	}
	var out []relay.Relay
	read := 0
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, classify(err)
		}
		for _, item := range page.Items {
			read++
			var r relay.Relay
			if err := decode(item, &r); err != nil {
				return nil, nil, err
			}
			pos := relay.PositionOf(r)
			if (after == nil || after.Before(pos)) && q.Matches(r, now) {
				out = append(out, r)
				if len(out) > q.Limit {
					return out, nil, nil
				}
			}
			if read >= relayScanBudget {
				return out, &pos, nil
			}
		}
	}
	return out, nil, nil
}

// BackfillRelayIndex gives relay items written before gsi2 existed their
// index keys: it scans the table for relay items without gsi2pk and sets the
// keys with an update conditional on the version it read (a relay changed in
// between was re-put with the keys by its writer). It returns how many items
// it updated. It needs Scan and UpdateItem on the table, which only the admin
// tool has; docs/architecture.md says when to run it.
func (s *Store) BackfillRelayIndex(ctx context.Context) (int, error) {
	in := &dynamodb.ScanInput{
		TableName:                &s.table,
		FilterExpression:         aws.String("begins_with(#pk, :relay) AND attribute_not_exists(#gpk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#gpk": attrGSI2PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":relay": str(relayPK("")),
		},
	}
	n := 0
	p := dynamodb.NewScanPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("backfill relay index: scan: %w", classify(err))
		}
		for _, item := range page.Items {
			var r relay.Relay
			if err := decode(item, &r); err != nil {
				return n, fmt.Errorf("backfill relay index: %w", err)
			}
			attrs := relayIndexAttrs(r)
			if attrs == nil {
				continue
			}
			version, err := getN(item, attrVersion)
			if err != nil {
				return n, fmt.Errorf("backfill relay index %s: %w", r.ID, err)
			}
			_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: &s.table, Key: itemKey(relayPK(r.ID), relaySK),
				UpdateExpression:         aws.String("SET #gpk = :gpk, #gsk = :gsk"),
				ConditionExpression:      aws.String("#v = :v"),
				ExpressionAttributeNames: map[string]string{"#gpk": attrGSI2PK, "#gsk": attrGSI2SK, "#v": attrVersion},
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":gpk": attrs[attrGSI2PK], ":gsk": attrs[attrGSI2SK], ":v": num(version),
				},
			})
			if isConditionFailed(err) {
				continue
			}
			if err != nil {
				return n, fmt.Errorf("backfill relay index %s: %w", r.ID, classify(err))
			}
			n++
		}
	}
	return n, nil
}
