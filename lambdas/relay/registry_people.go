package relay

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// --- operators ------------------------------------------------------------------

func (g *Registry) operatorEntry(tenantID, id string) entry[Operator, OperatorDoc] {
	return entry[Operator, OperatorDoc]{kind: KindOperator, tenantID: tenantID, id: id,
		load:     func(ctx context.Context) (Operator, error) { return g.Store.Operator(ctx, tenantID, id) },
		doc:      Operator.Doc,
		customer: func(Operator) string { return "" },
		write: func(ctx context.Context, next Operator, prev *Operator) error {
			return g.Store.ReplaceOperator(ctx, next, prev)
		},
		remove: func(ctx context.Context, prev Operator) error { return g.Store.DeleteOperator(ctx, prev) },
	}
}

// ListOperators returns a page of the tenant's operators.
func (g *Registry) ListOperators(ctx context.Context, tenantID string, q ListQuery) ([]OperatorDoc, string, error) {
	if _, err := g.requireTenant(ctx, tenantID); err != nil {
		return nil, "", err
	}
	ops, next, err := g.Store.ListOperators(ctx, tenantID, q)
	if err != nil {
		return nil, "", fmt.Errorf("list operators of %s: %w", tenantID, err)
	}
	docs := make([]OperatorDoc, len(ops))
	for i, o := range ops {
		docs[i] = o.Doc()
	}
	return docs, next, nil
}

// GetOperator returns one operator and its ETag.
func (g *Registry) GetOperator(ctx context.Context, tenantID, id string) (Saved[OperatorDoc], error) {
	if _, err := g.requireTenant(ctx, tenantID); err != nil {
		return Saved[OperatorDoc]{}, err
	}
	o, err := g.Store.Operator(ctx, tenantID, id)
	if err != nil {
		return Saved[OperatorDoc]{}, notFoundAs(err, KindOperator, id)
	}
	return Saved[OperatorDoc]{Doc: o.Doc(), ETag: ETag(o.Doc())}, nil
}

// PutOperator creates or replaces an operator. Its phone must not be
// another operator's or a published tenant number.
func (g *Registry) PutOperator(ctx context.Context, tenantID, id string, d OperatorDoc, pre Precondition, by Actor) (Saved[OperatorDoc], error) {
	t, err := g.requireTenant(ctx, tenantID)
	if err != nil {
		return Saved[OperatorDoc]{}, err
	}
	var fe FieldErrors
	idFromPath(&fe, &d.ID, id)
	o := d.Operator(tenantID)
	verr := o.Validate()
	if ValidPhone(o.Phone) && t.HasNumber(o.Phone) {
		fe.add("phone", "%s is one of the tenant's published numbers", o.Phone)
	}
	if err := joinInvalid(KindOperator, verr, fe); err != nil {
		return Saved[OperatorDoc]{}, err
	}
	if other, err := g.Store.OperatorByPhone(ctx, tenantID, o.Phone); err == nil && other.ID != o.ID {
		return Saved[OperatorDoc]{}, Errorf(Conflict, "phone %s belongs to operator %s", o.Phone, other.ID)
	} else if err != nil && !IsKind(err, NotFound) {
		return Saved[OperatorDoc]{}, fmt.Errorf("check operator phone: %w", err)
	}
	if other, err := g.Store.CustomerByPhone(ctx, tenantID, o.Phone); err == nil {
		return Saved[OperatorDoc]{}, Errorf(Conflict, "phone %s belongs to customer %s: one phone cannot be both a customer's and an operator's", o.Phone, other.ID)
	} else if !IsKind(err, NotFound) {
		return Saved[OperatorDoc]{}, fmt.Errorf("check customer phones: %w", err)
	}
	return put(ctx, g, g.operatorEntry(tenantID, id), pre, by, func(*Operator) (Operator, error) { return o, nil })
}

