package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var (
	_ relay.DirectoryWriter = (*Store)(nil)
	_ relay.DirectoryLister = (*Store)(nil)
	_ relay.RegistryStore   = (*Store)(nil)
)

// guard is the condition of a directory write: the item is absent, or its
// data attribute is still the exact string that was read.
type guard struct {
	expr   string
	names  map[string]string
	values map[string]types.AttributeValue
}

// expectItem reads the item at (pk, sk) and checks a conditional write
// against it: prev nil means absent, otherwise equal to *prev. It returns
// the stored value and the condition that keeps the check true until the
// write lands.
func expectItem[T any](ctx context.Context, s *Store, pk, sk string, prev *T, what string) (T, guard, error) {
	var cur T
	item, err := s.get(ctx, pk, sk)
	if err != nil {
		return cur, guard{}, err
	}
	if item == nil {
		if prev != nil {
			return cur, guard{}, relay.Errorf(relay.NotFound, "%s not found", what)
		}
		return cur, guard{expr: "attribute_not_exists(#pk)", names: map[string]string{"#pk": attrPK}}, nil
	}
	if prev == nil {
		return cur, guard{}, relay.Errorf(relay.Conflict, "%s exists", what)
	}
	if err := decode(item, &cur); err != nil {
		return cur, guard{}, err
	}
	got, _ := json.Marshal(cur)
	want, _ := json.Marshal(*prev)
	if string(got) != string(want) {
		return cur, guard{}, relay.Errorf(relay.Conflict, "%s changed", what)
	}
	return cur, guard{expr: "#d = :raw", names: map[string]string{"#d": attrData},
		values: map[string]types.AttributeValue{":raw": item[attrData]}}, nil
}

// putGuarded writes one directory item under g.
func (s *Store) putGuarded(ctx context.Context, item map[string]types.AttributeValue, g guard) error {
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: &g.expr, ExpressionAttributeNames: g.names, ExpressionAttributeValues: nilIfEmpty(g.values)})
	return classify(err)
}

// entryItem is a directory entry's item with its gsi1 keys.
func entryItem(pk, sk, gsiPK, gsiSK string, v any) (map[string]types.AttributeValue, error) {
	data, err := encode(v)
	if err != nil {
		return nil, err
	}
	item := itemKey(pk, sk)
	item[attrGSI1PK], item[attrGSI1SK], item[attrData] = str(gsiPK), str(gsiSK), data
	return item, nil
}

// ReplaceTenant stores t if the stored tenant still equals prev, claiming
// its numbers first and releasing the ones it dropped afterwards.
func (s *Store) ReplaceTenant(ctx context.Context, t relay.Tenant, prev *relay.Tenant) error {
	if t.ID == "" {
		return fmt.Errorf("replace tenant: %w", invalid("tenant id is empty"))
	}
	err := func() error {
		old, g, err := expectItem(ctx, s, tenantPK(t.ID), tenantSK, prev, "tenant")
		if err != nil {
			return err
		}
		for _, n := range t.Numbers {
			if err := s.claimNumber(ctx, n, t.ID); err != nil {
				return err
			}
		}
		item, err := entryItem(tenantPK(t.ID), tenantSK, tenantsGSI, esc(t.ID), t)
		if err != nil {
			return err
		}
		if err := s.putGuarded(ctx, item, g); err != nil {
			return err
		}
		for _, n := range old.Numbers {
			if t.HasNumber(n) {
				continue
			}
			_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName: &s.table, Key: itemKey(numberPK(n), numberSK),
				ConditionExpression:       aws.String("#t = :t"),
				ExpressionAttributeNames:  map[string]string{"#t": attrTenantID},
				ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(t.ID)},
			})
			if err != nil && !isConditionFailed(err) {
				return classify(err)
			}
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("replace tenant %s: %w", t.ID, err)
	}
	return nil
}

// ReplaceOperator stores o if the stored operator still equals prev.
func (s *Store) ReplaceOperator(ctx context.Context, o relay.Operator, prev *relay.Operator) error {
	if o.TenantID == "" || o.ID == "" {
		return fmt.Errorf("replace operator: %w", invalid("operator tenant and id are required"))
	}
	if err := replaceEntry(ctx, s, tenantPK(o.TenantID), operatorSK(o.ID), operatorPhonePK(o.TenantID, o.Phone), esc(o.ID), o, prev, "operator"); err != nil {
		return fmt.Errorf("replace operator %s/%s: %w", o.TenantID, o.ID, err)
	}
	return nil
}

