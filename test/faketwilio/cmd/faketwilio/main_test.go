package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr bool
	}{
		{"prints the url and credentials", []string{"-addr", "127.0.0.1:0", "-account-sid", "AC1", "-auth-token", "tok"}, "TWILIO_ACCOUNT_SID=AC1 TWILIO_AUTH_TOKEN=tok", false},
		{"bad flag", []string{"-nope"}, "", true},
		{"bad address", []string{"-addr", "256.0.0.1:x"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // serve nothing: return once started
			var out strings.Builder
			err := run(ctx, tt.args, &out)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("got output %q, want it to contain %q", out.String(), tt.want)
			}
		})
	}
}
