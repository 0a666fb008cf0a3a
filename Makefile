# dispatch-relay. `make help` lists the targets.
SHELL := bash
.DEFAULT_GOAL := help

GO       ?= go
BUILD    := build
TOOLS    := $(BUILD)/tools
LAMBDAS  := api escalator fallback
# Reproducible Lambda builds: same code, same bytes, same asset hash.
LAMBDA_ENV   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0 GOFLAGS=-buildvcs=false
LAMBDA_FLAGS := -trimpath -buildvcs=false -tags lambda.norpc
# The version a binary reports (main.version): a hash of the Go and embedded files of every
# non-standard package it is built from, for its target and tags. Not the git commit: it changes
# exactly when that binary's code does, so an unchanged function keeps its bytes and asset hash.
src_version = src-$$($(LAMBDA_ENV) $(GO) list -deps $(LAMBDA_FLAGS) \
  -f '{{if not .Standard}}{{range .GoFiles}}{{$$.Dir}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}' \
  ./lambdas/cmd/$(1) | xargs cat | sha256sum | cut -c1-12)

# Lint tools, installed through the module proxy into build/tools (git-ignored).
STATICCHECK_VERSION := v0.8.2
GOVULNCHECK_VERSION := v1.10.0
# The Go vulnerability database as a module (its data/osv files); raise it to pick up new reports.
VULNDB_VERSION      := v0.0.0-20261105234957-e22db6528018
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
GOVULNCHECK := $(TOOLS)/govulncheck-$(GOVULNCHECK_VERSION)/govulncheck
INDEXDB     := $(TOOLS)/vulndb-$(VULNDB_VERSION)/indexdb
VULNDB      := $(BUILD)/vulndb-$(VULNDB_VERSION)

# One pinned Go toolchain for every build, test and CI run (fetched by the go command from the module proxy).
export GOTOOLCHAIN := go1.27.3
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: help
help: ## Show this help (colours only on a terminal).
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; else on=; off=; fi; \
	awk -v on="$$on" -v off="$$off" 'BEGIN{FS=":.*## "} /^[a-zA-Z0-9_.\/-]+:.*## /{printf "  %s%-14s%s %s\n",on,$$1,off,$$2}' $(MAKEFILE_LIST)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@# aws-cdk ships Go template files; a go.mod here keeps them out of ./...
	@printf 'module ignore/node_modules\n' > node_modules/go.mod
	@touch $@

test/node_modules/.installed: test/package.json test/package-lock.json
	npm ci --prefix test --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: deps
deps: node_modules/.installed test/node_modules/.installed ## Install Go modules and the npm packages (CDK CLI, dynalite).
	$(GO) mod download

.PHONY: build
build: $(addprefix $(BUILD)/lambda/,$(addsuffix /bootstrap,$(LAMBDAS))) ## Build the Lambda bootstraps (linux/arm64, reproducible).

