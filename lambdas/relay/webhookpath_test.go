package relay_test

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

// remote wraps the ports the webhook path calls, counts every call and
// makes each take a fixed time, as a remote service would: AWS calls
// (store, timer, audit) one delay, Twilio another.
type remote struct {
	relay.Store
	sender     relay.Sender
	timer      relay.Timer
	audit      relay.Auditor
	aws, twilo time.Duration

	mu    sync.Mutex
	calls map[string]int
}

func (r *remote) call(name string, d time.Duration) {
	r.mu.Lock()
	r.calls[name]++
	r.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
}

func (r *remote) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.calls {
		out[k] = v
	}
	return out
}

func (r *remote) Tenant(ctx context.Context, id string) (relay.Tenant, error) {
	r.call("Tenant", r.aws)
	return r.Store.Tenant(ctx, id)
}
func (r *remote) TenantByNumber(ctx context.Context, n string) (relay.Tenant, error) {
	r.call("TenantByNumber", r.aws)
	return r.Store.TenantByNumber(ctx, n)
}
func (r *remote) Operator(ctx context.Context, t, id string) (relay.Operator, error) {
	r.call("Operator", r.aws)
	return r.Store.Operator(ctx, t, id)
}
func (r *remote) OperatorByPhone(ctx context.Context, t, p string) (relay.Operator, error) {
	r.call("OperatorByPhone", r.aws)
	return r.Store.OperatorByPhone(ctx, t, p)
}
func (r *remote) CustomerByPhone(ctx context.Context, t, p string) (relay.Customer, error) {
	r.call("CustomerByPhone", r.aws)
	return r.Store.CustomerByPhone(ctx, t, p)
}
func (r *remote) JobsForCustomer(ctx context.Context, t, c string) ([]relay.Job, error) {
	r.call("JobsForCustomer", r.aws)
	return r.Store.JobsForCustomer(ctx, t, c)
}
func (r *remote) Codes(ctx context.Context, t, o string) ([]relay.CodeLease, error) {
	r.call("Codes", r.aws)
	return r.Store.Codes(ctx, t, o)
}
func (r *remote) ClaimCode(ctx context.Context, l relay.CodeLease) error {
	r.call("ClaimCode", r.aws)
	return r.Store.ClaimCode(ctx, l)
}
func (r *remote) CreateRelay(ctx context.Context, x *relay.Relay) error {
	r.call("CreateRelay", r.aws)
	return r.Store.CreateRelay(ctx, x)
}
func (r *remote) Relay(ctx context.Context, id string) (relay.Relay, error) {
	r.call("Relay", r.aws)
	return r.Store.Relay(ctx, id)
}
func (r *remote) UpdateRelay(ctx context.Context, x *relay.Relay) error {
	r.call("UpdateRelay", r.aws)
	return r.Store.UpdateRelay(ctx, x)
}
func (r *remote) LatestRelay(ctx context.Context, t, p string) (string, error) {
	r.call("LatestRelay", r.aws)
	return r.Store.LatestRelay(ctx, t, p)
}
func (r *remote) SetLatestRelay(ctx context.Context, t, p, id string, at time.Time) error {
	r.call("SetLatestRelay", r.aws)
	return r.Store.SetLatestRelay(ctx, t, p, id, at)
}
func (r *remote) OptedOut(ctx context.Context, t, p string) (bool, error) {
	r.call("OptedOut", r.aws)
	return r.Store.OptedOut(ctx, t, p)
}
func (r *remote) Take(ctx context.Context, k string, l int, w time.Duration, now time.Time) (bool, error) {
	r.call("Take", r.aws)
	return r.Store.Take(ctx, k, l, w, now)
}
func (r *remote) Send(ctx context.Context, m relay.Message) (relay.Sent, error) {
	r.call("Send", r.twilo)
	return r.sender.Send(ctx, m)
}
func (r *remote) Lookup(ctx context.Context, m relay.Message, since time.Time) (relay.Sent, bool, error) {
	r.call("Lookup", r.twilo)
	return r.sender.Lookup(ctx, m, since)
}
func (r *remote) Schedule(ctx context.Context, tk relay.Tick) error {
	r.call("Schedule", r.aws)
	return r.timer.Schedule(ctx, tk)
}
func (r *remote) Record(ctx context.Context, e relay.AuditEvent) error {
	r.call("Record", r.aws)
	return r.audit.Record(ctx, e)
}

// custPhone2 is a second customer of the remote service.
const custPhone2 = "+16195551235"

