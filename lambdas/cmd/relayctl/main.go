// Command relayctl is the platform engineers' admin CLI: it validates data
// files, makes a deployment's directory equal to a file (import, through
// the Directory API or straight into DynamoDB), writes the directory back
// out, loads files into the table, and exports a tenant's audit records as
// the original system's maintenance.json.
//
//	relayctl validate -file tenants.yaml
//	relayctl import   -file tenants.yaml|entries.ndjson (-url URL -token T | -table T) [-dry-run] [-prune]
//	relayctl export   (-url URL -token T | -table T) [-tenant IDS] [-format yaml|json|ndjson] [-o FILE]
//	relayctl export   -audit -tenant qdn [-since RFC3339] [-until RFC3339] [-bucket B] [-o maintenance.json]
//	relayctl load     -file tenants.yaml [-table T] [-endpoint URL]
//	relayctl create-table [-table T] [-endpoint URL]   (local DynamoDB stand-ins)
//
// Every command answers -h with its flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dispatchrelay/dispatch-relay/lambdas/config"
	"github.com/dispatchrelay/dispatch-relay/lambdas/datafile"
	"github.com/dispatchrelay/dispatch-relay/lambdas/dynamo"
	"github.com/dispatchrelay/dispatch-relay/lambdas/relay"
	"github.com/dispatchrelay/dispatch-relay/lambdas/s3audit"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0) // -h asked for help; the flags were printed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "relayctl:", err)
		os.Exit(1)
	}
}

// Environment variables relayctl reads for the API target.
const (
	envURL   = "RELAY_URL"
	envToken = "RELAY_TOKEN"
)

// commands lists each command and its one-line summary, in help order.
var commands = [][2]string{
	{"validate", "check a data file (YAML or JSON) and report every problem"},
	{"import", "make the directory equal to a data file or NDJSON stream (API or DynamoDB)"},
	{"export", "write the directory out as a data file, or -audit: maintenance.json"},
	{"load", "add and update a data file's entries in DynamoDB (no removals, no audit)"},
	{"create-table", "create the DynamoDB table (local stand-ins)"},
	{"backfill-relay-index", "give relays written before gsi2 their index keys (once, after that deploy)"},
}

func usageText() string {
	var b strings.Builder
	b.WriteString("usage: relayctl <command> [flags]; relayctl <command> -h for its flags\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-13s %s\n", c[0], c[1])
	}
	return b.String()
}

const usage = "usage: relayctl validate|import|export|load|create-table|backfill-relay-index [flags]; relayctl <command> -h for flags"

// flags are every command's options; each command registers the ones it reads.
type flags struct {
	file, format, table, bucket, endpoint, tenant, since, until, output, url, token string
	dryRun, prune, progress, audit                                                  bool
}

