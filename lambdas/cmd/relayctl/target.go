package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// directory is where import and export read and write a tenant's
// directory: the Directory API of a running relay, or the DynamoDB table
// through the same domain Registry the API uses.
type directory interface {
	Tenant(ctx context.Context, tenant string) (relay.TenantDoc, bool, error)
	Operators(ctx context.Context, tenant string) ([]relay.OperatorDoc, error)
	Customers(ctx context.Context, tenant string) ([]relay.CustomerDoc, error)
	Jobs(ctx context.Context, tenant string) ([]relay.JobDoc, error)
	PutTenant(ctx context.Context, d relay.TenantDoc) error
	PutOperator(ctx context.Context, tenant string, d relay.OperatorDoc) error
	PutCustomer(ctx context.Context, tenant string, d relay.CustomerDoc) error
	PutJob(ctx context.Context, tenant string, d relay.JobDoc) error
	DeleteOperator(ctx context.Context, tenant, id string) error
	DeleteCustomer(ctx context.Context, tenant, id string) error
	DeleteJob(ctx context.Context, tenant, id string) error
}

// --- through the API -----------------------------------------------------------

// apiDirectory talks to the Directory API with a bearer token; every request
// names the tenant with ?tenant=, which a tenant-scoped token must match.
type apiDirectory struct {
	base   string
	token  string
	client *http.Client
}

func (a *apiDirectory) do(ctx context.Context, method, path, tenant string, q url.Values, body, out any) (int, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("tenant", tenant)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.base, "/")+path+"?"+q.Encode(), rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, e.Error)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func (a *apiDirectory) Tenant(ctx context.Context, tenant string) (relay.TenantDoc, bool, error) {
	var d relay.TenantDoc
	status, err := a.do(ctx, "GET", "/api/tenant", tenant, nil, nil, &d)
	if status == http.StatusNotFound {
		return d, false, nil
	}
	return d, err == nil, err
}

// list reads every page of a list route into out (a pointer to a slice).
func list[T any](ctx context.Context, a *apiDirectory, path, key, tenant string) ([]T, error) {
	var all []T
	q := url.Values{"limit": {"1000"}}
	for {
		var page map[string]json.RawMessage
		if _, err := a.do(ctx, "GET", path, tenant, q, nil, &page); err != nil {
			return nil, err
		}
		var items []T
		if err := json.Unmarshal(page[key], &items); err != nil {
			return nil, fmt.Errorf("GET %s: decode %s: %w", path, key, err)
		}
		all = append(all, items...)
		var next string
		_ = json.Unmarshal(page["next"], &next)
		if next == "" {
			return all, nil
		}
		q.Set("cursor", next)
	}
}

func (a *apiDirectory) Operators(ctx context.Context, tenant string) ([]relay.OperatorDoc, error) {
	return list[relay.OperatorDoc](ctx, a, "/api/operators", "operators", tenant)
}

func (a *apiDirectory) Customers(ctx context.Context, tenant string) ([]relay.CustomerDoc, error) {
	return list[relay.CustomerDoc](ctx, a, "/api/customers", "customers", tenant)
}

func (a *apiDirectory) Jobs(ctx context.Context, tenant string) ([]relay.JobDoc, error) {
	return list[relay.JobDoc](ctx, a, "/api/jobs", "jobs", tenant)
}

func (a *apiDirectory) PutTenant(ctx context.Context, d relay.TenantDoc) error {
	_, err := a.do(ctx, "PUT", "/api/tenant", d.ID, nil, d, nil)
	return err
}

func (a *apiDirectory) PutOperator(ctx context.Context, tenant string, d relay.OperatorDoc) error {
	_, err := a.do(ctx, "PUT", "/api/operators/"+url.PathEscape(d.ID), tenant, nil, d, nil)
	return err
}

func (a *apiDirectory) PutCustomer(ctx context.Context, tenant string, d relay.CustomerDoc) error {
	_, err := a.do(ctx, "PUT", "/api/customers/"+url.PathEscape(d.ID), tenant, nil, d, nil)
	return err
}

