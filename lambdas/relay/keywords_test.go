package relay_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

func TestCustomerStopTellsTheHolderAndBlocksReplies(t *testing.T) {
	for _, word := range []string{"STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT", "REVOKE", "OPTOUT"} {
		t.Run(word, func(t *testing.T) {
			h := newHarness(t)
			first := h.text(custPhone, qdnNumber, "need a pickup")
			h.text(mainPhone, qdnNumber, "OK")
			res := h.text(custPhone, qdnNumber, word)
			if res.Outcome != relay.OutcomeOptOut || res.Reply != "" {
				t.Fatalf("%s: outcome %s reply %q, want opt_out and no reply", word, res.Outcome, res.Reply)
			}
			got := h.sender.to(mainPhone)
			if len(got) != 2 || !strings.Contains(got[1].Body, "opted out") {
				t.Fatalf("holder got %+v, want a notice that the customer opted out", got)
			}
			if ev := h.audit.of(relay.EventNotice); len(ev) != 1 || ev[0].RelayID != first.RelayID || ev[0].RoutingReason != relay.NoteOptedOut {
				t.Errorf("notice audit %+v", ev)
			}
			if got := h.text(mainPhone, qdnNumber, "still there?").Reply; !strings.Contains(got, "opted out") {
				t.Errorf("two-way reply answered %q, want not sent: opted out", got)
			}
			if n := len(h.sender.to(custPhone)); n != 0 {
				t.Errorf("customer got %d texts after STOP", n)
			}
			if r := h.relay(first.RelayID); len(r.Attempts) != 1 {
				t.Errorf("STOP started a step: %d attempts", len(r.Attempts))
			}
			// START: replies reach the customer again.
			if res := h.text(custPhone, qdnNumber, "START"); res.Outcome != relay.OutcomeOptIn {
				t.Errorf("START outcome %s", res.Outcome)
			}
			h.text(mainPhone, qdnNumber, "back online?")
			if got := h.sender.to(custPhone); len(got) != 1 || got[0].Body != "back online?" {
				t.Errorf("customer got %+v after START, want the reply", got)
			}
		})
	}
}

func TestCustomerYesIsAnAnswerUnlessOptedOut(t *testing.T) {
	h := newHarness(t)
	h.text(custPhone, qdnNumber, "need a pickup")
	if res := h.text(custPhone, qdnNumber, "Yes"); res.Outcome != relay.OutcomeFollowUp {
		t.Errorf("yes from a subscribed customer: %s, want follow_up", res.Outcome)
	}
	h.text(custPhone, qdnNumber, "STOP")
	if res := h.text(custPhone, qdnNumber, "YES"); res.Outcome != relay.OutcomeOptIn {
		t.Errorf("YES after STOP: %s, want opt_in", res.Outcome)
	}
}

func TestTwilio21610OptsTheCustomerOut(t *testing.T) {
	h := newHarness(t)
	h.text(custPhone, qdnNumber, "need a pickup")
	h.sender.fail[custPhone] = &relay.Error{Kind: relay.Permanent, Msg: "unsubscribed recipient", Code: 21610}
	if got := h.text(mainPhone, qdnNumber, "on my way").Reply; !strings.Contains(got, "opted out") {
		t.Errorf("reply answered %q, want opted out", got)
	}
	if out, _ := h.store.OptedOut(context.Background(), "qdn", custPhone); !out {
		t.Error("21610 not recorded as an opt-out")
	}
	delete(h.sender.fail, custPhone)
	if got := h.text(mainPhone, qdnNumber, "hello?").Reply; !strings.Contains(got, "opted out") || len(h.sender.to(custPhone)) != 0 {
		t.Errorf("next reply %q with %d texts to the customer, want none", got, len(h.sender.to(custPhone)))
	}
}