// ReplaceCustomer stores c if the stored customer still equals prev.
func (s *Store) ReplaceCustomer(ctx context.Context, c relay.Customer, prev *relay.Customer) error {
	if c.TenantID == "" || c.ID == "" {
		return fmt.Errorf("replace customer: %w", invalid("customer tenant and id are required"))
	}
	if err := replaceEntry(ctx, s, tenantPK(c.TenantID), customerSK(c.ID), customerPhonePK(c.TenantID, c.Phone), esc(c.ID), c, prev, "customer"); err != nil {
		return fmt.Errorf("replace customer %s/%s: %w", c.TenantID, c.ID, err)
	}
	return nil
}

// ReplaceJob stores j if the stored job still equals prev.
func (s *Store) ReplaceJob(ctx context.Context, j relay.Job, prev *relay.Job) error {
	if j.TenantID == "" || j.ID == "" {
		return fmt.Errorf("replace job: %w", invalid("job tenant and id are required"))
	}
	if err := replaceEntry(ctx, s, tenantPK(j.TenantID), jobSK(j.ID), customerJobsPK(j.TenantID, j.CustomerID), esc(j.ID), j, prev, "job"); err != nil {
		return fmt.Errorf("replace job %s/%s: %w", j.TenantID, j.ID, err)
	}
	return nil
}

func replaceEntry[T any](ctx context.Context, s *Store, pk, sk, gsiPK, gsiSK string, v T, prev *T, what string) error {
	_, g, err := expectItem(ctx, s, pk, sk, prev, what)
	if err != nil {
		return err
	}
	item, err := entryItem(pk, sk, gsiPK, gsiSK, v)
	if err != nil {
		return err
	}
	return s.putGuarded(ctx, item, g)
}

func deleteEntry[T any](ctx context.Context, s *Store, pk, sk string, prev T, what string) error {
	_, g, err := expectItem(ctx, s, pk, sk, &prev, what)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: itemKey(pk, sk),
		ConditionExpression: &g.expr, ExpressionAttributeNames: g.names, ExpressionAttributeValues: g.values})
	return classify(err)
}

// DeleteOperator removes the operator if it still equals prev; its phone
// index is the same item's gsi1 keys, so it goes with it.
func (s *Store) DeleteOperator(ctx context.Context, prev relay.Operator) error {
	if err := deleteEntry(ctx, s, tenantPK(prev.TenantID), operatorSK(prev.ID), prev, "operator"); err != nil {
		return fmt.Errorf("delete operator %s/%s: %w", prev.TenantID, prev.ID, err)
	}
	return nil
}

// DeleteCustomer removes the customer if it still equals prev.
func (s *Store) DeleteCustomer(ctx context.Context, prev relay.Customer) error {
	if err := deleteEntry(ctx, s, tenantPK(prev.TenantID), customerSK(prev.ID), prev, "customer"); err != nil {
		return fmt.Errorf("delete customer %s/%s: %w", prev.TenantID, prev.ID, err)
	}
	return nil
}

// DeleteJob removes the job if it still equals prev.
func (s *Store) DeleteJob(ctx context.Context, prev relay.Job) error {
	if err := deleteEntry(ctx, s, tenantPK(prev.TenantID), jobSK(prev.ID), prev, "job"); err != nil {
		return fmt.Errorf("delete job %s/%s: %w", prev.TenantID, prev.ID, err)
	}
	return nil
}

// Job returns one of a tenant's jobs.
func (s *Store) Job(ctx context.Context, tenantID, id string) (relay.Job, error) {
	var j relay.Job
	if err := s.getData(ctx, tenantPK(tenantID), jobSK(id), "job", &j); err != nil {
		return relay.Job{}, fmt.Errorf("get job %s/%s: %w", tenantID, id, err)
	}
	return j, nil
}

