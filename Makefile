# dispatch-relay. `make help` lists the targets.
SHELL := bash
.DEFAULT_GOAL := help

GO       ?= go
BUILD    := build
LAMBDAS  := api escalator
# Reproducible Lambda builds: same code, same bytes, same asset hash.
LAMBDA_ENV   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0 GOFLAGS=-buildvcs=false
LAMBDA_FLAGS := -trimpath -buildvcs=false -tags lambda.norpc -ldflags='-s -w -buildid='

# One pinned Go toolchain for every build, test and CI run (fetched by the go command from the module proxy).
export GOTOOLCHAIN := go1.27.3
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z0-9_.\/-]+:.*## /{printf "  \033[36m%-14s\033[0m %s\n",$$1,$$2}' $(MAKEFILE_LIST)

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
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $@ ./lambdas/cmd/$*

.PHONY: FORCE
FORCE:

.PHONY: test
test: deps build test-race ## Run every test: Go (domain, adapters on dynalite/gofakes3, e2e, infra) and the CloudFront Function tests.
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	node --test cloudfront-functions/

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
dev: ## Run the relay locally on the embedded store with the QuickDumpNow demo data.
	$(GO) run ./lambdas/cmd/devserver

.PHONY: sms
sms: ## Text the dev server as a customer would: make sms FROM=+16195551234 BODY="need a pickup" [TO=+16195550100]
	$(GO) run ./lambdas/cmd/devsms -from '$(FROM)' -to '$(TO)' -body '$(BODY)'

.PHONY: lint
lint: ## gofmt check and go vet.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: bench
bench: ## Run the benchmarks (see docs/benchmarks.md).
	$(GO) test -run '^$$' -bench . -benchmem ./lambdas/...

# --- CDK (infra/, docs/deploy.md) -------------------------------------------------
CDK      := npx --no-install cdk
STACK    := DispatchRelay
GOLDEN   := infra/testdata/$(STACK).template.json
# AWS credentials present? (env, profile, SSO/config files). `make diff OFFLINE=1` forces the snapshot diff.
# Extra CLI flags for synth, e.g. CDK_ARGS='-c alarmEmail=oncall@example.com' (cdk.json holds the defaults).
CDK_ARGS ?=
HAVE_AWS := $(if $(OFFLINE),,$(strip $(AWS_ACCESS_KEY_ID)$(AWS_PROFILE)$(AWS_WEB_IDENTITY_TOKEN_FILE)$(AWS_CONTAINER_CREDENTIALS_FULL_URI)$(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)$(wildcard $(HOME)/.aws/credentials $(HOME)/.aws/config)))

.PHONY: synth
synth: node_modules/.installed build ## Synthesize the template into cdk.out/ (offline: no AWS credentials, no lookups; cdk-nag runs).
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
