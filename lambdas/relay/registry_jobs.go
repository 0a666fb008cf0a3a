package relay

import (
	"context"
	"fmt"
)

// --- jobs -------------------------------------------------------------------------

func (g *Registry) jobEntry(tenantID, id string) entry[Job, JobDoc] {
	return entry[Job, JobDoc]{kind: KindJob, tenantID: tenantID, id: id,
		load:     func(ctx context.Context) (Job, error) { return g.Store.Job(ctx, tenantID, id) },
		doc:      Job.Doc,
		customer: func(j Job) string { return j.CustomerID },
		write: func(ctx context.Context, next Job, prev *Job) error {
			return g.Store.ReplaceJob(ctx, next, prev)
		},
		remove: func(ctx context.Context, prev Job) error { return g.Store.DeleteJob(ctx, prev) },
	}
}

// ListJobs returns a page of the tenant's jobs.
func (g *Registry) ListJobs(ctx context.Context, tenantID string, q ListQuery) ([]JobDoc, string, error) {
	if _, err := g.requireTenant(ctx, tenantID); err != nil {
		return nil, "", err
	}
	js, next, err := g.Store.ListJobs(ctx, tenantID, q)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs of %s: %w", tenantID, err)
	}
	docs := make([]JobDoc, len(js))
	for i, j := range js {
		docs[i] = j.Doc()
	}
	return docs, next, nil
}

// GetJob returns one job and its ETag.
func (g *Registry) GetJob(ctx context.Context, tenantID, id string) (Saved[JobDoc], error) {
	if _, err := g.requireTenant(ctx, tenantID); err != nil {
		return Saved[JobDoc]{}, err
	}
	j, err := g.Store.Job(ctx, tenantID, id)
	if err != nil {
		return Saved[JobDoc]{}, notFoundAs(err, KindJob, id)
	}
	return Saved[JobDoc]{Doc: j.Doc(), ETag: ETag(j.Doc())}, nil
}

// checkJob validates j and that its customer and operator exist.
func (g *Registry) checkJob(ctx context.Context, j Job, fe FieldErrors) error {
	verr := j.Validate()
	if ValidID(j.CustomerID) {
		if _, err := g.Store.Customer(ctx, j.TenantID, j.CustomerID); err != nil {
			if !IsKind(err, NotFound) {
				return fmt.Errorf("check job customer: %w", err)
			}
			fe.add("customer", "no customer %q in this tenant", j.CustomerID)
		}
	}
	if ValidID(j.OperatorID) {
		if _, err := g.Store.Operator(ctx, j.TenantID, j.OperatorID); err != nil {
			if !IsKind(err, NotFound) {
				return fmt.Errorf("check job operator: %w", err)
			}
			fe.add("operator", "no operator %q in this tenant", j.OperatorID)
		}
	}
	return joinInvalid(KindJob, verr, fe)
}

// PutJob creates or replaces a job whose customer and operator exist.
func (g *Registry) PutJob(ctx context.Context, tenantID, id string, d JobDoc, pre Precondition, by Actor) (Saved[JobDoc], error) {
	if _, err := g.requireTenant(ctx, tenantID); err != nil {
		return Saved[JobDoc]{}, err
	}
	var fe FieldErrors
	idFromPath(&fe, &d.ID, id)
	j := d.Job(tenantID)
	if err := g.checkJob(ctx, j, fe); err != nil {
		return Saved[JobDoc]{}, err
	}
	return put(ctx, g, g.jobEntry(tenantID, id), pre, by, func(*Job) (Job, error) { return j, nil })
}

// JobPatch changes some fields of a job; nil fields stay. An empty
// Operator unassigns the job.
type JobPatch struct {
	State    *string
	Operator *string
	Customer *string
}

// PatchJob changes a job's state, operator or customer: how a dispatch
// system reassigns a job. The next inbound text routes by the result.
func (g *Registry) PatchJob(ctx context.Context, tenantID, id string, p JobPatch, pre Precondition, by Actor) (Saved[JobDoc], error) {
	if _, err := g.requireTenant(ctx, tenantID); err != nil {
		return Saved[JobDoc]{}, err
	}
	if p.State == nil && p.Operator == nil && p.Customer == nil {
		return Saved[JobDoc]{}, (FieldErrors{{Field: "state", Message: "a patch needs state, operator or customer"}}).err(KindJob)
	}
	return put(ctx, g, g.jobEntry(tenantID, id), pre, by, func(cur *Job) (Job, error) {
		if cur == nil {
			return Job{}, Errorf(NotFound, "job %s not found", id)
		}
		j := *cur
		if p.State != nil {
			j.State = *p.State
		}
		if p.Operator != nil {
			j.OperatorID = *p.Operator
		}
		if p.Customer != nil {
			j.CustomerID = *p.Customer
		}
		return j, g.checkJob(ctx, j, nil)
	})
}

// DeleteJob removes a job.
func (g *Registry) DeleteJob(ctx context.Context, tenantID, id string, pre Precondition, by Actor) error {
	if _, err := g.requireTenant(ctx, tenantID); err != nil {
		return err
	}
	_, err := del(ctx, g, g.jobEntry(tenantID, id), pre, by, nil)
	return err
}
