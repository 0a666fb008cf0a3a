package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// Key builders for the directory; doc.go shows the design.
func tenantPK(tenantID string) string { return "TENANT#" + esc(tenantID) }
func numberPK(number string) string   { return "NUMBER#" + esc(number) }
func operatorSK(id string) string     { return "OPERATOR#" + esc(id) }
func customerSK(id string) string     { return "CUSTOMER#" + esc(id) }
func jobSK(id string) string          { return "JOB#" + esc(id) }
func operatorPhonePK(tenantID, phone string) string {
	return tenantPK(tenantID) + "#OPERATOR_PHONE#" + esc(phone)
}
func customerPhonePK(tenantID, phone string) string {
	return tenantPK(tenantID) + "#CUSTOMER_PHONE#" + esc(phone)
}
func customerJobsPK(tenantID, customerID string) string {
	return tenantPK(tenantID) + "#CUSTOMER_JOBS#" + esc(customerID)
}

const (
	tenantSK   = "TENANT"
	numberSK   = "NUMBER"
	tenantsGSI = "TENANTS"
)

func invalid(format string, args ...any) error { return relay.Errorf(relay.Invalid, format, args...) }

// Tenant returns the tenant with the given id.
func (s *Store) Tenant(ctx context.Context, id string) (relay.Tenant, error) {
	var t relay.Tenant
	if err := s.getData(ctx, tenantPK(id), tenantSK, "tenant", &t); err != nil {
		return relay.Tenant{}, fmt.Errorf("get tenant %s: %w", id, err)
	}
	return t, nil
}

// Tenants returns every tenant ordered by id.
func (s *Store) Tenants(ctx context.Context) ([]relay.Tenant, error) {
	items, err := s.queryGSI1(ctx, tenantsGSI)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	ts := make([]relay.Tenant, 0, len(items))
	for _, item := range items {
		var t relay.Tenant
		if err := decode(item, &t); err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b relay.Tenant) int { return strings.Compare(a.ID, b.ID) })
	return ts, nil
}

// TenantByNumber returns the tenant that publishes number.
func (s *Store) TenantByNumber(ctx context.Context, number string) (relay.Tenant, error) {
	t, err := s.numberOwner(ctx, number)
	if err != nil {
		return relay.Tenant{}, fmt.Errorf("get tenant by number %s: %w", number, err)
	}
	return t, nil
}

// numberOwner returns the tenant that the number item points to, which must
// still list the number; NotFound otherwise.
func (s *Store) numberOwner(ctx context.Context, number string) (relay.Tenant, error) {
	item, err := s.get(ctx, numberPK(number), numberSK)
	if err != nil {
		return relay.Tenant{}, err
	}
	if item == nil {
		return relay.Tenant{}, relay.Errorf(relay.NotFound, "number not found")
	}
	var t relay.Tenant
	if err := s.getData(ctx, tenantPK(getS(item, attrTenantID)), tenantSK, "number", &t); err != nil {
		return relay.Tenant{}, err
	}
	if !t.HasNumber(number) {
		return relay.Tenant{}, relay.Errorf(relay.NotFound, "number not found")
	}
	return t, nil
}

// PutTenant stores t and routes its numbers to it. A number that another
// tenant publishes is a Conflict, and the tenant is not stored then.
func (s *Store) PutTenant(ctx context.Context, t relay.Tenant) error {
	if t.ID == "" {
		return fmt.Errorf("put tenant: %w", invalid("tenant id is empty"))
	}
	if err := s.putTenant(ctx, t); err != nil {
		return fmt.Errorf("put tenant %s: %w", t.ID, err)
	}
	return nil
}

func (s *Store) putTenant(ctx context.Context, t relay.Tenant) error {
	var old relay.Tenant
	if err := s.getData(ctx, tenantPK(t.ID), tenantSK, "tenant", &old); err != nil && !relay.IsKind(err, relay.NotFound) {
		return err
	}
	for _, n := range t.Numbers {
		if err := s.claimNumber(ctx, n, t.ID); err != nil {
			return err
		}
	}
	data, err := encode(t)
	if err != nil {
		return err
	}
	item := itemKey(tenantPK(t.ID), tenantSK)
	item[attrGSI1PK], item[attrGSI1SK], item[attrData] = str(tenantsGSI), str(esc(t.ID)), data
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return classify(err)
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
}

// claimNumber points the number item at tenantID unless another tenant
// still lists the number.
func (s *Store) claimNumber(ctx context.Context, number, tenantID string) error {
	item := itemKey(numberPK(number), numberSK)
	item[attrTenantID] = str(tenantID)
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #t = :t"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#t": attrTenantID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": str(tenantID)},
	})
	if !isConditionFailed(err) {
		return classify(err)
	}
	owner, err := s.numberOwner(ctx, number)
	switch {
	case err == nil:
		return relay.Errorf(relay.Conflict, "number %s belongs to tenant %s", number, owner.ID)
	case !relay.IsKind(err, relay.NotFound):
		return err
	}
	// The owner no longer lists the number: take the stale item over, unless
	// it changed meanwhile.
	cur, err := s.get(ctx, numberPK(number), numberSK)
	if err != nil {
		return err
	}
	cond := "attribute_not_exists(#pk)"
	values := map[string]types.AttributeValue{}
	if cur != nil {
		cond = "#t = :prev"
		values[":prev"] = str(getS(cur, attrTenantID))
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item, ConditionExpression: &cond,
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#t": attrTenantID},
		ExpressionAttributeValues: nilIfEmpty(values),
	})
	if isConditionFailed(err) {
		return relay.Wrap(relay.Conflict, err, "number "+number+" changed owner meanwhile")
	}
	return classify(err)
}

