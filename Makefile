# Homeward: `make run` to try it, `make test` to run every check.
GO ?= go
export GOTOOLCHAIN := local
# Temporal's determinism checker, pinned.
WORKFLOWCHECK := go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

.PHONY: run test vet workflowcheck unit build user record-histories bench

## run: everything in one process: embedded Temporal, local PostgreSQL, email to .homeward/outbox
run:
	$(GO) run ./cmd/homeward dev

## test: vet, the determinism check, then every test (unit, replay, integration)
test: vet workflowcheck
	$(GO) test -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...

workflowcheck:
	$(GO) run $(WORKFLOWCHECK) ./workflows/...

build:
	$(GO) build -o bin/homeward ./cmd/homeward

## user: make user NAME="Sam Okafor" EMAIL=sam@example.org ROLE=coordinator [COMMISSIONER=Leeds]
user:
	$(GO) run ./cmd/homeward user add --name "$(NAME)" --email "$(EMAIL)" --role "$(ROLE)" $(if $(COMMISSIONER),--commissioner "$(COMMISSIONER)")

## record-histories: re-record the workflow histories the replay test runs (after a deliberate, versioned change)
record-histories:
	$(GO) test -count=1 -run TestRecordHistories ./integration/ -args -record

## bench: Homeward's API against the Temporal SDK alone, one run (README, Performance); e.g. make bench ARGS="-count 200 -storm 1000"
bench:
	$(GO) run ./bench $(ARGS)
