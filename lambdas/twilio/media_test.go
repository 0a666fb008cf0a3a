package twilio_test

import (
	"context"
	"slices"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
)

func TestSendMMS(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		media []string
	}{
		{"photo with text", "the gate", []string{"https://relay.example/media/a/SM1/SM1-0?exp=1&sig=x"}},
		{"photo only", "", []string{"https://relay.example/media/a/SM1/SM1-0?exp=1&sig=x", "https://relay.example/media/a/SM1/SM1-1?exp=1&sig=y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			m := relay.Message{From: ourNumber, To: operator, Body: tt.body, MediaURLs: tt.media}
			sent, err := h.sender.Send(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := h.srv.Message(sent.Sid)
			if !ok || got.Body != tt.body || !slices.Equal(got.MediaURLs, tt.media) {
				t.Errorf("message %+v, want body %q and media %v", got, tt.body, tt.media)
			}
		})
	}
	h := newHarness(t, nil)
	if _, err := h.sender.Send(context.Background(), relay.Message{From: ourNumber, To: operator}); !relay.IsKind(err, relay.Invalid) {
		t.Errorf("neither body nor media: %v, want Invalid", err)
	}
}
