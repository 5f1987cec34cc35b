# CypherTalk-Go. `make reproduce` and `make test` do all set-up on a fresh machine (Go 1.26 is the only prerequisite).
GO        ?= go
BIN       := bin/cyphertalk
DATA_DIR  ?= $(firstword $(wildcard ../shared/data) $(wildcard data))
PRESET    ?= tiny
MAX_TRAIN ?= 2000
SEEDS     ?= 1

export CGO_ENABLED ?= 0

.PHONY: build test test-slurm vet vet-xla gpu-smoke reproduce paper finetune-compare pretrain bench bench-peer data clean

build: $(BIN)

# The git commit and dirty flag every run records, linked into the binary: go's own VCS stamp is missing under
# GOFLAGS=-buildvcs=false, go run and builds outside git. bin/.git-stamp changes (and the binary is relinked) only
# when the commit or the dirty flag does.
GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
GIT_DIRTY  := $(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo true)
GIT_LDFLAGS := -X github.com/cyphertalk/cyphertalk-go/experiments.buildCommit=$(GIT_COMMIT) \
	-X github.com/cyphertalk/cyphertalk-go/experiments.buildDirty=$(GIT_DIRTY)

$(BIN): $(shell find . -name '*.go' -not -path './data/*') go.mod go.sum bin/.git-stamp
	$(GO) build -ldflags "$(GIT_LDFLAGS)" -o $(BIN) ./cmd/cyphertalk

bin/.git-stamp: FORCE
	@mkdir -p bin; echo '$(GIT_COMMIT) $(GIT_DIRTY)' | cmp -s - $@ || echo '$(GIT_COMMIT) $(GIT_DIRTY)' > $@

FORCE:

vet:
	$(GO) vet ./...

# Unit and integration tests (nano-sized models on the real data in $(DATA_DIR)).
test: vet vet-xla
	$(GO) test -count=1 -timeout 20m ./...

# The GPU build (-tags xla: gomlx's XLA/PJRT backend, cgo) must keep compiling, linking and vetting; it needs a C
# compiler but no PJRT plugin (the plugin is loaded at run time). Without a C compiler the check is skipped with a
# notice, or fails when the environment variable CI is set.
vet-xla:
	@if ! command -v "$${CC:-gcc}" >/dev/null 2>&1; then \
		msg="the -tags xla build needs a C compiler for cgo ($${CC:-gcc} not found; e.g. apt-get install gcc)"; \
		case "$${CI:-}" in ""|0|false|no) echo "vet-xla: skipped: $$msg" >&2; exit 0;; esac; \
		echo "vet-xla: $$msg" >&2; exit 1; \
	fi; \
	set -ex; \
	CGO_ENABLED=1 $(GO) build -tags xla ./...; \
	CGO_ENABLED=1 $(GO) build -tags xla -o /dev/null ./cmd/cyphertalk; \
	CGO_ENABLED=1 $(GO) vet -tags xla ./...

# The smoke spec on the mini model and `cyphertalk bench` through XLA/PJRT on a GPU machine, into
# results/gpu-smoke: PJRT_PLUGIN=/abs/path/xla_cuda_plugin.so make gpu-smoke (see scripts/gpu-smoke.sh; without
# PJRT_PLUGIN it says where to get one). Not part of `make test`.
gpu-smoke:
	GO="$(GO)" LDFLAGS="$(GIT_LDFLAGS)" PJRT_PLUGIN="$(PJRT_PLUGIN)" scripts/gpu-smoke.sh

# Fetch the public data into ./data when no data directory is found.
data: build
	@if [ -z "$(DATA_DIR)" ] && [ -z "$$DATA_DIR" ]; then \
		echo "no data directory found (../shared/data, ./data or \$$DATA_DIR): fetching the public copies into ./data"; \
		$(BIN) data fetch --dest data; \
	fi

# Pre-train the public base model (cached under cache/pretrain by a hash of its recipe and corpus).
pretrain: data
	$(BIN) pretrain --preset $(PRESET)

# The paper's figures from real runs: the embedded paper spec at two seeds (the tiny base model comes from
# checkpoints/ into the cache, or is pre-trained once if the data differ; resumable: results/paper/*.parquet), then
# the figures and tables in out/paper/index.html (index.md beside it).
reproduce: paper

paper: data
	$(BIN) run paper --results results
	$(BIN) report results/paper -o out/paper

# The foundation's comparison: fine-tune the pre-trained (and, with INIT=pretrained,scratch, a from-scratch) tiny
# model on SST-2 and QQP with the token table frozen and trainable; prints dev metrics and wall times.
INIT      ?= pretrained
finetune-compare: data
	$(BIN) finetune --preset $(PRESET) --task sst2,qqp --max-train $(MAX_TRAIN) --seeds $(SEEDS) \
		--init $(INIT) --table frozen,trainable

# Any other embedded spec by name, e.g. `make run-privacy` (privacy against utility) or `make run-dp` (the DP table:
# hours; resumable, or split with `cyphertalk slurm`). `cyphertalk run` without a spec lists them all.
run-%: data
	$(BIN) run $* --results results
	$(BIN) report results/$* -o out/$*

# The Slurm job array on a real single-node Slurm cluster started on this machine (installs slurm-wlm and munge
# with apt-get when missing; root): `cyphertalk slurm smoke --shards 4` submitted with sbatch must write the same
# results as a serial run. Not part of `make test`; see scripts/test-slurm.sh.
test-slurm: data
	DATA_DIR="$(firstword $(DATA_DIR) data)" GO="$(GO)" scripts/test-slurm.sh

bench: build
	$(BIN) bench --presets nano,tiny --results results

# The project's tiny model against its PyTorch peer (scripts/peer/bench.py) on this CPU, alternating for
# PEER_ROUNDS rounds of PEER_STEPS timed steps per kind on the default backend (or $GOMLX_BACKEND); ends with the
# speed ratio project ÷ PyTorch per step kind beside its goal, and records every pair under RESULTS/bench-peer
# (RESULTS=measurements for the committed ones). Needs python3 with torch (Debian: apt-get install python3-torch
# libopenblas0-pthread). Not part of `make test`.
RESULTS     ?= results
PEER_ROUNDS ?= 3
PEER_STEPS  ?= 10
bench-peer: build
	$(BIN) bench --presets tiny --peer scripts/peer/bench.py --rounds $(PEER_ROUNDS) --steps $(PEER_STEPS) \
		--results $(RESULTS)

clean:
	rm -rf bin
