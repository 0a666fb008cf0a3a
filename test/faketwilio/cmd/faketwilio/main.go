// Command faketwilio runs the fake Twilio REST API beside the dev server, so
// a person can watch outbound texts and play the customer or Twilio:
//
//	go run ./test/faketwilio/cmd/faketwilio -addr 127.0.0.1:8089
//	TWILIO_API_BASE_URL=http://127.0.0.1:8089 TWILIO_ACCOUNT_SID=... TWILIO_AUTH_TOKEN=... <dev server>
//	curl -s localhost:8089/_fake/messages
//	curl -s localhost:8089/_fake/inbound -d '{"url":"http://127.0.0.1:8080/api/sms/incoming","from":"+16195551234","to":"+16195550100","body":"hi"}'
//	curl -s localhost:8089/_fake/status -d '{"sid":"SM...","status":"delivered"}'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dispatchrelay/dispatch-relay/test/faketwilio"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "faketwilio:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("faketwilio", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address")
	sid := fs.String("account-sid", "AC00000000000000000000000000000000", "account sid to accept (alphanumeric)")
	token := fs.String("auth-token", "fa4e0000000000000000000000000000", "auth token to accept and sign with (alphanumeric)")
	step := fs.Duration("auto-progress", 0, "if set, move each message to sent and then delivered after this long each")
	var plan faketwilio.FaultPlan
	fs.Float64Var(&plan.Throttle, "fault-429", 0, "share of message creates answered 429")
	fs.Float64Var(&plan.ServerError, "fault-500", 0, "share of message creates answered 500")
	fs.Float64Var(&plan.Unavailable, "fault-503", 0, "share of message creates answered 503")
	fs.Float64Var(&plan.HangRefused, "fault-hang", 0, "share of message creates held for -hang, then 504, nothing stored")
	fs.Float64Var(&plan.HangAccepted, "fault-hang-accepted", 0, "share of message creates stored and answered after -hang")
	fs.Float64Var(&plan.Slow, "fault-slow", 0, "share of message creates answered after -latency")
	fs.DurationVar(&plan.Hang, "hang", 12*time.Second, "how long hung creates are held")
	fs.DurationVar(&plan.Latency, "latency", 500*time.Millisecond, "delay of slow creates")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return fmt.Errorf("parse flags: %w", err)
	}
	opts := []faketwilio.Option{faketwilio.WithAddr(*addr), faketwilio.WithCredentials(*sid, *token)}
	if *step > 0 {
		opts = append(opts, faketwilio.WithAutoProgress(*step))
	}
	srv, err := faketwilio.New(opts...)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer srv.Close()
	if err := srv.SetFaults(plan); err != nil {
		return fmt.Errorf("fault flags: %w", err)
	}
	fmt.Fprintf(stdout, "fake Twilio listening on %s\n", srv.URL())
	fmt.Fprintf(stdout, "TWILIO_API_BASE_URL=%s TWILIO_ACCOUNT_SID=%s TWILIO_AUTH_TOKEN=%s\n", srv.URL(), srv.AccountSID(), srv.AuthToken())
	fmt.Fprintf(stdout, "accepted messages: GET %s/_fake/messages\n", srv.URL())
	<-ctx.Done()
	return nil
}