// DeleteOperator removes an operator who is in no chain and holds no open
// relay (Conflict naming them otherwise: deactivate instead). Jobs
// assigned to the operator lose the assignment, each change audited.
func (g *Registry) DeleteOperator(ctx context.Context, tenantID, id string, pre Precondition, by Actor) error {
	t, err := g.requireTenant(ctx, tenantID)
	if err != nil {
		return err
	}
	guard := func(o Operator) error {
		var why []string
		for i, c := range t.Chain {
			if c == o.ID {
				why = append(why, fmt.Sprintf("it is in tenant %s's chain (chain[%d])", tenantID, i))
			}
		}
		open, err := g.openRelays(ctx, tenantID, o.ID, "")
		if err != nil {
			return err
		}
		if len(open) > 0 {
			why = append(why, "it holds open relays "+strings.Join(open, ", "))
		}
		if len(why) > 0 {
			return Errorf(Conflict, "operator %s cannot be deleted: %s; deactivate it instead with \"active\": false",
				o.ID, strings.Join(why, " and "))
		}
		return nil
	}
	if _, err := del(ctx, g, g.operatorEntry(tenantID, id), pre, by, guard); err != nil {
		return err
	}
	// Keep "a job's operator exists": unassign the jobs that named it.
	return g.eachJob(ctx, tenantID, ListQuery{Operator: id}, func(j Job) error {
		_, err := put(ctx, g, g.jobEntry(tenantID, j.ID), Precondition{}, by, func(cur *Job) (Job, error) {
			if cur == nil {
				return Job{}, Errorf(NotFound, "job %s not found", j.ID)
			}
			n := *cur
			if n.OperatorID == id {
				n.OperatorID = ""
			}
			return n, nil
		})
		if IsKind(err, NotFound) {
			return nil
		}
		return err
	})
}

