SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

BUF_VERSION := v1.75.0
BUF := go run github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
DATA_DIR ?= data

.PHONY: help
help: ## List targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: run
run: ## Start every service with embedded NATS, Redis and vendor sandboxes (retailbridge dev); Ctrl-C stops it cleanly.
	go build -o bin/retailbridge .
	@# exec: the binary itself receives Ctrl-C and exits 0 after a clean shutdown (`go run` would
	@# report exit status 1 for an interrupted child, and make would print "Error 1").
	exec bin/retailbridge dev --data-dir $(DATA_DIR)

.PHONY: build
build: ## Build the retailbridge binary into bin/.
	go build -o bin/retailbridge .

.PHONY: test
test: ## Unit, conformance and end-to-end tests against real Redis and PostgreSQL (installed and started here).
	go vet ./...
	scripts/test-alerts.sh
	scripts/with-redis.sh scripts/with-postgres.sh scripts/with-stripe-mock.sh scripts/with-chromium.sh go test -race -count=1 -timeout 12m ./...
	$(MAKE) --no-print-directory gen-check

.PHONY: gen
gen: ## Regenerate contracts from scratch (Go, gRPC, grpc-gateway, OpenAPI).
	rm -rf pkg/gen gateway/apidocs/*.swagger.json gateway/apidocs/openapi.json
	$(BUF) generate
	go run ./internal/openapi/cmd/openapi-build -in gateway/apidocs/retailbridge.swagger.json -out gateway/apidocs/openapi.json

.PHONY: gen-check
gen-check: ## Fail when buf lint complains, the contracts break the released ones, or regeneration changes anything.
	$(BUF) lint
	$(MAKE) --no-print-directory breaking
	scripts/gen-check.sh

.PHONY: breaking
breaking: ## Fail when proto/ breaks the released contracts (proto/released/contracts.json); prove the check can fail.
	scripts/buf-breaking.sh

.PHONY: release-contracts
release-contracts: ## Record proto/ and the HTTP operations as released; then commit and tag contracts/vX.Y.Z (see README).
	$(BUF) build --exclude-source-info -o proto/released/contracts.json
	go test -count=1 -run '^TestReleasedOperationsAreStillServed$$' ./gateway/ -args -update-released

.PHONY: lint
lint: ## buf lint (STANDARD, no ignores), gofmt and go vet.
	$(BUF) lint
	test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	go vet ./...

.PHONY: bench
bench: ## Measure PF-1..PF-4 with wrk (installed if missing): warm paths vs a bare gin handler, CPU per request from the OS, memory, return workflows, an ERP-bound burst.
	scripts/bench.sh

.PHONY: bench-inventory
bench-inventory: ## Measure the inventory ledger: movements/s next to raw commits, Reserve throughput and p99 on one hot SKU (SQLite and PostgreSQL).
	scripts/with-postgres.sh go run ./internal/bench inventory