func TestCustomerHelpIsAnsweredOnceADayAndRelayed(t *testing.T) {
	tests := []struct {
		name, helpText, want string
	}{
		{"default", "", "QuickDumpNow: your texts to this number reach our dispatch team. Reply STOP to opt out"},
		{"tenant text", "QDN dispatch. Call 555-0100. STOP to opt out.", "QDN dispatch. Call 555-0100. STOP to opt out."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.setTenant(func(ten *relay.Tenant) { ten.HelpText = tt.helpText })
			res := h.text(custPhone, qdnNumber, "HELP")
			if !strings.HasPrefix(res.Reply, tt.want) || res.Outcome != relay.OutcomeRelayed {
				t.Errorf("HELP: %s %q, want relayed and %q", res.Outcome, res.Reply, tt.want)
			}
			if got := h.sender.to(mainPhone); len(got) != 1 || !strings.Contains(got[0].Body, ": HELP") {
				t.Errorf("operator got %+v, want HELP relayed", got)
			}
			h.advance(time.Hour)
			if res := h.text(custPhone, qdnNumber, "help"); res.Reply != "" {
				t.Errorf("second HELP within a day answered %q", res.Reply)
			}
			h.advance(24 * time.Hour)
			if res := h.text(custPhone, qdnNumber, "HELP"); res.Reply == "" {
				t.Error("HELP a day later not answered")
			}
		})
	}
}

func TestOperatorStopTakesThemOutOfEveryChain(t *testing.T) {
	h := newHarness(t)
	first := h.text(custPhone, qdnNumber, "need a pickup")
	res := h.text(mainPhone, qdnNumber, "STOP")
	if res.Outcome != relay.OutcomeOptOut || res.Reply != "" {
		t.Errorf("operator STOP: %s %q, want opt_out and no reply", res.Outcome, res.Reply)
	}
	r := h.relay(first.RelayID)
	if r.Status != relay.StatusPending || len(r.Attempts) != 2 || r.Attempts[1].Reason != relay.ReasonOperatorOptedOut ||
		r.Attempts[1].OperatorID != "sergio_backup" {
		t.Fatalf("relay %s with %d attempts; want moved on at once to the backup, reason operator_opted_out", r.Status, len(r.Attempts))
	}
	if len(h.sender.to(custPhone)) != 0 {
		t.Error("STOP relayed to the customer")
	}
	if h.metrics.get(relay.MetricOperatorOptedOut) != 1 {
		t.Errorf("metric %s = %d, want 1", relay.MetricOperatorOptedOut, h.metrics.get(relay.MetricOperatorOptedOut))
	}
	if ev := h.audit.of(relay.EventOptOut); len(ev) != 1 || ev[0].RoutingReason != relay.ReasonOperatorOptedOut || ev[0].RoutedToOperator != "sergio_main" {
		t.Errorf("office audit %+v, want operator_opted_out", ev)
	}
	// The next relay skips the operator at once, audited.
	h.text(mainPhone, qdnNumber, "x") // no effect: not an acknowledgement of anything
	second := h.text("+16195559876", qdnNumber, "another customer")
	r2 := h.relay(second.RelayID)
	if r2.Attempts[0].OperatorID != "sergio_backup" {
		t.Errorf("new relay went to %s, want the opted-out operator skipped", r2.Attempts[0].OperatorID)
	}
	var skipped bool
	for _, e := range h.audit.of(relay.EventSkipped) {
		skipped = skipped || (e.MessageSid == second.RelayID && e.RoutingReason == relay.ReasonOperatorOptedOut && e.RoutedToOperator == "sergio_main")
	}
	if !skipped {
		t.Error("skip not audited with operator_opted_out")
	}
	if n := len(h.sender.to(mainPhone)); n != 1 {
		t.Errorf("opted-out operator got %d texts, want only the first forward", n)
	}
	// START: back on the chain.
	if res := h.text(mainPhone, qdnNumber, "START"); res.Outcome != relay.OutcomeOptIn {
		t.Errorf("START: %s", res.Outcome)
	}
	third := h.text("+16195559877", qdnNumber, "third customer")
	if a := h.relay(third.RelayID).Attempts[0]; a.OperatorID != "sergio_main" {
		t.Errorf("after START the relay went to %s, want sergio_main", a.OperatorID)
	}
}

func TestOperatorStopIsNeverAnAck(t *testing.T) {
	h := newHarness(t)
	first := h.text(custPhone, qdnNumber, "need a pickup")
	h.text(mainPhone, qdnNumber, "1 STOP")
	if r := h.relay(first.RelayID); r.Status == relay.StatusAcked {
		t.Error("'1 STOP' acknowledged the relay")
	}
}

func TestPhoneOfCustomerAndOperatorIsNotSwallowed(t *testing.T) {
	h := newHarness(t)
	// Data that the directory refuses now, as older data may still hold it.
	must(t, h.store.PutCustomer(context.Background(), relay.Customer{TenantID: "qdn", ID: "sergia", Name: "Sergia", Phone: emergPhone}))
	res := h.text(emergPhone, qdnNumber, "my bin is full")
	if res.Outcome != relay.OutcomeRelayed {
		t.Fatalf("outcome %s, want the customer's text relayed", res.Outcome)
	}
	if got := h.sender.to(mainPhone); len(got) != 1 || !strings.Contains(got[0].Body, "Sergia: my bin is full") {
		t.Errorf("operator got %+v", got)
	}
}

