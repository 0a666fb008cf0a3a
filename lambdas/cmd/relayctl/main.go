// Command relayctl is the platform engineers' admin CLI: it validates data
// files, loads tenants, operators, customers and jobs into the DynamoDB
// table, and exports a tenant's audit records as the original system's
// maintenance.json.
//
//	relayctl validate -file tenants.yaml
//	relayctl load     -file tenants.yaml [-table T] [-endpoint URL]
//	relayctl export   -tenant qdn [-since RFC3339] [-until RFC3339] [-bucket B] [-o maintenance.json]
//	relayctl create-table [-table T] [-endpoint URL]   (local DynamoDB stand-ins)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/lambdas/dynamo"
	"github.com/dispatchrelay/dispatch-relay/lambdas/s3audit"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "relayctl:", err)
		os.Exit(1)
	}
}

const usage = "usage: relayctl validate|load|export|create-table|backfill-relay-index [flags]; relayctl <command> -h for flags"

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("relayctl "+cmd, flag.ContinueOnError)
	file := fs.String("file", "", "data file (YAML or JSON)")
	table := fs.String("table", getenv(config.EnvTableName), "DynamoDB table (default $"+config.EnvTableName+")")
	bucket := fs.String("bucket", getenv(config.EnvAuditBucket), "audit bucket (default $"+config.EnvAuditBucket+")")
	endpoint := fs.String("endpoint", "", "service endpoint override, e.g. a local dynalite or S3 stand-in")
	tenant := fs.String("tenant", "", "tenant id")
	since := fs.String("since", "", "start of the export (RFC 3339, inclusive)")
	until := fs.String("until", "", "end of the export (RFC 3339, exclusive)")
	output := fs.String("o", "", "output file (default stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch cmd {
	case "validate":
		f, err := datafile.Read(*file)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %d tenants, valid\n", *file, len(f.Tenants))
		return nil
	case "load", "create-table":
		if *table == "" {
			return errors.New("-table or $" + config.EnvTableName + " is required")
		}
		client, err := dynamoClient(ctx, *endpoint)
		if err != nil {
			return err
		}
		if cmd == "create-table" {
			return dynamo.CreateTable(ctx, client, *table)
		}
		f, err := datafile.Read(*file)
		if err != nil {
			return err
		}
		if err := datafile.Load(ctx, dynamo.New(client, *table), f); err != nil {
			return err
		}
		fmt.Fprintf(out, "loaded %d tenants into %s\n", len(f.Tenants), *table)
		return nil
	case "backfill-relay-index":
		// Once, after deploying gsi2 onto a table that already held relays (docs/architecture.md).
		if *table == "" {
			return errors.New("-table or $" + config.EnvTableName + " is required")
		}
		client, err := dynamoClient(ctx, *endpoint)
		if err != nil {
			return err
		}
		n, err := dynamo.New(client, *table).BackfillRelayIndex(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "indexed %d relays in %s\n", n, *table)
		return nil
	case "export":
		if *tenant == "" || *bucket == "" {
			return errors.New("-tenant and -bucket (or $" + config.EnvAuditBucket + ") are required")
		}
		var from, to time.Time
		var err error
		if *since != "" {
			if from, err = time.Parse(time.RFC3339, *since); err != nil {
				return fmt.Errorf("-since: %w", err)
			}
		}
		if *until != "" {
			if to, err = time.Parse(time.RFC3339, *until); err != nil {
				return fmt.Errorf("-until: %w", err)
			}
		}
		cfg, err := awsConfig(ctx)
		if err != nil {
			return err
		}
		client := s3.NewFromConfig(cfg, func(o *s3.Options) {
			if *endpoint != "" {
				o.BaseEndpoint, o.UsePathStyle = aws.String(*endpoint), true
			}
		})
		recs, err := s3audit.Export(ctx, s3audit.New(s3audit.NewS3Bucket(client, *bucket, "")), *tenant, from, to)
		if err != nil {
			return err
		}
		w := out
		if *output != "" {
			f, err := os.Create(*output)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		return s3audit.WriteJSON(w, recs)
	}
	return fmt.Errorf("unknown command %q; %s", cmd, usage)
}

func awsConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return cfg, fmt.Errorf("aws config: %w", err)
	}
	return cfg, nil
}

func dynamoClient(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	if endpoint != "" {
		return dynamo.NewClient(ctx, endpoint)
	}
	cfg, err := awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(cfg), nil
}