func (a *apiDirectory) PutJob(ctx context.Context, tenant string, d relay.JobDoc) error {
	_, err := a.do(ctx, "PUT", "/api/jobs/"+url.PathEscape(d.ID), tenant, nil, d, nil)
	return err
}

func (a *apiDirectory) DeleteOperator(ctx context.Context, tenant, id string) error {
	_, err := a.do(ctx, "DELETE", "/api/operators/"+url.PathEscape(id), tenant, nil, nil, nil)
	return err
}

func (a *apiDirectory) DeleteCustomer(ctx context.Context, tenant, id string) error {
	_, err := a.do(ctx, "DELETE", "/api/customers/"+url.PathEscape(id), tenant, nil, nil, nil)
	return err
}

func (a *apiDirectory) DeleteJob(ctx context.Context, tenant, id string) error {
	_, err := a.do(ctx, "DELETE", "/api/jobs/"+url.PathEscape(id), tenant, nil, nil, nil)
	return err
}

// --- straight into the store ----------------------------------------------------

// storeDirectory writes through relay.Registry, so a direct import keeps the
// same integrity rules and audits the same directory_change events as the API.
type storeDirectory struct {
	reg *relay.Registry
	by  relay.Actor
}

func (s *storeDirectory) Tenant(ctx context.Context, tenant string) (relay.TenantDoc, bool, error) {
	d, err := s.reg.GetTenant(ctx, tenant)
	if relay.IsKind(err, relay.NotFound) {
		return relay.TenantDoc{}, false, nil
	}
	return d.Doc, err == nil, err
}

// pages reads every page of a Registry list.
func pages[D any](ctx context.Context, tenant string, fn func(context.Context, string, relay.ListQuery) ([]D, string, error)) ([]D, error) {
	var all []D
	q := relay.ListQuery{Limit: relay.MaxListLimit}
	for {
		docs, next, err := fn(ctx, tenant, q)
		if err != nil {
			return nil, err
		}
		all = append(all, docs...)
		if next == "" {
			return all, nil
		}
		q.Cursor = next
	}
}

func (s *storeDirectory) Operators(ctx context.Context, tenant string) ([]relay.OperatorDoc, error) {
	return pages(ctx, tenant, s.reg.ListOperators)
}

func (s *storeDirectory) Customers(ctx context.Context, tenant string) ([]relay.CustomerDoc, error) {
	return pages(ctx, tenant, s.reg.ListCustomers)
}

func (s *storeDirectory) Jobs(ctx context.Context, tenant string) ([]relay.JobDoc, error) {
	return pages(ctx, tenant, s.reg.ListJobs)
}

func (s *storeDirectory) PutTenant(ctx context.Context, d relay.TenantDoc) error {
	_, err := s.reg.PutTenant(ctx, d.ID, d, relay.Precondition{}, s.by)
	return err
}

func (s *storeDirectory) PutOperator(ctx context.Context, tenant string, d relay.OperatorDoc) error {
	_, err := s.reg.PutOperator(ctx, tenant, d.ID, d, relay.Precondition{}, s.by)
	return err
}

func (s *storeDirectory) PutCustomer(ctx context.Context, tenant string, d relay.CustomerDoc) error {
	_, err := s.reg.PutCustomer(ctx, tenant, d.ID, d, relay.Precondition{}, s.by)
	return err
}

func (s *storeDirectory) PutJob(ctx context.Context, tenant string, d relay.JobDoc) error {
	_, err := s.reg.PutJob(ctx, tenant, d.ID, d, relay.Precondition{}, s.by)
	return err
}

func (s *storeDirectory) DeleteOperator(ctx context.Context, tenant, id string) error {
	return s.reg.DeleteOperator(ctx, tenant, id, relay.Precondition{}, s.by)
}

func (s *storeDirectory) DeleteCustomer(ctx context.Context, tenant, id string) error {
	return s.reg.DeleteCustomer(ctx, tenant, id, relay.Precondition{}, s.by)
}

func (s *storeDirectory) DeleteJob(ctx context.Context, tenant, id string) error {
	return s.reg.DeleteJob(ctx, tenant, id, relay.Precondition{}, s.by)
}