func TestPrefixSetsTheEncoding(t *testing.T) {
	none, gsm := "", "QDN"
	tests := []struct {
		name     string
		prefix   *string
		wantHead string
		wantEnc  string
		wantSegs int
	}{
		{"default emoji is UCS-2", nil, "📦 Acme Waste Inc.: ", relay.EncodingUCS2, 2},
		{"GSM-7 prefix", &gsm, "QDN Acme Waste Inc.: ", relay.EncodingGSM7, 1},
		{"no prefix", &none, "Acme Waste Inc.: ", relay.EncodingGSM7, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.setTenant(func(ten *relay.Tenant) { ten.Prefix = tt.prefix })
			res := h.text(custPhone, qdnNumber, "need a pickup at the north gate")
			got := h.sender.to(mainPhone)
			if len(got) != 1 || !strings.HasPrefix(got[0].Body, tt.wantHead) {
				t.Fatalf("forward %+v, want it to start %q", got, tt.wantHead)
			}
			a := h.relay(res.RelayID).Attempts[0]
			if a.Encoding != tt.wantEnc || a.Segments != tt.wantSegs {
				t.Errorf("%q: %s in %d segments, want %s in %d", got[0].Body, a.Encoding, a.Segments, tt.wantEnc, tt.wantSegs)
			}
			ev := h.audit.of(relay.EventRouted)
			if len(ev) != 1 || ev[0].Encoding != tt.wantEnc || ev[0].Segments != tt.wantSegs {
				t.Errorf("audit %+v, want encoding and segments", ev)
			}
		})
	}
}

func TestDeliveryStatusOnlyMovesForward(t *testing.T) {
	tests := []struct {
		name    string
		updates []string
		want    string
	}{
		{"in order", []string{"queued", "sent", "delivered"}, "delivered"},
		{"late sent after delivered", []string{"delivered", "sent"}, "delivered"},
		{"late queued after sent", []string{"sent", "queued"}, "sent"},
		{"read after delivered", []string{"delivered", "read"}, "read"},
		{"failed is final", []string{"failed", "delivered", "read"}, "failed"},
		{"undelivered is final", []string{"undelivered", "sent", "read"}, "undelivered"},
		{"delivered then failed keeps delivered", []string{"delivered", "failed"}, "delivered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			res := h.text(custPhone, qdnNumber, "need a pickup")
			a := h.relay(res.RelayID).Attempts[0]
			for _, st := range tt.updates {
				must(t, h.svc.HandleDelivery(context.Background(), relay.DeliveryUpdate{TenantID: "qdn", RelayID: res.RelayID,
					Attempt: 1, MessageSid: a.MessageSid, Status: st}))
			}
			if got := h.relay(res.RelayID).Attempts[0].Delivery; got != tt.want {
				t.Errorf("delivery %s after %v, want %s", got, tt.updates, tt.want)
			}
		})
	}
}

func TestOperator21610IsTheirStop(t *testing.T) {
	h := newHarness(t)
	h.sender.fail[mainPhone] = &relay.Error{Kind: relay.Permanent, Msg: "unsubscribed recipient", Code: 21610}
	first := h.text(custPhone, qdnNumber, "need a pickup")
	r := h.relay(first.RelayID)
	if a := r.Current(); a.OperatorID != "sergio_backup" {
		t.Fatalf("relay waits on %s, want the backup after the refused send", a.OperatorID)
	}
	if out, _ := h.store.OptedOut(context.Background(), "qdn", mainPhone); !out || h.metrics.get(relay.MetricOperatorOptedOut) != 1 {
		t.Errorf("21610 for an operator: opted out %v, metric %d; want recorded and counted once", out, h.metrics.get(relay.MetricOperatorOptedOut))
	}
	delete(h.sender.fail, mainPhone)
	second := h.text("+16195559876", qdnNumber, "hello")
	if a := h.relay(second.RelayID).Attempts[0]; a.OperatorID != "sergio_backup" {
		t.Errorf("next relay went to %s, want the unsubscribed operator skipped", a.OperatorID)
	}
}
