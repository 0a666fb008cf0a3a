// Package emf writes the relay's metrics in CloudWatch Embedded Metric
// Format (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
// one JSON line per count on the function's stdout, which Lambda ships to
// CloudWatch Logs, where the metrics are extracted without any API call or
// extra latency.
package emf

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// TenantProperty is the member that carries the tenant id. It is a plain
// property, not a dimension: alarms watch service-wide totals, and a
// per-tenant dimension would make a custom metric per tenant. Logs Insights
// can still group by it.
const TenantProperty = "TenantId"

// Metrics is a relay.Metrics that writes EMF lines to an io.Writer. It is
// safe for concurrent use; each count is written whole in one Write.
type Metrics struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

var _ relay.Metrics = (*Metrics)(nil)

// Option configures Metrics.
type Option func(*Metrics)

// WithClock sets the clock that stamps each line.
func WithClock(now func() time.Time) Option { return func(m *Metrics) { m.now = now } }

// New returns Metrics writing to w (os.Stdout in Lambda).
func New(w io.Writer, opts ...Option) *Metrics {
	m := &Metrics{w: w, now: time.Now}
	for _, o := range opts {
		o(m)
	}
	return m
}

type metricDirective struct {
	Namespace  string         `json:"Namespace"`
	Dimensions [][]string     `json:"Dimensions"`
	Metrics    []metricDefine `json:"Metrics"`
}

type metricDefine struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type metadata struct {
	Timestamp         int64             `json:"Timestamp"`
	CloudWatchMetrics []metricDirective `json:"CloudWatchMetrics"`
}

// Count writes one line counting n events named name for a tenant, in
// namespace config.MetricNamespace with the single dimension
// config.MetricServiceDimension. Metrics must never fail the relay, so a
// write error is dropped.
func (m *Metrics) Count(ctx context.Context, name, tenantID string, n int) {
	if name == "" || name == "_aws" || name == config.MetricServiceDimension || name == TenantProperty {
		return // would clash with a member of the line itself
	}
	line := map[string]any{
		"_aws": metadata{
			Timestamp: m.now().UnixMilli(),
			CloudWatchMetrics: []metricDirective{{
				Namespace:  config.MetricNamespace,
				Dimensions: [][]string{{config.MetricServiceDimension}},
				Metrics:    []metricDefine{{Name: name, Unit: "Count"}},
			}},
		},
		config.MetricServiceDimension: config.MetricServiceValue,
		name:                          n,
	}
	if tenantID != "" {
		line[TenantProperty] = tenantID
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(line); err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(buf.Bytes())
}

// Nop is a relay.Metrics that discards counts, for the dev server and tests.
type Nop struct{}

var _ relay.Metrics = Nop{}

// Count does nothing.
func (Nop) Count(context.Context, string, string, int) {}