// newRemoteService is the QuickDumpNow tenant behind remote ports, wired as
// production wires it (a DirectoryCache in front of the store).
func newRemoteService(t testing.TB, aws, twilio time.Duration) (*relay.Service, *remote) {
	st := memstore.New()
	ctx := context.Background()
	must2(t, st.PutTenant(ctx, relay.Tenant{ID: "qdn", Name: "QuickDumpNow", Numbers: []string{qdnNumber},
		AckTimeout: time.Minute, Chain: []string{"sergio_main", "sergio_backup"}}))
	for _, o := range []relay.Operator{
		{TenantID: "qdn", ID: "sergio_main", Name: "Sergio", Phone: mainPhone, Active: true},
		{TenantID: "qdn", ID: "sergio_backup", Name: "Sergio (backup)", Phone: backPhone, Active: true},
	} {
		must2(t, st.PutOperator(ctx, o))
	}
	must2(t, st.PutCustomer(ctx, relay.Customer{TenantID: "qdn", ID: "cust_5678", Name: "Acme Waste Inc.", Phone: custPhone}))
	must2(t, st.PutJob(ctx, relay.Job{TenantID: "qdn", ID: "job_1", CustomerID: "cust_5678", State: "en_route", OperatorID: "sergio_backup"}))
	// A second customer with a job of her own: her first text starts a
	// relay (another text of the first customer's would join his thread).
	must2(t, st.PutCustomer(ctx, relay.Customer{TenantID: "qdn", ID: "cust_9", Name: "Bayside Bins", Phone: custPhone2}))
	must2(t, st.PutJob(ctx, relay.Job{TenantID: "qdn", ID: "job_9", CustomerID: "cust_9", State: "en_route", OperatorID: "sergio_backup"}))
	rm := &remote{Store: st, sender: &sender{fail: map[string]error{}, lost: map[string]int{}}, timer: &timer{}, audit: &audit{},
		aws: aws, twilo: twilio, calls: map[string]int{}}
	svc := &relay.Service{Store: rm, Directory: relay.NewDirectoryCache(rm, time.Minute, nil), Sender: rm, Timer: rm, Audit: rm,
		Log: slog.New(slog.DiscardHandler)}
	return svc, rm
}

func must2(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestWebhookPathCalls pins the remote calls a known customer's text makes,
// cold and with the directory cache warm: every one is listed, so a change
// that adds a call fails here and must say why.
func TestWebhookPathCalls(t *testing.T) {
	svc, rm := newRemoteService(t, 0, 0)
	text := func(i int, from string) {
		_, err := svc.HandleInbound(context.Background(), relay.Inbound{MessageSid: fmt.Sprintf("SM%032d", i),
			From: from, To: qdnNumber, Body: "need a pickup"})
		must2(t, err)
	}
	text(1, custPhone)
	cold := rm.counts()
	text(2, custPhone2)
	all := rm.counts()
	warm := map[string]int{}
	for k, v := range all {
		if d := v - cold[k]; d > 0 {
			warm[k] = d
		}
	}
	tests := []struct {
		name string
		got  map[string]int
		want map[string]int
	}{
		// Threads add LatestRelay (read at once with routing), OptedOut (the
		// chain skips operators who texted STOP) and SetLatestRelay (written
		// at once with the send).
		{"cold", cold, map[string]int{"TenantByNumber": 1, "OperatorByPhone": 1, "CustomerByPhone": 1,
			"JobsForCustomer": 1, "Operator": 1, "Codes": 1, "ClaimCode": 1, "Schedule": 1, "CreateRelay": 1,
			"Send": 1, "UpdateRelay": 1, "Record": 1, "LatestRelay": 1, "OptedOut": 1, "SetLatestRelay": 1}},
		// A phone the cache has not seen yet: its operator lookup is a miss.
		{"warm directory", warm, map[string]int{"OperatorByPhone": 1, "CustomerByPhone": 1, "JobsForCustomer": 1, "Codes": 1,
			"ClaimCode": 1, "Schedule": 1, "CreateRelay": 1, "Send": 1, "UpdateRelay": 1, "Record": 1,
			// The first operator's opt-out comes from the directory cache too.
			"LatestRelay": 1, "SetLatestRelay": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if fmt.Sprint(sorted(tt.got)) != fmt.Sprint(sorted(tt.want)) {
				t.Errorf("calls:\n got %v\nwant %v", sorted(tt.got), sorted(tt.want))
			}
		})
	}
}

func sorted(m map[string]int) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}

// BenchmarkWebhookPath times a known customer's text with 10 ms on every AWS
// call and 100 ms on every Twilio call (docs/benchmarks.md). The floor is one
// conditional write and one Twilio call: 110 ms. Each text of the relay cases
// comes from a new customer with an active job (another text of the same
// customer would join her thread); "follow-up" times texts that join one.
func BenchmarkWebhookPath(b *testing.B) {
	for _, tc := range []struct {
		name           string
		warm, followUp bool
	}{{"cold directory", false, false}, {"warm directory", true, false}, {"follow-up", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			svc, rm := newRemoteService(b, 10*time.Millisecond, 100*time.Millisecond)
			st := rm.Store
			i := 0
			for b.Loop() {
				i++
				from := custPhone
				if !tc.followUp {
					b.StopTimer()
					from = fmt.Sprintf("+1619777%04d", i%10000)
					id := fmt.Sprintf("bench_%d", i)
					must2(b, st.PutCustomer(context.Background(), relay.Customer{TenantID: "qdn", ID: id, Name: "Bench " + id, Phone: from}))
					must2(b, st.PutJob(context.Background(), relay.Job{TenantID: "qdn", ID: "job_" + id, CustomerID: id, State: "en_route", OperatorID: "sergio_backup"}))
					b.StartTimer()
				}
				if !tc.warm {
					svc.Directory.(*relay.DirectoryCache).Flush()
				}
				if _, err := svc.HandleInbound(context.Background(), relay.Inbound{MessageSid: fmt.Sprintf("SM%032d", i),
					From: from, To: qdnNumber, Body: "need a pickup"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