// listPartition pages through the tenant partition's items whose sk starts
// with prefix, in sk order, keeping those match accepts.
func listPartition[T any](ctx context.Context, s *Store, tenantID, prefix string, q relay.ListQuery, id func(T) string, match func(T) bool, filtered bool) ([]T, string, error) {
	after, err := q.After()
	if err != nil {
		return nil, "", err
	}
	limit := q.PageSize()
	in := &dynamodb.QueryInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :p)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(tenantPK(tenantID)), ":p": str(prefix)},
	}
	if after != "" {
		in.ExclusiveStartKey = itemKey(tenantPK(tenantID), prefix+esc(after))
	}
	out := make([]T, 0, min(limit, 64))
	for {
		batch := limit - len(out) + 1 // one more tells whether another page follows
		if filtered {
			batch = relay.MaxListLimit
		}
		in.Limit = aws.Int32(int32(batch))
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, "", classify(err)
		}
		for i, item := range page.Items {
			var e T
			if err := decode(item, &e); err != nil {
				return nil, "", err
			}
			if !match(e) {
				continue
			}
			out = append(out, e)
			if len(out) == limit {
				if i+1 < len(page.Items) || page.LastEvaluatedKey != nil {
					return out, relay.EncodeCursor(id(e)), nil
				}
				return out, "", nil
			}
		}
		if page.LastEvaluatedKey == nil {
			return out, "", nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// listIndexed reads every item under one gsi1 key (a phone's customers, a
// customer's jobs: a handful) and pages through them in memory.
func listIndexed[T any](ctx context.Context, s *Store, gsiPK string, q relay.ListQuery, id func(T) string, match func(T) bool) ([]T, string, error) {
	items, err := s.queryGSI1(ctx, gsiPK)
	if err != nil {
		return nil, "", err
	}
	all := make([]T, 0, len(items))
	for _, item := range items {
		var e T
		if err := decode(item, &e); err != nil {
			return nil, "", err
		}
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b T) int { return strings.Compare(id(a), id(b)) })
	return relay.Paginate(all, id, match, q)
}

// ListOperators pages through a tenant's operators.
func (s *Store) ListOperators(ctx context.Context, tenantID string, q relay.ListQuery) ([]relay.Operator, string, error) {
	id := func(o relay.Operator) string { return o.ID }
	var (
		ops  []relay.Operator
		next string
		err  error
	)
	if q.Phone != "" {
		ops, next, err = listIndexed(ctx, s, operatorPhonePK(tenantID, q.Phone), q, id, q.MatchOperator)
	} else {
		ops, next, err = listPartition(ctx, s, tenantID, operatorSK(""), q, id, q.MatchOperator, false)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list operators of %s: %w", tenantID, err)
	}
	return ops, next, nil
}

// ListCustomers pages through a tenant's customers; a phone filter reads
// the phone's index entry instead of the partition.
func (s *Store) ListCustomers(ctx context.Context, tenantID string, q relay.ListQuery) ([]relay.Customer, string, error) {
	id := func(c relay.Customer) string { return c.ID }
	var (
		cs   []relay.Customer
		next string
		err  error
	)
	if q.Phone != "" {
		cs, next, err = listIndexed(ctx, s, customerPhonePK(tenantID, q.Phone), q, id, q.MatchCustomer)
	} else {
		cs, next, err = listPartition(ctx, s, tenantID, customerSK(""), q, id, q.MatchCustomer, false)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list customers of %s: %w", tenantID, err)
	}
	return cs, next, nil
}

// ListJobs pages through a tenant's jobs; a customer filter reads the
// customer's index entries, state and operator filter as they read.
func (s *Store) ListJobs(ctx context.Context, tenantID string, q relay.ListQuery) ([]relay.Job, string, error) {
	id := func(j relay.Job) string { return j.ID }
	var (
		js   []relay.Job
		next string
		err  error
	)
	if q.Customer != "" {
		js, next, err = listIndexed(ctx, s, customerJobsPK(tenantID, q.Customer), q, id, q.MatchJob)
	} else {
		js, next, err = listPartition(ctx, s, tenantID, jobSK(""), q, id, q.MatchJob, q.State != "" || q.Operator != "")
	}
	if err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: %w", tenantID, err)
	}
	return js, next, nil
}
