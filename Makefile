SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

BUF_VERSION := v1.75.0
BUF := go run github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)

.PHONY: help
help: ## List targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: gen
gen: ## Regenerate contracts from scratch (Go, gRPC, grpc-gateway, OpenAPI).
	rm -rf pkg/gen gateway/apidocs/*.swagger.json
	$(BUF) generate

.PHONY: lint
lint: ## buf lint (STANDARD, no ignores) and go vet.
	$(BUF) lint
	go vet ./...