$(BUILD)/lambda/%/bootstrap: FORCE
	@mkdir -p $(@D)
	@v=$(call src_version,$*) && echo "build $@ (version $$v)" && \
	  $(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -ldflags="-s -w -buildid= -X main.version=$$v" -o $@ ./lambdas/cmd/$*

# cdk.json's app command: build the bootstraps, then synthesize, so `npx cdk synth` and
# `cdk diff` work on a fresh clone. Build output goes to stderr, never into the CLI's stdout.
.PHONY: cdk-app
cdk-app:
	@$(MAKE) --no-print-directory build web >&2
	@$(GO) run ./infra/cmd/app

.PHONY: FORCE
FORCE:

.PHONY: test
test: deps build test-race ## Run every test: Go (domain, adapters on dynalite/gofakes3, e2e, infra) and the CloudFront Function tests.
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	node --test cloudfront-functions/
	$(MAKE) --no-print-directory test-browser

# --- Proof harness (docs/reliability.md) --------------------------------------------
# Packages run under the race detector once per `make test`: the domain, the stores,
# the timers and the end-to-end suite.
RACE_PKGS := ./lambdas/relay/... ./lambdas/memstore ./lambdas/boltstore ./lambdas/dynamo \
	./lambdas/localtimer ./lambdas/sqstimer ./test/racetest ./test/e2e
# Fuzz targets, package:function; `make fuzz` runs each for FUZZTIME.
FUZZTIME ?= 15s
FUZZ_TARGETS := \
	./lambdas/httpapi:FuzzIncomingWebhook ./lambdas/httpapi:FuzzDeliveryWebhook \
	./lambdas/httpapi:FuzzAuditQuery ./lambdas/httpapi:FuzzInternalJSON \
	./lambdas/twilio:FuzzSignature ./lambdas/relay:FuzzParseReply \
	./lambdas/datafile:FuzzParse

.PHONY: test-race
test-race: deps ## Run the domain, stores, timers and e2e under the race detector.
	$(GO) test -race -count=1 $(RACE_PKGS)

.PHONY: loadtest
loadtest: ## Load the dev server and reconcile sent/Twilio/audit/store; knobs LOADTEST_* (docs/reliability.md).
	@mkdir -p $(BUILD)
	$(GO) build -o $(BUILD)/loadtest ./test/loadtest/cmd/loadtest
	$(BUILD)/loadtest

.PHONY: chaos
chaos: test/node_modules/.installed ## Load under Twilio faults, a SIGKILL and store faults; knobs CHAOS_*, RELAY_CHAOS_STRICT=1.
	@mkdir -p $(BUILD) && rm -f $(BUILD)/chaos-aws.txt
	-CHAOS_REPORT=$(abspath $(BUILD))/chaos-aws.txt $(GO) test -count=1 -run 'UnderFaults' ./test/awschaos
	$(GO) build -o $(BUILD)/loadtest ./test/loadtest/cmd/loadtest
	$(BUILD)/loadtest -chaos -aws-report $(BUILD)/chaos-aws.txt

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 15s); the corpora also run in `make test`.
	@set -e; for spec in $(FUZZ_TARGETS); do \
		pkg=$${spec%%:*}; fn=$${spec##*:}; echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

.PHONY: coldstart
coldstart: test/node_modules/.installed ## Measure Lambda init and first invocation vs hello-world aws-lambda-go, and binary sizes.
	COLDSTART=1 $(GO) test -count=1 -run TestColdStart -v ./test/coldstart

.PHONY: dev
dev: web ## Run the relay locally on the embedded store with the QuickDumpNow demo data (dashboard at /).
	$(GO) run ./lambdas/cmd/devserver

.PHONY: sms
# The values travel in the environment, unexpanded ($(value ...)), never through a shell
# command line: any body (quotes, $, backticks) arrives unchanged.
sms: export DEVSMS_FROM := $(value FROM)
sms: export DEVSMS_TO := $(value TO)
sms: export DEVSMS_BODY := $(value BODY)
sms: ## Text the dev server as a customer would: make sms FROM=+16195551234 BODY="need a pickup" [TO=+16195550100] [FALLBACK=1]
	$(GO) run ./lambdas/cmd/devsms $(if $(FALLBACK),-fallback)

$(STATICCHECK):
	GOBIN=$(abspath $(@D)) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
$(GOVULNCHECK):
	GOBIN=$(abspath $(@D)) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
$(INDEXDB):
	GOBIN=$(abspath $(@D)) $(GO) install golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION)