func newFlagSet(cmd string, out io.Writer, getenv func(string) string, f *flags) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("relayctl "+cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	table := func() {
		fs.StringVar(&f.table, "table", getenv(config.EnvTableName), "DynamoDB table (default $"+config.EnvTableName+")")
		fs.StringVar(&f.endpoint, "endpoint", "", "service endpoint override, e.g. a local dynalite or S3 stand-in")
	}
	api := func() {
		fs.StringVar(&f.url, "url", getenv(envURL), "base URL of a running relay's API, e.g. http://127.0.0.1:8080 (default $"+envURL+")")
		fs.StringVar(&f.token, "token", getenv(envToken), "bearer token or JWT for -url; a file name reads the token from it (default $"+envToken+")")
	}
	switch cmd {
	case "validate":
		fs.StringVar(&f.file, "file", "", "data file (YAML or JSON)")
	case "load":
		fs.StringVar(&f.file, "file", "", "data file (YAML or JSON)")
		table()
	case "create-table", "backfill-relay-index":
		table()
	case "import":
		fs.StringVar(&f.file, "file", "", "data file (YAML or JSON) or NDJSON stream (.ndjson); - reads stdin")
		fs.StringVar(&f.format, "format", "", "yaml, json or ndjson (default from the file name)")
		fs.BoolVar(&f.dryRun, "dry-run", false, "print the adds, updates and removals; change nothing")
		fs.BoolVar(&f.prune, "prune", false, "remove operators, customers and jobs the file no longer has")
		fs.BoolVar(&f.progress, "progress", true, fmt.Sprintf("show a progress bar on stderr for imports of %d changes or more", progressMin))
		api()
		table()
		fs.StringVar(&f.bucket, "bucket", getenv(config.EnvAuditBucket), "with -table: the audit bucket the directory changes are recorded in (default $"+config.EnvAuditBucket+")")
	case "export":
		fs.BoolVar(&f.audit, "audit", false, "export a tenant's audit records as maintenance.json instead of the directory")
		fs.StringVar(&f.tenant, "tenant", "", "tenant id(s), comma-separated (directory: default the credential's tenant, or every tenant of -table)")
		fs.StringVar(&f.format, "format", "", "directory format: yaml, json or ndjson (default from -o, else yaml)")
		fs.StringVar(&f.output, "o", "", "output file (default stdout)")
		fs.StringVar(&f.bucket, "bucket", getenv(config.EnvAuditBucket), "-audit: the audit bucket (default $"+config.EnvAuditBucket+")")
		fs.StringVar(&f.since, "since", "", "-audit: start of the export (RFC 3339, inclusive)")
		fs.StringVar(&f.until, "until", "", "-audit: end of the export (RFC 3339, exclusive)")
		api()
		table()
	default:
		return nil, fmt.Errorf("unknown command %q; %s", cmd, usage)
	}
	return fs, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	cmd, args := args[0], args[1:]
	if cmd == "help" || cmd == "-h" || cmd == "--help" || cmd == "-help" {
		fmt.Fprint(out, usageText())
		return nil
	}
	var f flags
	fs, err := newFlagSet(cmd, out, getenv, &f)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	explicit := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { explicit[fl.Name] = true })
	switch cmd {
	case "validate":
		file, err := datafile.Read(f.file)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %d tenants, valid\n", f.file, len(file.Tenants))
		return nil
	case "backfill-relay-index":
		// Once, after deploying gsi2 onto a table that already held relays (docs/architecture.md).
		if f.table == "" {
			return errors.New("-table or $" + config.EnvTableName + " is required")
		}
		client, err := dynamoClient(ctx, f.endpoint)
		if err != nil {
			return err
		}
		n, err := dynamo.New(client, f.table).BackfillRelayIndex(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "indexed %d relays in %s\n", n, f.table)
		return nil
	case "load", "create-table":
		if f.table == "" {
			return errors.New("-table or $" + config.EnvTableName + " is required")
		}
		client, err := dynamoClient(ctx, f.endpoint)
		if err != nil {
			return err
		}
		if cmd == "create-table" {
			return dynamo.CreateTable(ctx, client, f.table)
		}
		file, err := datafile.Read(f.file)
		if err != nil {
			return err
		}
		if err := datafile.Load(ctx, dynamo.New(client, f.table), file); err != nil {
			return err
		}
		fmt.Fprintf(out, "loaded %d tenants into %s\n", len(file.Tenants), f.table)
		return nil
	case "import":
		if f.file == "" {
			return errors.New("-file is required (a data file, an .ndjson stream, or - for stdin)")
		}
		file, err := readSource(f.file, f.format)
		if err != nil {
			return err
		}
		dir, err := openDirectory(ctx, f, explicit)
		if err != nil {
			return err
		}
		return importFile(ctx, out, dir, file, f.dryRun, f.prune, f.progress)
	case "export":
		if f.audit || explicit["bucket"] || explicit["since"] || explicit["until"] {
			return exportAudit(ctx, f, out)
		}
		if f.url == "" && f.table == "" {
			return errors.New("export: give -url (the directory through the API), -table (the directory in DynamoDB) or -audit with -bucket (maintenance.json)")
		}
		return exportDirectory(ctx, f, explicit, out)
	}
	return fmt.Errorf("unknown command %q; %s", cmd, usage)
}

