package dynamo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var _ relay.Counter = (*Store)(nil)

// A Counter sequence is one item: its number n and a map tok of recent
// tokens to the numbers they got. One conditional UpdateItem both counts
// and records the token (every operand of an update expression reads the
// item before the update, so both get the same number); the condition that
// the token is new turns an SDK retry of an applied write into a read of
// the number the first try got.
const (
	attrTokens = "tok"
	seqSK      = "SEQUENCE"
)

func seqPK(tenantID, name string) string { return "SEQ#" + esc(tenantID) + "#" + esc(name) }

// Next returns the sequence's next number, or the number token got before.
func (s *Store) Next(ctx context.Context, tenantID, name, token string) (int64, error) {
	if tenantID == "" || name == "" || token == "" {
		return 0, fmt.Errorf("next of %s: %w", name, invalid("a counter needs a tenant, a name and a token"))
	}
	key := itemKey(seqPK(tenantID, name), seqSK)
	for range 3 {
		out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: key,
			UpdateExpression:         aws.String("SET #n = if_not_exists(#n, :zero) + :one, #tok.#t = if_not_exists(#n, :zero) + :one"),
			ConditionExpression:      aws.String("attribute_exists(#tok) AND attribute_not_exists(#tok.#t)"),
			ExpressionAttributeNames: map[string]string{"#n": attrCount, "#tok": attrTokens, "#t": token},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":zero": num(0), ":one": num(1),
			},
			ReturnValues: types.ReturnValueAllNew,
		})
		if err == nil {
			n, err := getN(out.Attributes, attrCount)
			if err != nil {
				return 0, fmt.Errorf("next of %s in %s: %w", name, tenantID, err)
			}
			s.forget(ctx, key, out.Attributes, n)
			return n, nil
		}
		if !isConditionFailed(err) {
			return 0, fmt.Errorf("next of %s in %s: %w", name, tenantID, classify(err))
		}
		// The token is known (a retry), or the sequence does not exist yet.
		item, err := s.get(ctx, seqPK(tenantID, name), seqSK)
		if err != nil {
			return 0, fmt.Errorf("read sequence %s in %s: %w", name, tenantID, err)
		}
		if toks, ok := item[attrTokens].(*types.AttributeValueMemberM); ok {
			if v, ok := toks.Value[token].(*types.AttributeValueMemberN); ok {
				return strconv.ParseInt(v.Value, 10, 64)
			}
			continue // raced with a prune; count again
		}
		init := itemKey(seqPK(tenantID, name), seqSK)
		init[attrCount], init[attrTokens] = num(0), &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.table, Item: init,
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK},
		})
		if err != nil && !isConditionFailed(err) {
			return 0, fmt.Errorf("create sequence %s in %s: %w", name, tenantID, classify(err))
		}
	}
	return 0, fmt.Errorf("next of %s in %s: %w", name, tenantID, relay.Errorf(relay.Conflict, "sequence kept changing"))
}

// forget removes tokens older than twice relay.CounterMemory numbers from
// the sequence once it holds more than four times as many; best effort.
func (s *Store) forget(ctx context.Context, key map[string]types.AttributeValue, item map[string]types.AttributeValue, n int64) {
	toks, ok := item[attrTokens].(*types.AttributeValueMemberM)
	if !ok || len(toks.Value) <= 4*relay.CounterMemory {
		return
	}
	names := map[string]string{"#tok": attrTokens}
	expr := "REMOVE "
	i := 0
	for t, v := range toks.Value {
		nv, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			continue
		}
		if got, err := strconv.ParseInt(nv.Value, 10, 64); err != nil || got > n-2*relay.CounterMemory {
			continue
		}
		ph := "#t" + strconv.Itoa(i)
		names[ph] = t
		if i > 0 {
			expr += ", "
		}
		expr += "#tok." + ph
		i++
	}
	if i == 0 {
		return
	}
	_, _ = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key, UpdateExpression: aws.String(expr), ExpressionAttributeNames: names,
	})
}
