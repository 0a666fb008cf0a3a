package emf

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

var now = time.Date(2024, 1, 15, 14, 23, 45, 678_000_000, time.UTC)

func TestCountLine(t *testing.T) {
	tests := []struct {
		name   string
		metric string
		tenant string
		n      int
		want   string
	}{
		{
			name: "tenant", metric: relay.MetricRelayed, tenant: "qdn", n: 1,
			want: `{"RelaysRouted":1,"Service":"dispatch-relay","TenantId":"qdn","_aws":{"Timestamp":1705328625678,"CloudWatchMetrics":[{"Namespace":"DispatchRelay","Dimensions":[["Service"]],"Metrics":[{"Name":"RelaysRouted","Unit":"Count"}]}]}}` + "\n",
		},
		{
			name: "no tenant", metric: relay.MetricSendError, n: 3,
			want: `{"SendErrors":3,"Service":"dispatch-relay","_aws":{"Timestamp":1705328625678,"CloudWatchMetrics":[{"Namespace":"DispatchRelay","Dimensions":[["Service"]],"Metrics":[{"Name":"SendErrors","Unit":"Count"}]}]}}` + "\n",
		},
		{name: "empty name", metric: "", tenant: "qdn", n: 1, want: ""},
		{name: "name clashing with the dimension", metric: "Service", n: 1, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			New(&buf, WithClock(func() time.Time { return now })).Count(context.Background(), tt.metric, tt.tenant, tt.n)
			if got := buf.String(); got != tt.want {
				t.Errorf("got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestCountShape decodes a line the way CloudWatch does: every metric named
// in the directive and every dimension must be a member of the root object.
func TestCountShape(t *testing.T) {
	var buf bytes.Buffer
	New(&buf).Count(context.Background(), relay.MetricEscalated, "qdn", 2)
	var line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var root map[string]any
	if err := json.Unmarshal(buf.Bytes(), &root); err != nil {
		t.Fatalf("not a JSON object: %v", err)
	}
	if d := time.Since(time.UnixMilli(line.AWS.Timestamp)); d < 0 || d > time.Minute {
		t.Errorf("got timestamp %d, want now in milliseconds", line.AWS.Timestamp)
	}
	if len(line.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("got %d directives, want 1", len(line.AWS.CloudWatchMetrics))
	}
	d := line.AWS.CloudWatchMetrics[0]
	if d.Namespace != "DispatchRelay" {
		t.Errorf("got namespace %q, want DispatchRelay", d.Namespace)
	}
	for _, set := range d.Dimensions {
		for _, dim := range set {
			if _, ok := root[dim].(string); !ok {
				t.Errorf("dimension %q: got %v, want a string member", dim, root[dim])
			}
			if dim == TenantProperty {
				t.Errorf("got TenantId as a dimension, want a plain property")
			}
		}
	}
	for _, m := range d.Metrics {
		if _, ok := root[m.Name].(float64); !ok {
			t.Errorf("metric %q: got %v, want a number member", m.Name, root[m.Name])
		}
		if m.Unit != "Count" {
			t.Errorf("metric %q: got unit %q, want Count", m.Name, m.Unit)
		}
	}
	if root[TenantProperty] != "qdn" {
		t.Errorf("got TenantId %v, want qdn", root[TenantProperty])
	}
}

func TestCountConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	m := New(&buf)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				m.Count(context.Background(), relay.MetricAcked, fmt.Sprintf("t%d", i), 1)
			}
		}()
	}
	wg.Wait()
	sc := bufio.NewScanner(strings.NewReader(buf.String()))
	lines := 0
	for sc.Scan() {
		lines++
		if !json.Valid(sc.Bytes()) {
			t.Errorf("line %d is not JSON: %s", lines, sc.Text())
		}
	}
	if lines != 200 {
		t.Errorf("got %d lines, want 200", lines)
	}
}

func TestNop(t *testing.T) {
	var m relay.Metrics = Nop{}
	m.Count(context.Background(), relay.MetricRelayed, "qdn", 1)
}
