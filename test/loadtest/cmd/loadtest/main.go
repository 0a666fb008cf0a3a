// Command loadtest is `make loadtest` and `make chaos`: it runs the proof
// harness of package loadtest against the dev server binary and prints its
// reconciliation, ending with one summary line:
//
//	loadtest: sent=N accepted=N forwarded=N duplicates=N forged=N lost=N double=N stuck=N forged_accepted=N escalated=N exhausted=N p50_ms=X p99_ms=X rps=X failover_late_p99_ms=X rss_mb=X
//
// With -chaos it injects Twilio faults and SIGKILLs the server mid-load (the
// summary line then starts with "chaos:"). Knobs are LOADTEST_* and CHAOS_*
// environment variables (see docs/reliability.md). It exits 1 when lost,
// double, stuck or forged_accepted is not zero, 2 when the run itself failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/dispatchrelay/dispatch-relay/test/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	chaos := fs.Bool("chaos", false, "inject Twilio faults and SIGKILL the dev server mid-load (make chaos)")
	quiet := fs.Bool("q", false, "no progress lines")
	awsReport := fs.String("aws-report", "", "file of aws-chaos: lines written by the store and Lambda chaos tests (make chaos)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	prefix, defaults := "loadtest", loadtest.Defaults()
	if *chaos {
		prefix, defaults = "chaos", loadtest.ChaosDefaults()
	}
	o, err := loadtest.FromEnv(getenv, defaults)
	if err != nil {
		fmt.Fprintf(stderr, "[%s] error: %v\n", prefix, err)
		return 2
	}
	if !*quiet {
		o.Log = stderr
	}
	res, err := loadtest.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "[%s] run failed: %v\n", prefix, err)
		return 2
	}
	for _, l := range res.ExampleLines(prefix) {
		fmt.Fprintln(stdout, l)
	}
	fmt.Fprintln(stdout, res.Detail(prefix))
	line, failed := res.Line(prefix), res.Failed()
	if *awsReport != "" {
		aws, ok := readAWSReport(*awsReport)
		for _, l := range aws {
			fmt.Fprintln(stdout, l)
		}
		line += fmt.Sprintf(" aws_store=%s aws_lambda=%s", ok["store"], ok["lambda"])
		failed = failed || ok["store"] != "passed" || ok["lambda"] != "passed"
	}
	fmt.Fprintln(stdout, line)
	if failed {
		return 1
	}
	return 0
}

// readAWSReport reads the aws-chaos lines of `make chaos`'s Go tests and
// says for the store contract suite and the Lambda load whether they passed
// (zero lost, double and stuck), failed or did not run.
func readAWSReport(path string) ([]string, map[string]string) {
	ok := map[string]string{"store": "not_run", "lambda": "not_run"}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, ok
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		lines = append(lines, l)
		switch {
		case strings.Contains(l, "store_contract=passed"):
			ok["store"] = "passed"
		case strings.Contains(l, "store_contract="):
			ok["store"] = "failed"
		case strings.Contains(l, " lambda "):
			ok["lambda"] = "passed"
			for _, k := range []string{"lost", "double", "stuck"} {
				if !strings.Contains(l, " "+k+"=0 ") {
					ok["lambda"] = "failed"
				}
			}
		}
	}
	return lines, ok
}
