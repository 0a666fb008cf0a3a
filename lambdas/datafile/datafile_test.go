package datafile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/lambdas/memstore"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

const seed = `
tenants:
  - id: qdn
    name: QuickDumpNow
    numbers: ["+16195550100"]
    ack_timeout: 60s
    chain: [sergio_main, sergio_backup, emergency]
    repeat: 0
    fallback: {name: Office, phone: "+16195550199"}
    two_way: true
    operators:
      - {id: sergio_main,   name: Sergio,    phone: "+16195550111"}
      - {id: sergio_backup, name: Sergio (backup), phone: "+16195550112"}
      - {id: emergency,     name: Emergency, phone: "+16195550113", active: false}
    customers:
      - {id: cust_5678, name: Acme Waste Inc., phone: "+16195551234"}
    jobs:
      - {id: job_1, customer: cust_5678, state: en_route, operator: sergio_backup}
`

func TestParseAndLoadSeed(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		json bool
	}{
		{"yaml", seed, false},
		{"json", `{"tenants":[{"id":"qdn","name":"QuickDumpNow","numbers":["+16195550100"],"ack_timeout":2,
		  "chain":["a"],"operators":[{"id":"a","name":"A","phone":"+16195550111"}],"customers":[],"jobs":[]}]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := datafile.Parse([]byte(tc.data), tc.json)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			st := memstore.New()
			if err := datafile.Load(context.Background(), st, f); err != nil {
				t.Fatalf("Load: %v", err)
			}
			ten, err := st.TenantByNumber(context.Background(), "+16195550100")
			if err != nil || ten.ID != "qdn" {
				t.Fatalf("TenantByNumber = %+v, %v", ten, err)
			}
			if tc.name == "json" {
				if ten.AckTimeout != 2*time.Second {
					t.Errorf("ack_timeout = %v, want 2s", ten.AckTimeout)
				}
				return
			}
			if ten.AckTimeout != time.Minute || !ten.TwoWay || ten.Fallback.Phone != "+16195550199" {
				t.Errorf("tenant = %+v", ten)
			}
			em, _ := st.Operator(context.Background(), "qdn", "emergency")
			main, _ := st.Operator(context.Background(), "qdn", "sergio_main")
			if em.Active || !main.Active {
				t.Errorf("active flags: emergency %v main %v; want false, true (default)", em.Active, main.Active)
			}
			jobs, _ := st.JobsForCustomer(context.Background(), "qdn", "cust_5678")
			if len(jobs) != 1 || jobs[0].OperatorID != "sergio_backup" {
				t.Errorf("jobs = %+v", jobs)
			}
		})
	}
}

func TestValidationReportsEverything(t *testing.T) {
	bad := `
tenants:
  - id: qdn
    name: ""
    numbers: ["6195550100"]
    ack_timeout: 2h
    chain: [ghost]
    operators:
      - {id: a, name: A, phone: "+1"}
    customers: []
    jobs:
      - {id: j, customer: nobody, state: open, operator: ghost}
`
	_, err := datafile.Parse([]byte(bad), false)
	if relay.KindOf(err) != relay.Invalid {
		t.Fatalf("err = %v, want Invalid", err)
	}
	for _, want := range []string{"tenants[0].name", "numbers[0]", "ack_timeout", "chain[0]", "operators[0].phone", "jobs[0].customer", "jobs[0].operator"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := datafile.Parse([]byte("tenants:\n  - id: x\n    nmae: typo\n"), false); err == nil || !strings.Contains(err.Error(), "nmae") {
		t.Errorf("unknown field error = %v, want it named", err)
	}
	if _, err := datafile.Parse([]byte(""), false); err == nil {
		t.Errorf("empty file parsed without error")
	}
}

func TestDataThatCannotWorkIsRefused(t *testing.T) {
	tests := []struct {
		name, change, want string
	}{
		{"customer with an operator's phone", `customers: [{id: c, name: C, phone: "+16195550111"}]`,
			`customers[0].phone: +16195550111 is also operator "a"'s phone`},
		{"fallback is a tenant number", `fallback: {name: Office, phone: "+16195550100"}`,
			"fallback.phone: +16195550100 is one of the tenant's own numbers"},
		{"operator phone not a phone number", `operators: [{id: a, name: A, phone: "+11115550111"}]`,
			"area code starting with 0 or 1"},
		{"conversation window too short", `conversation_window: 500ms`, "conversation_window"},
		{"prefix too long", `prefix: "a very long prefix"`, "prefix"},
	}
	base := func(extra string) string {
		lines := map[string]string{
			"operators": `operators: [{id: a, name: A, phone: "+16195550111"}]`,
			"customers": `customers: []`,
		}
		key := strings.SplitN(extra, ":", 2)[0]
		out := "tenants:\n  - id: t\n    name: T\n    numbers: [\"+16195550100\"]\n    chain: [a]\n"
		for _, k := range []string{"operators", "customers"} {
			if k != key {
				out += "    " + lines[k] + "\n"
			}
		}
		return out + "    " + extra + "\n"
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := datafile.Parse([]byte(base(tt.change)), false)
			if !relay.IsKind(err, relay.Invalid) || !strings.Contains(relay.MessageOf(err), tt.want) {
				t.Errorf("got %v, want Invalid naming %q", err, tt.want)
			}
		})
	}
	ok := base(`conversation_window: 1s`) + "    prefix: \"QDN\"\n    help_text: Call us\n"
	f, err := datafile.Parse([]byte(ok), false)
	if err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
	st := memstore.New()
	if err := datafile.Load(context.Background(), st, f); err != nil {
		t.Fatal(err)
	}
	ten, _ := st.Tenant(context.Background(), "t")
	if ten.ConversationWindow != time.Second || ten.Prefix == nil || *ten.Prefix != "QDN" || ten.HelpText != "Call us" {
		t.Errorf("loaded %+v", ten)
	}
}
