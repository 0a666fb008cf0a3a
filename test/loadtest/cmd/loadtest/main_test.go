package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRefusesBadKnobs(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"count not a number", map[string]string{"LOADTEST_COUNT": "many"}, "LOADTEST_COUNT"},
		{"fault shares above one", map[string]string{"CHAOS_500_SHARE": "0.9", "CHAOS_503_SHARE": "0.9"}, "add up to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), []string{"-q"}, func(k string) string { return tt.env[k] }, &out, &errOut)
			if code != 2 || !strings.Contains(errOut.String(), tt.want) || out.Len() != 0 {
				t.Errorf("got exit %d, stderr %q, stdout %q; want 2 and a message naming %q", code, errOut.String(), out.String(), tt.want)
			}
		})
	}
}

func TestReadAWSReport(t *testing.T) {
	tests := []struct {
		name   string
		report string
		store  string
		lambda string
	}{
		{"missing", "", "not_run", "not_run"},
		{"both passed", "aws-chaos: store_contract=passed strict=false requests=10\naws-chaos: lambda texts=48 lost=0 double=0 stuck=0 audit_missing=0\n",
			"passed", "passed"},
		{"doubles", "aws-chaos: store_contract=failed strict=true\naws-chaos: lambda texts=48 lost=0 double=4 stuck=0 audit_missing=0\n",
			"failed", "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "report.txt")
			if tt.report != "" {
				if err := os.WriteFile(path, []byte(tt.report), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, ok := readAWSReport(path)
			if ok["store"] != tt.store || ok["lambda"] != tt.lambda {
				t.Errorf("got store=%s lambda=%s, want %s %s", ok["store"], ok["lambda"], tt.store, tt.lambda)
			}
		})
	}
}
