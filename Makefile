# tracer — run `make help` for the targets.
GO      ?= go
TOOLS   := $(CURDIR)/.tools
BTCD    := github.com/btcsuite/btcd
BTCDV   := v0.24.2
GOLANGCI := github.com/golangci/golangci-lint/v2/cmd/golangci-lint
GOLANGCIV := v2.15.0
export PATH := $(TOOLS):$(PATH)

.PHONY: help build demo test unit itest tools duckdb fuzz bench scale lint clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/tracer
	$(GO) build -o bin/tracer ./cmd/tracer

demo: ## the main job on the embedded default: a generated scam-centre case traced into demo/report.html
	$(GO) run ./cmd/tracer demo

test: tools duckdb ## every test: unit, real-data and integration (starts a real btcd, runs DuckDB)
	$(GO) test -tags integration -timeout 30m ./...

unit: ## unit tests only (no processes started)
	$(GO) test -short ./...

itest: tools duckdb ## integration tests only
	$(GO) test -tags integration -run 'Integration|Btcd|DuckDB' -timeout 30m ./...

tools: $(TOOLS)/btcd $(TOOLS)/addblock $(TOOLS)/btcctl ## install btcd, addblock, btcctl into .tools/

$(TOOLS)/btcd $(TOOLS)/addblock $(TOOLS)/btcctl:
	GOBIN=$(TOOLS) $(GO) install $(BTCD)@$(BTCDV) $(BTCD)/cmd/addblock@$(BTCDV) $(BTCD)/cmd/btcctl@$(BTCDV)

DUCKDB  := @duckdb/node-api@1.3.2-alpha.25
duckdb: ## install DuckDB for Node into .tools/duckdb (the SQL recipes' test; skipped without npm)
	@if command -v npm >/dev/null; then \
		test -f $(TOOLS)/duckdb/node_modules/@duckdb/node-api/package.json || \
		npm install --prefix $(TOOLS)/duckdb --no-audit --no-fund $(DUCKDB); \
	else echo "npm not found: the DuckDB tests will skip"; fi

fuzz: ## run each fuzz test for FUZZTIME (default 20s)
	$(GO) test -run '^$$' -fuzz FuzzScan -fuzztime $${FUZZTIME:-20s} ./store/blockfile
	$(GO) test -run '^$$' -fuzz FuzzScanBlock -fuzztime $${FUZZTIME:-20s} ./store/ingest
	$(GO) test -run '^$$' -fuzz FuzzDecodeTx -fuzztime $${FUZZTIME:-20s} ./store
	$(GO) test -run '^$$' -fuzz FuzzDecodeClusterNode -fuzztime $${FUZZTIME:-20s} ./store
	$(GO) test -run '^$$' -fuzz FuzzScanLog -fuzztime $${FUZZTIME:-20s} ./store
	$(GO) test -run '^$$' -fuzz FuzzSortedFile -fuzztime $${FUZZTIME:-20s} ./store
	$(GO) test -run '^$$' -fuzz FuzzCorruptIndex -fuzztime $${FUZZTIME:-20s} ./store/flow
	$(GO) test -run '^$$' -fuzz FuzzClassify -fuzztime $${FUZZTIME:-20s} ./sanctions/address
	$(GO) test -run '^$$' -fuzz FuzzRender -fuzztime $${FUZZTIME:-20s} ./tracer/report
	$(GO) test -run '^$$' -fuzz FuzzReadCollaborative -fuzztime $${FUZZTIME:-20s} ./tracer/cluster/accuracy
	$(GO) test -run '^$$' -fuzz FuzzHandler -fuzztime $${FUZZTIME:-20s} ./tracer/screen/api
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $${FUZZTIME:-20s} ./tracer/jobs
	$(GO) test -run '^$$' -fuzz FuzzManifest -fuzztime $${FUZZTIME:-20s} ./tracer/cases

bench: ## benchmarks (ingest, clustering and tracing of a generated 1M-tx chain, Badger ceiling, screening API load test)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

N ?= 100000
SHAPE ?= standard
scale: build ## the scale harness on a generated chain of N transactions (cached; SHAPE=mainnet): per-stage rate, time, memory, disk
	$(GO) test -tags scale -run '^TestScale$$' -count 1 -timeout 0 -v ./cmd/tracer -scale.n $(N) -scale.shape $(SHAPE) -scale.bin $(CURDIR)/bin/tracer

lint: $(TOOLS)/golangci-lint ## gofmt, go vet and golangci-lint (.golangci.yml)
	@test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)
	$(GO) vet -tags integration ./...
	$(GO) vet -tags scale ./cmd/tracer
	$(TOOLS)/golangci-lint run ./...

$(TOOLS)/golangci-lint:
	GOBIN=$(TOOLS) $(GO) install $(GOLANGCI)@$(GOLANGCIV)

clean: ## remove build output and the demo store
	rm -rf bin demo .tools