# Offline vulnerability database: only the module proxy is reachable, so the golang.org/x/vulndb
# module is downloaded through it and its OSV files indexed into build/ (never committed).
$(VULNDB)/index/db.json: $(INDEXDB)
	@rm -rf $(VULNDB) && mkdir -p $(BUILD)
	dir=$$(cd "$${TMPDIR:-/tmp}" && $(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  test -d "$$dir/data/osv" || { echo "vulndb module has no data/osv ($$dir)"; exit 1; }; \
	  $(INDEXDB) -vulns "$$dir/data/osv" -out $(VULNDB)

# go/packages asks `go list` for the Go version with GO111MODULE=off, which ignores GOTOOLCHAIN:
# the pinned toolchain's bin goes first on PATH so the analysers see go1.27, not the machine's Go.
LINT_PATH = PATH="$$($(GO) env GOROOT)/bin:$$PATH"

# relayctl talks to the dev server by default: its URL and the admin token it keeps in .state.
RELAY_URL   ?= http://127.0.0.1:8080
RELAY_TOKEN ?= .state/api-token

.PHONY: relayctl
relayctl: ## Run the admin CLI: make relayctl ARGS='import -file f.yaml -dry-run' (default target: the dev server; ARGS=help lists commands)
	RELAY_URL='$(RELAY_URL)' RELAY_TOKEN='$(RELAY_TOKEN)' $(GO) run ./lambdas/cmd/relayctl $(or $(ARGS),help)

.PHONY: import
import: ## Sync the dev server's directory with a file: make import FILE=tenants.yaml [DRY=1] [PRUNE=1]
	RELAY_URL='$(RELAY_URL)' RELAY_TOKEN='$(RELAY_TOKEN)' $(GO) run ./lambdas/cmd/relayctl import -file '$(FILE)' $(if $(DRY),-dry-run) $(if $(PRUNE),-prune)

.PHONY: lint
lint: build $(STATICCHECK) $(GOVULNCHECK) $(VULNDB)/index/db.json ## gofmt, go vet, staticcheck and govulncheck (offline database; sources and the built bootstraps).
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './node_modules/*' -not -path './test/node_modules/*' -not -path './build/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(LINT_PATH) $(STATICCHECK) ./...
	$(LINT_PATH) $(GOVULNCHECK) -db file://$(abspath $(VULNDB)) ./...
	@# The deployed bytes too (module- and symbol-level for the stripped bootstraps), one at a time.
	for f in $(addprefix $(BUILD)/lambda/,$(addsuffix /bootstrap,$(LAMBDAS))); do \
	  echo "govulncheck -mode binary $$f"; $(LINT_PATH) $(GOVULNCHECK) -db file://$(abspath $(VULNDB)) -mode binary $$f || exit 1; done

.PHONY: bench
bench: ## Run the benchmarks (see docs/benchmarks.md).
	$(GO) test -run '^$$' -bench . -benchmem ./lambdas/...

# --- Dashboard (web/) and its browser tests (test/browser/) -----------------------
WEB_SRC := $(shell find web -type f -not -path '*/node_modules/*' 2>/dev/null) package-lock.json

.PHONY: web
web: $(BUILD)/web/.built ## Build the dashboard and tracking page into build/web (esbuild, reproducible).

$(BUILD)/web/.built: node_modules/.installed $(WEB_SRC)
	node web/build.mjs $(BUILD)/web
	@touch $@

CHROMIUM ?= /usr/bin/chromium

.PHONY: chromium
chromium: ## Install Debian's chromium for the browser tests when it is missing.
	@command -v $(CHROMIUM) >/dev/null || { apt-get update && apt-get install -y chromium; }

.PHONY: test-browser
test-browser: web chromium test/node_modules/.installed ## Browser tests: playwright-core drives headless chromium against the dev server binary and the fake Twilio.
	@mkdir -p $(BUILD)/bin
	$(GO) build -o $(BUILD)/bin/devserver ./lambdas/cmd/devserver
	$(GO) build -o $(BUILD)/bin/faketwilio ./test/faketwilio/cmd/faketwilio
	CHROMIUM=$(CHROMIUM) node --test --test-concurrency=1 test/browser/

.PHONY: screenshots
screenshots: ## Refresh the dashboard screenshots in docs/ (runs the browser tests with SCREENSHOTS=1).
	SCREENSHOTS=1 $(MAKE) --no-print-directory test-browser

# --- CDK (infra/, docs/deploy.md) -------------------------------------------------
CDK      := npx --no-install cdk
STACK    := DispatchRelay
GOLDEN   := infra/testdata/$(STACK).template.json
# AWS credentials present? (env, profile, SSO/config files). `make diff OFFLINE=1` forces the snapshot diff.
# Extra CLI flags for synth, e.g. CDK_ARGS='-c alarmEmail=oncall@example.com' (cdk.json holds the defaults).
CDK_ARGS ?=
HAVE_AWS := $(if $(OFFLINE),,$(strip $(AWS_ACCESS_KEY_ID)$(AWS_PROFILE)$(AWS_WEB_IDENTITY_TOKEN_FILE)$(AWS_CONTAINER_CREDENTIALS_FULL_URI)$(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)$(wildcard $(HOME)/.aws/credentials $(HOME)/.aws/config)))

.PHONY: synth
synth: node_modules/.installed ## Synthesize the template into cdk.out/ (offline: no AWS credentials, no lookups; cdk-nag runs).
	AWS_EC2_METADATA_DISABLED=true $(CDK) synth --quiet $(CDK_ARGS) $(STACK)
	@echo "wrote cdk.out/$(STACK).template.json"

.PHONY: diff
diff: synth ## cdk diff against the account when AWS credentials exist; otherwise against the committed snapshot infra/testdata/DispatchRelay.template.json.
ifneq ($(HAVE_AWS),)
	$(CDK) diff --app cdk.out $(STACK)
else
	@echo "No AWS credentials: comparing with $(GOLDEN) (asset hashes masked)."
	@rm -rf $(BUILD)/diff && mkdir -p $(BUILD)/diff
	find cdk.out -maxdepth 1 -type f -exec cp {} $(BUILD)/diff/ \;
	sed -E 's/[0-9a-f]{64}/ASSET_HASH/g' cdk.out/$(STACK).template.json > $(BUILD)/diff/$(STACK).template.json
	AWS_EC2_METADATA_DISABLED=true $(CDK) diff --app $(BUILD)/diff --template $(GOLDEN) $(STACK)
endif

.PHONY: deploy
deploy: synth ## Deploy the synthesized stack with the current AWS credentials (first time: docs/deploy.md).
	$(CDK) deploy --app cdk.out --require-approval broadening $(STACK)

.PHONY: clean
clean: ## Remove build outputs.
	rm -rf $(BUILD) cdk.out