// openRelays returns the ids of the tenant's open relays the operator holds
// a live reply code for, optionally only those of one customer.
func (g *Registry) openRelays(ctx context.Context, tenantID, operatorID, customerID string) ([]string, error) {
	leases, err := g.Store.Codes(ctx, tenantID, operatorID)
	if err != nil {
		return nil, fmt.Errorf("list reply codes of %s: %w", operatorID, err)
	}
	now := g.now()
	var ids []string
	for _, l := range leases {
		if !l.ExpiresAt.After(now) {
			continue
		}
		r, err := g.Store.Relay(ctx, l.RelayID)
		if err != nil {
			if IsKind(err, NotFound) {
				continue
			}
			return nil, fmt.Errorf("read relay %s: %w", l.RelayID, err)
		}
		if r.TenantID != tenantID || !r.Status.Open() || (customerID != "" && r.CustomerID != customerID) {
			continue
		}
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	return dedupe(ids), nil
}

// --- customers -------------------------------------------------------------------

func (g *Registry) customerEntry(tenantID, id string) entry[Customer, CustomerDoc] {
	return entry[Customer, CustomerDoc]{kind: KindCustomer, tenantID: tenantID, id: id,
		load:     func(ctx context.Context) (Customer, error) { return g.Store.Customer(ctx, tenantID, id) },
		doc:      Customer.Doc,
		customer: func(c Customer) string { return c.ID },
		write: func(ctx context.Context, next Customer, prev *Customer) error {
			return g.Store.ReplaceCustomer(ctx, next, prev)
		},
		remove: func(ctx context.Context, prev Customer) error { return g.Store.DeleteCustomer(ctx, prev) },
	}
}

// ListCustomers returns a page of the tenant's customers.
func (g *Registry) ListCustomers(ctx context.Context, tenantID string, q ListQuery) ([]CustomerDoc, string, error) {
	if _, err := g.requireTenant(ctx, tenantID); err != nil {
		return nil, "", err
	}
	cs, next, err := g.Store.ListCustomers(ctx, tenantID, q)
	if err != nil {
		return nil, "", fmt.Errorf("list customers of %s: %w", tenantID, err)
	}
	docs := make([]CustomerDoc, len(cs))
	for i, c := range cs {
		docs[i] = c.Doc()
	}
	return docs, next, nil
}

// GetCustomer returns one customer and its ETag.
func (g *Registry) GetCustomer(ctx context.Context, tenantID, id string) (Saved[CustomerDoc], error) {
	if _, err := g.requireTenant(ctx, tenantID); err != nil {
		return Saved[CustomerDoc]{}, err
	}
	c, err := g.Store.Customer(ctx, tenantID, id)
	if err != nil {
		return Saved[CustomerDoc]{}, notFoundAs(err, KindCustomer, id)
	}
	return Saved[CustomerDoc]{Doc: c.Doc(), ETag: ETag(c.Doc())}, nil
}

// PutCustomer creates or replaces a customer; its phone must not be
// another customer's.
func (g *Registry) PutCustomer(ctx context.Context, tenantID, id string, d CustomerDoc, pre Precondition, by Actor) (Saved[CustomerDoc], error) {
	t, err := g.requireTenant(ctx, tenantID)
	if err != nil {
		return Saved[CustomerDoc]{}, err
	}
	var fe FieldErrors
	idFromPath(&fe, &d.ID, id)
	c := d.Customer(tenantID)
	verr := c.Validate()
	if ValidPhone(c.Phone) && t.HasNumber(c.Phone) {
		fe.add("phone", "%s is one of the tenant's published numbers", c.Phone)
	}
	if err := joinInvalid(KindCustomer, verr, fe); err != nil {
		return Saved[CustomerDoc]{}, err
	}
	if other, err := g.Store.CustomerByPhone(ctx, tenantID, c.Phone); err == nil && other.ID != c.ID {
		return Saved[CustomerDoc]{}, Errorf(Conflict, "phone %s belongs to customer %s", c.Phone, other.ID)
	} else if err != nil && !IsKind(err, NotFound) {
		return Saved[CustomerDoc]{}, fmt.Errorf("check customer phone: %w", err)
	}
	if other, err := g.Store.OperatorByPhone(ctx, tenantID, c.Phone); err == nil {
		return Saved[CustomerDoc]{}, Errorf(Conflict, "phone %s belongs to operator %s: one phone cannot be both a customer's and an operator's", c.Phone, other.ID)
	} else if !IsKind(err, NotFound) {
		return Saved[CustomerDoc]{}, fmt.Errorf("check operator phones: %w", err)
	}
	return put(ctx, g, g.customerEntry(tenantID, id), pre, by, func(*Customer) (Customer, error) { return c, nil })
}

// DeleteCustomer removes a customer without open relays (Conflict naming
// them otherwise) and then the customer's jobs, each change audited.
func (g *Registry) DeleteCustomer(ctx context.Context, tenantID, id string, pre Precondition, by Actor) error {
	if _, err := g.requireTenant(ctx, tenantID); err != nil {
		return err
	}
	guard := func(c Customer) error {
		var open []string
		err := g.eachOperator(ctx, tenantID, func(o Operator) error {
			ids, err := g.openRelays(ctx, tenantID, o.ID, c.ID)
			open = append(open, ids...)
			return err
		})
		if err != nil {
			return err
		}
		if sort.Strings(open); len(open) > 0 {
			return Errorf(Conflict, "customer %s cannot be deleted: it has open relays %s; acknowledge them first",
				c.ID, strings.Join(dedupe(open), ", "))
		}
		return nil
	}
	if _, err := del(ctx, g, g.customerEntry(tenantID, id), pre, by, guard); err != nil {
		return err
	}
	// Keep "a job's customer exists": the customer's jobs go with it.
	return g.eachJob(ctx, tenantID, ListQuery{Customer: id}, func(j Job) error {
		_, err := del(ctx, g, g.jobEntry(tenantID, j.ID), Precondition{}, by, nil)
		if IsKind(err, NotFound) {
			return nil
		}
		return err
	})
}