// openDirectory returns the import or export target: the API at -url, or
// the DynamoDB table (-table) through the domain Registry.
func openDirectory(ctx context.Context, f flags, explicit map[string]bool) (directory, error) {
	useAPI := f.url != "" && !(explicit["table"] && !explicit["url"])
	switch {
	case useAPI:
		tok := f.token
		if b, err := os.ReadFile(tok); err == nil && tok != "" {
			tok = strings.TrimSpace(string(b)) // -token names a file, e.g. .state/tokens/qdn-admin
		}
		if tok == "" {
			return nil, errors.New("-token (or $" + envToken + ") is required with -url")
		}
		return &apiDirectory{base: f.url, token: tok, client: &http.Client{Timeout: 30 * time.Second}}, nil
	case f.table != "":
		client, err := dynamoClient(ctx, f.endpoint)
		if err != nil {
			return nil, err
		}
		reg := &relay.Registry{Store: dynamo.New(client, f.table)}
		if f.bucket != "" {
			cfg, err := awsConfig(ctx)
			if err != nil {
				return nil, err
			}
			reg.Audit = s3audit.New(s3audit.NewS3Bucket(s3.NewFromConfig(cfg, func(o *s3.Options) {
				if f.endpoint != "" {
					o.BaseEndpoint, o.UsePathStyle = aws.String(f.endpoint), true
				}
			}), f.bucket, ""))
		}
		user := os.Getenv("USER")
		if user == "" {
			user = "unknown"
		}
		return &storeDirectory{reg: reg, by: relay.Actor{Name: "relayctl:" + user}}, nil
	}
	return nil, errors.New("give -url and -token (through the API) or -table (straight into DynamoDB)")
}

func exportDirectory(ctx context.Context, f flags, explicit map[string]bool, out io.Writer) error {
	dir, err := openDirectory(ctx, f, explicit)
	if err != nil {
		return err
	}
	var tenants []string
	for _, t := range strings.Split(f.tenant, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tenants = append(tenants, t)
		}
	}
	if len(tenants) == 0 {
		switch d := dir.(type) {
		case *storeDirectory:
			ts, err := d.reg.Store.Tenants(ctx)
			if err != nil {
				return err
			}
			for _, t := range ts {
				tenants = append(tenants, t.ID)
			}
		case *apiDirectory:
			var td relay.TenantDoc
			// No ?tenant=: the credential's own tenant (or the only one).
			if _, err := d.do(ctx, "GET", "/api/tenant", "", nil, nil, &td); err != nil {
				return fmt.Errorf("%w (name the tenant with -tenant)", err)
			}
			tenants = append(tenants, td.ID)
		}
	}
	file, err := exportFile(ctx, dir, tenants)
	if err != nil {
		return err
	}
	format := f.format
	if format == "" && f.output != "" {
		format = formatOf(f.output)
	}
	return writeOut(f.output, out, func(w io.Writer) error { return writeFile(w, file, format) })
}

// writeOut writes to the -o file, created atomically, or to out.
func writeOut(path string, out io.Writer, write func(io.Writer) error) error {
	if path == "" {
		return write(out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".relayctl-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func exportAudit(ctx context.Context, f flags, out io.Writer) error {
	if f.tenant == "" || f.bucket == "" {
		return errors.New("-tenant and -bucket (or $" + config.EnvAuditBucket + ") are required")
	}
	var from, to time.Time
	var err error
	if f.since != "" {
		if from, err = time.Parse(time.RFC3339, f.since); err != nil {
			return fmt.Errorf("-since: %w", err)
		}
	}
	if f.until != "" {
		if to, err = time.Parse(time.RFC3339, f.until); err != nil {
			return fmt.Errorf("-until: %w", err)
		}
	}
	cfg, err := awsConfig(ctx)
	if err != nil {
		return err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if f.endpoint != "" {
			o.BaseEndpoint, o.UsePathStyle = aws.String(f.endpoint), true
		}
	})
	recs, err := s3audit.Export(ctx, s3audit.New(s3audit.NewS3Bucket(client, f.bucket, "")), f.tenant, from, to)
	if err != nil {
		return err
	}
	return writeOut(f.output, out, func(w io.Writer) error { return s3audit.WriteJSON(w, recs) })
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
