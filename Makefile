# dispatch-relay. `make help` lists the targets.
SHELL := bash
.DEFAULT_GOAL := help

GO       ?= go
BUILD    := build
LAMBDAS  := api escalator
# Reproducible Lambda builds: same code, same bytes, same asset hash.
LAMBDA_ENV   := GOOS=linux GOARCH=arm64 CGO_ENABLED=0 GOFLAGS=-buildvcs=false
LAMBDA_FLAGS := -trimpath -buildvcs=false -tags lambda.norpc -ldflags='-s -w -buildid='

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

.PHONY: clean
clean: ## Remove build outputs.
	rm -rf $(BUILD) cdk.out
