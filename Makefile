# Homeward: `make run` to try it, `make test` to run every check.
GO ?= go
export GOTOOLCHAIN := local
# Temporal's determinism checker, pinned.
WORKFLOWCHECK := go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

.PHONY: run test drill vet workflowcheck unit build user record-histories bench

## run: everything in one process: embedded Temporal, local PostgreSQL, email to .homeward/outbox
## (the development build: -tags dev links the embedded Temporal server and the local PostgreSQL)
run:
	$(GO) run -tags dev ./cmd/homeward dev

## test: vet, the determinism check, then every test (unit, replay, integration),
## and the development build's own tests
test: vet workflowcheck
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -count=1 -timeout 10m -tags dev ./cmd/homeward

## drill: the fault drills (worker killed, PostgreSQL restarted, mail relay and Temporal down), about 3 minutes
drill:
	$(GO) test -count=1 -timeout 20m -tags drill ./drills/

vet:
	$(GO) vet ./...
	$(GO) vet -tags dev ./cmd/homeward
	$(GO) vet -tags drill ./drills/

workflowcheck:
	$(GO) run $(WORKFLOWCHECK) ./workflows/...

## build: the production binary (no embedded Temporal server, no local PostgreSQL)
build:
	$(GO) build -o bin/homeward ./cmd/homeward

## user: make user NAME="Sam Okafor" EMAIL=sam@example.org ROLE=coordinator [COMMISSIONER=Leeds]
user:
	$(GO) run -tags dev ./cmd/homeward user add --name "$(NAME)" --email "$(EMAIL)" --role "$(ROLE)" $(if $(COMMISSIONER),--commissioner "$(COMMISSIONER)")

## record-histories: re-record the workflow histories the replay test runs (after a deliberate, versioned change)
record-histories:
	$(GO) test -count=1 -run 'TestRecord(InFlight)?Histories' ./integration/ -args -record

## bench: Homeward's API against the Temporal SDK alone, one run (README, Performance); e.g. make bench ARGS="-count 200 -storm 1000"
bench:
	$(GO) run ./bench $(ARGS)