// nilIfEmpty returns nil for an empty map: DynamoDB refuses empty
// ExpressionAttributeValues.
func nilIfEmpty(m map[string]types.AttributeValue) map[string]types.AttributeValue {
	if len(m) == 0 {
		return nil
	}
	return m
}

// putEntry stores one directory entry of a tenant with its gsi1 keys.
func (s *Store) putEntry(ctx context.Context, pk, sk, gsiPK, gsiSK string, v any) error {
	data, err := encode(v)
	if err != nil {
		return err
	}
	item := itemKey(pk, sk)
	item[attrGSI1PK], item[attrGSI1SK], item[attrData] = str(gsiPK), str(gsiSK), data
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item})
	return classify(err)
}

// Operator returns one of a tenant's operators.
func (s *Store) Operator(ctx context.Context, tenantID, id string) (relay.Operator, error) {
	var o relay.Operator
	if err := s.getData(ctx, tenantPK(tenantID), operatorSK(id), "operator", &o); err != nil {
		return relay.Operator{}, fmt.Errorf("get operator %s/%s: %w", tenantID, id, err)
	}
	return o, nil
}

// OperatorByPhone returns the tenant's operator with the given phone; when
// several share it, the one with the lowest id.
func (s *Store) OperatorByPhone(ctx context.Context, tenantID, phone string) (relay.Operator, error) {
	var o relay.Operator
	if err := s.first(ctx, operatorPhonePK(tenantID, phone), "operator", &o); err != nil {
		return relay.Operator{}, fmt.Errorf("get operator by phone in %s: %w", tenantID, err)
	}
	return o, nil
}

// PutOperator stores o, replacing the operator with the same id.
func (s *Store) PutOperator(ctx context.Context, o relay.Operator) error {
	if o.TenantID == "" || o.ID == "" {
		return fmt.Errorf("put operator: %w", invalid("operator tenant and id are required"))
	}
	if err := s.putEntry(ctx, tenantPK(o.TenantID), operatorSK(o.ID), operatorPhonePK(o.TenantID, o.Phone), esc(o.ID), o); err != nil {
		return fmt.Errorf("put operator %s/%s: %w", o.TenantID, o.ID, err)
	}
	return nil
}

// Customer returns one of a tenant's customers.
func (s *Store) Customer(ctx context.Context, tenantID, id string) (relay.Customer, error) {
	var c relay.Customer
	if err := s.getData(ctx, tenantPK(tenantID), customerSK(id), "customer", &c); err != nil {
		return relay.Customer{}, fmt.Errorf("get customer %s/%s: %w", tenantID, id, err)
	}
	return c, nil
}

// CustomerByPhone returns the tenant's customer with the given phone; when
// several share it, the one with the lowest id.
func (s *Store) CustomerByPhone(ctx context.Context, tenantID, phone string) (relay.Customer, error) {
	var c relay.Customer
	if err := s.first(ctx, customerPhonePK(tenantID, phone), "customer", &c); err != nil {
		return relay.Customer{}, fmt.Errorf("get customer by phone in %s: %w", tenantID, err)
	}
	return c, nil
}

// PutCustomer stores c, replacing the customer with the same id.
func (s *Store) PutCustomer(ctx context.Context, c relay.Customer) error {
	if c.TenantID == "" || c.ID == "" {
		return fmt.Errorf("put customer: %w", invalid("customer tenant and id are required"))
	}
	if err := s.putEntry(ctx, tenantPK(c.TenantID), customerSK(c.ID), customerPhonePK(c.TenantID, c.Phone), esc(c.ID), c); err != nil {
		return fmt.Errorf("put customer %s/%s: %w", c.TenantID, c.ID, err)
	}
	return nil
}

// first decodes the gsi1 item with the lowest gsi1sk under gsiPK into v.
func (s *Store) first(ctx context.Context, gsiPK, what string, v any) error {
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(gsi1), Limit: aws.Int32(1),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(gsiPK)},
	})
	if err != nil {
		return classify(err)
	}
	if len(out.Items) == 0 {
		return relay.Errorf(relay.NotFound, "%s not found", what)
	}
	return decode(out.Items[0], v)
}

// JobsForCustomer returns the customer's jobs ordered by id.
func (s *Store) JobsForCustomer(ctx context.Context, tenantID, customerID string) ([]relay.Job, error) {
	items, err := s.queryGSI1(ctx, customerJobsPK(tenantID, customerID))
	if err != nil {
		return nil, fmt.Errorf("list jobs of customer %s/%s: %w", tenantID, customerID, err)
	}
	js := make([]relay.Job, 0, len(items))
	for _, item := range items {
		var j relay.Job
		if err := decode(item, &j); err != nil {
			return nil, fmt.Errorf("list jobs of customer %s/%s: %w", tenantID, customerID, err)
		}
		js = append(js, j)
	}
	// gsi1sk holds escaped ids, whose order can differ from the ids'.
	slices.SortFunc(js, func(a, b relay.Job) int { return strings.Compare(a.ID, b.ID) })
	return js, nil
}

// PutJob stores j, replacing the job with the same id.
func (s *Store) PutJob(ctx context.Context, j relay.Job) error {
	if j.TenantID == "" || j.ID == "" {
		return fmt.Errorf("put job: %w", invalid("job tenant and id are required"))
	}
	if err := s.putEntry(ctx, tenantPK(j.TenantID), jobSK(j.ID), customerJobsPK(j.TenantID, j.CustomerID), esc(j.ID), j); err != nil {
		return fmt.Errorf("put job %s/%s: %w", j.TenantID, j.ID, err)
	}
	return nil
}
