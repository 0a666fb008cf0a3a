package relay_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

func TestRoundRobin(t *testing.T) {
	tests := []struct {
		name     string
		strategy string
		setup    func(h *harness)
		from     []string
		want     []string // the first operator texted per relay
		chain1   string   // the first relay's chain
	}{
		{name: "ordered always starts at the top", strategy: relay.StrategyOrdered,
			want: []string{mainPhone, mainPhone, mainPhone, mainPhone}, chain1: "sergio_main,sergio_backup,emergency"},
		{name: "round robin turns per relay", strategy: relay.StrategyRoundRobin,
			want: []string{mainPhone, backPhone, emergPhone, mainPhone}, chain1: "sergio_main,sergio_backup,emergency"},
		{name: "the job's operator still comes first", strategy: relay.StrategyRoundRobin,
			setup: func(h *harness) {
				must(h.t, h.store.PutJob(context.Background(), relay.Job{TenantID: "qdn", ID: "job_1", CustomerID: "cust_5678", State: "en_route", OperatorID: "emergency"}))
			},
			from: []string{custPhone, custPhone, custPhone},
			want: []string{emergPhone, emergPhone, emergPhone}, chain1: "emergency,sergio_main,sergio_backup"},
		{name: "an unavailable turn is skipped", strategy: relay.StrategyRoundRobin,
			setup: func(h *harness) {
				h.setOperator("sergio_backup", func(o *relay.Operator) { o.PausedUntil = relay.AwayIndefinitely })
			},
			want: []string{mainPhone, emergPhone, emergPhone, mainPhone}, chain1: "sergio_main,sergio_backup,emergency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.setTenant(func(tn *relay.Tenant) { tn.ChainStrategy = tt.strategy })
			if tt.setup != nil {
				tt.setup(h)
			}
			var got []string
			var first relay.InboundResult
			for i := range tt.want {
				from := fmt.Sprintf("+1619555%04d", 7000+i)
				if tt.from != nil {
					from = tt.from[i]
				}
				res := h.text(from, qdnNumber, "need a pickup")
				if i == 0 {
					first = res
				}
				sent := h.sender.sent()
				got = append(got, sent[len(sent)-1].To)
				// Each relay is acknowledged, so no escalation mixes in.
				h.text(sent[len(sent)-1].To, qdnNumber, "OK")
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("first texted per relay: got %v, want %v", got, tt.want)
			}
			if c := strings.Join(h.relay(first.RelayID).Chain, ","); c != tt.chain1 {
				t.Errorf("first relay's chain %s, want %s", c, tt.chain1)
			}
		})
	}
}

func TestRoundRobinRetriedWebhookKeepsItsTurn(t *testing.T) {
	h := newHarness(t)
	h.setTenant(func(tn *relay.Tenant) { tn.ChainStrategy = relay.StrategyRoundRobin })
	in := relay.Inbound{MessageSid: h.sid(), From: "+16195557001", To: qdnNumber, Body: "first"}
	for range 3 {
		if _, err := h.svc.HandleInbound(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	h.text("+16195557002", qdnNumber, "second")
	sent := h.sender.sent()
	if len(sent) != 2 || sent[0].To != mainPhone || sent[1].To != backPhone {
		t.Errorf("sent %+v, want main then backup (a retried webhook takes no turn)", sent)
	}
}
