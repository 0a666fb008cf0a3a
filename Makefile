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
test: deps build ## Run every test: Go (domain, adapters on dynalite/gofakes3, e2e, infra) and the CloudFront Function tests.
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	node --test cloudfront-functions/
	$(MAKE) --no-print-directory test-browser

.PHONY: dev
dev: web ## Run the relay locally on the embedded store with the QuickDumpNow demo data (dashboard at /).
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
synth: node_modules/.installed build web ## Synthesize the template into cdk.out/ (offline: no AWS credentials, no lookups; cdk-nag runs).
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
