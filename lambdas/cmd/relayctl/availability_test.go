package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/dispatchrelay/dispatch-relay/test/dynalite"
)

const scheduledV1 = `
tenants:
  - id: qdn
    name: QuickDumpNow
    numbers: ["+16195550100"]
    chain: [a]
    timezone: America/Los_Angeles
    quiet_hours: {from: "21:00", to: "07:00", mode: hold}
    chain_strategy: round_robin
    operators:
      - id: a
        name: A
        phone: "+16195550111"
        on_call: true
        paused_until: 2026-12-07T10:00:00Z
        shifts:
          - {days: [mon, fri], from: "22:00", to: "06:00"}
`

// TestImportAvailability: schedules and availability round-trip through
// import and export; a file without paused_until leaves a live pause.
func TestImportAvailability(t *testing.T) {
	progressOut = io.Discard
	endpoint := dynalite.Start(t)
	ctx := context.Background()
	env := func(string) string { return "" }
	tbl := []string{"-table", "relay", "-endpoint", endpoint}
	if err := run(ctx, append([]string{"create-table"}, tbl...), env, io.Discard); err != nil {
		t.Fatal(err)
	}
	noPause := strings.Replace(scheduledV1, "        paused_until: 2026-12-07T10:00:00Z\n", "", 1)
	newShift := strings.Replace(noPause, `from: "22:00"`, `from: "21:00"`, 1)
	steps := []struct {
		name string
		file string
		want []string
	}{
		{"first import", scheduledV1, []string{"imported: 2 added"}},
		{"rerun changes nothing", scheduledV1, []string{"nothing to do"}},
		{"a file without paused_until keeps the pause", noPause, []string{"nothing to do"}},
		{"a changed shift is an update", newShift, []string{"~ operator qdn/a", "1 updated"}},
	}
	for _, s := range steps {
		var out bytes.Buffer
		if err := run(ctx, append([]string{"import", "-file", write(t, "f.yaml", s.file)}, tbl...), env, &out); err != nil {
			t.Fatalf("%s: %v\n%s", s.name, err, out.String())
		}
		for _, w := range s.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", s.name, w, out.String())
			}
		}
	}
	var out bytes.Buffer
	if err := run(ctx, append([]string{"export", "-format", "yaml"}, tbl...), env, &out); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"timezone: America/Los_Angeles", "mode: hold", "chain_strategy: round_robin", "on_call: true",
		"paused_until: 2026-12-07T10:00:00Z", "from: \"21:00\""} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("export lacks %q:\n%s", w, out.String())
		}
	}
}
