package relay_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

func TestPhoneProblem(t *testing.T) {
	tests := []struct {
		phone string
		want  string // "" for valid
	}{
		{"+16195550111", ""},
		{"+442071838750", ""},
		{"6195550111", "E.164"},
		{"+1619555011", "ten digits"},
		{"+161955501111", "ten digits"},
		{"+10195550111", "area code starting with 0 or 1"},
		{"+19115550111", "N11"},
		{"+16190550111", "exchange starting with 0 or 1"},
		{"+1619555011a", "E.164"},
		{"+4915112345678", ""},
		{"+525512345678", ""},
		{"+2348012345678", ""},
		{"+9991234567", "country code"},
		{"+2801234567", "country code"},
	}
	for _, tt := range tests {
		t.Run(tt.phone, func(t *testing.T) {
			got := relay.PhoneProblem(tt.phone)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("PhoneProblem(%s) = %q, want %q", tt.phone, got, tt.want)
			}
		})
	}
}

func TestRegistryRefusesDataThatCannotWork(t *testing.T) {
	g, _, _ := newRegistry(t)
	ctx := context.Background()
	gsm, long := "QDN", "0123456789ab"
	tests := []struct {
		name string
		run  func() error
		kind relay.Kind
		want string
	}{
		{"customer with an operator's phone", func() error {
			_, err := g.PutCustomer(ctx, "qdn", "c2", relay.CustomerDoc{Name: "C", Phone: "+16195550111"}, relay.Precondition{}, api)
			return err
		}, relay.Conflict, "belongs to operator main"},
		{"operator with a customer's phone", func() error {
			_, err := g.PutOperator(ctx, "qdn", "o2", relay.OperatorDoc{Name: "O", Phone: "+16195551234"}, relay.Precondition{}, api)
			return err
		}, relay.Conflict, "belongs to customer acme"},
		{"fallback is the tenant's own number", func() error {
			_, err := g.PutTenant(ctx, "qdn", relay.TenantDoc{Name: "Q", Numbers: []string{"+16195550100"}, Chain: []string{"main"},
				Fallback: &relay.Contact{Name: "Office", Phone: "+16195550100"}}, relay.Precondition{}, api)
			return err
		}, relay.Invalid, "fallback.phone: +16195550100 is one of the tenant's own numbers"},
		{"customer phone that is not a phone number", func() error {
			_, err := g.PutCustomer(ctx, "qdn", "c3", relay.CustomerDoc{Name: "C", Phone: "+10005550111"}, relay.Precondition{}, api)
			return err
		}, relay.Invalid, "area code"},
		{"conversation window under a second", func() error {
			_, err := g.PutTenant(ctx, "qdn", relay.TenantDoc{Name: "Q", Numbers: []string{"+16195550100"}, Chain: []string{"main"},
				ConversationWindow: relay.WindowSeconds(500 * time.Millisecond), Prefix: &gsm}, relay.Precondition{}, api)
			return err
		}, relay.Invalid, "conversation_window"},
		{"prefix too long", func() error {
			_, err := g.PutTenant(ctx, "qdn", relay.TenantDoc{Name: "Q", Numbers: []string{"+16195550100"}, Chain: []string{"main"},
				Prefix: &long}, relay.Precondition{}, api)
			return err
		}, relay.Invalid, "prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !relay.IsKind(err, tc.kind) || !strings.Contains(relay.MessageOf(err), tc.want) {
				t.Errorf("got %v (%s), want %s naming %q", err, relay.KindOf(err), tc.kind, tc.want)
			}
		})
	}
	// The options round-trip.
	s, err := g.PutTenant(ctx, "qdn", relay.TenantDoc{Name: "Q", Numbers: []string{"+16195550100"}, Chain: []string{"main"},
		ConversationWindow: relay.WindowSeconds(time.Second), HelpText: "Call us", Prefix: &gsm}, relay.Precondition{}, api)
	if err != nil || time.Duration(s.Doc.ConversationWindow) != time.Second || s.Doc.HelpText != "Call us" || *s.Doc.Prefix != "QDN" {
		t.Errorf("got %+v, %v", s.Doc, err)
	}
}
