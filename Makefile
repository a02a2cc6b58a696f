# Every target creates the local virtual environment on first use, so a fresh machine with
# only python3 needs nothing but `make train` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# JAX's CUDA 12 build goes in where an NVIDIA driver is (nvidia-smi found), or with CUDA=1;
# CUDA=0 keeps the CPU build. Either way `make` installs the exact versions of a lock file
# (`make lock` refreshes both from pyproject.toml).
NVIDIA_SMI := $(shell command -v nvidia-smi 2>/dev/null)
CUDA   ?= $(if $(NVIDIA_SMI),1,0)
BUILD  := $(if $(filter 1,$(CUDA)),cuda12,cpu)
LOCK   := $(if $(filter 1,$(CUDA)),requirements-cuda12.lock,requirements.lock)
STAMP  := $(VENV)/.installed-$(BUILD)
UV_VERSION := 0.13.9
UPGRADE ?=

ENV    ?= tictactoe
ARGS   ?=
RESUME ?=
GAME   ?=
BENCH_ENVS ?= tictactoe cartpole minatar200k atari100k
RUN    ?=
STEP   ?=
GAMES  ?=
SIMS   ?=
OPPONENT ?=
SEAT   ?= first
LEVEL  ?= 1
SOAK_SECONDS  ?= 3600
SOAK_INTERVAL ?= 60
SOURCES := $(wildcard muzero envs configs tests experiments examples)

.PHONY: help install lock need-run train eval elo play diagnose gtp gnugo test test-slow soak bench lint format clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e '.[dev]'
	@# A venv switched back to the CPU build (CUDA=0) drops what the CUDA lock added.
	@if [ $(BUILD) = cpu ] && $(BIN)/python -m pip show -q jax-cuda12-plugin 2>/dev/null; then \
	  $(BIN)/python -m pip uninstall -q -y $$(sed -n \
	    's/^\(jax-cuda12-[a-z]*\|nvidia-[a-z0-9-]*\)==.*/\1/p' requirements-cuda12.lock); fi
	$(BIN)/python -m pip check
	@# GNU Go for `make gnugo` and its test (Debian package; skipped where apt cannot install).
	@command -v gnugo >/dev/null || test -x /usr/games/gnugo || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get install -y -q gnugo >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q gnugo >/dev/null 2>&1; }; }; } || \
	  echo "note: GNU Go is not installed (apt-get install gnugo); make gnugo and its test need it"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the locked dependencies and the project: make install [CUDA=1|0]

# The header each lock starts with (uv writes the pins below it).
define LOCK_HEADER
# Exact versions that `make` installs (pip install -r, then the project with --no-deps), the
# combination the test suite ran on. For Linux x86_64 and CPython 3.11+ (resolved for 3.11, the
# oldest pyproject.toml allows). Written by uv from pyproject.toml with `make lock`, which keeps
# these pins while pyproject still allows them; `make lock UPGRADE=1` moves to the newest.
# requirements-cuda12.lock is requirements.lock plus JAX's CUDA 12 build (NVIDIA GPUs).
endef
export LOCK_HEADER
LOCK_FLAGS = --python-version 3.11 --python-platform x86_64-manylinux_2_28 --no-header \
	--annotation-style line $(if $(filter 1,$(UPGRADE)),--upgrade)

lock:  ## re-resolve the locks from pyproject.toml with uv: make lock [UPGRADE=1]
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)
	$(BIN)/uv pip compile -q pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements.lock
	@# The CUDA lock is the CPU lock plus JAX's CUDA build: the same versions on both machines.
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --extra cuda12 -c requirements.lock \
	  $(LOCK_FLAGS) -o requirements-cuda12.lock
	@for f in requirements.lock requirements-cuda12.lock; do \
	  { echo "$$LOCK_HEADER"; grep -v '^#' $$f; } > $$f.tmp && mv $$f.tmp $$f; done

train: $(STAMP)  ## train a preset: make train ENV=cartpole [GAME=Pong] [RESUME=runs/...] [ARGS='--search.num-simulations 8']
	$(BIN)/python -m muzero.cli.train $(ENV) $(if $(RESUME),--resume $(RESUME)) $(if $(GAME),--env.id ALE/$(GAME)) $(ARGS)

need-run:
	@test -n "$(RUN)" || { echo "error: RUN is not set; e.g. RUN=runs/tictactoe/<time> (a run directory)" >&2; exit 2; }

eval: $(STAMP) need-run  ## evaluate a run with search: make eval RUN=runs/... [STEP=] [GAMES=] [SIMS=] [OPPONENT=module:function]
	$(BIN)/python -m muzero.cli.eval $(RUN) $(if $(STEP),--step $(STEP)) $(if $(GAMES),--games $(GAMES)) $(if $(SIMS),--num-simulations $(SIMS)) $(if $(OPPONENT),--opponent $(OPPONENT)) $(ARGS)

elo: $(STAMP) need-run  ## Elo of a two-player run's snapshots vs each other and fixed opponents (PNG): make elo RUN=runs/... [GAMES=20]
	$(BIN)/python -m muzero.cli.elo $(RUN) $(if $(GAMES),--games $(GAMES)) $(if $(SIMS),--num-simulations $(SIMS)) $(ARGS)

play: $(STAMP)  ## play a trained agent in the terminal: make play ENV=connect_four [RUN=runs/...] [SEAT=second] [SIMS=64]
	$(BIN)/python -m muzero.cli.play $(ENV) $(if $(RUN),--run $(RUN)) --seat $(SEAT) $(if $(SIMS),--num-simulations $(SIMS)) $(ARGS)

diagnose: $(STAMP) need-run  ## learned model vs reality, per unroll step (table + PNG): make diagnose RUN=runs/cartpole/...
	$(BIN)/python -m muzero.cli.diagnose $(RUN) $(if $(STEP),--step $(STEP)) $(if $(SIMS),--num-simulations $(SIMS)) $(ARGS)

gtp: $(STAMP) need-run  ## serve a Go run over GTP on stdin/stdout (Sabaki, GoGui): make gtp RUN=runs/go_9x9/...
	@$(BIN)/python -m muzero.cli.gtp $(RUN) $(if $(SIMS),--num-simulations $(SIMS)) $(ARGS)

gnugo: $(STAMP) need-run  ## match a Go run against GNU Go through GTP: make gnugo RUN=runs/go_9x9/... [GAMES=10] [LEVEL=1]
	$(BIN)/python -m muzero.cli.gnugo $(RUN) --games $(or $(GAMES),10) --level $(LEVEL) $(if $(SIMS),--num-simulations $(SIMS)) $(ARGS)

# The tests build the same small presets again and again (a fresh jit each time): XLA's persistent
# compilation cache lets every later build load the programs the first one compiled.
TEST_ENV = JAX_COMPILATION_CACHE_DIR=$(CURDIR)/.cache/jax-tests JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0.2

test: $(STAMP)  ## the default test suite (CPU, under 10 minutes)
	$(TEST_ENV) $(BIN)/python -m pytest -m "not slow and not gpu" -q -n auto --dist loadgroup --durations=15

test-slow: $(STAMP)  ## long learning tests and long end-to-end runs
	$(TEST_ENV) $(BIN)/python -m pytest -m slow -q

soak: $(STAMP)  ## an hour of connect_four, resident memory sampled each minute into <run>/memory.csv: make soak [SOAK_SECONDS=3600] [SOAK_INTERVAL=60]
	$(BIN)/python experiments/soak.py --seconds $(SOAK_SECONDS) --interval $(SOAK_INTERVAL) $(ARGS)

bench: $(STAMP)  ## acting against the search roofline, learning, reanalysis and their shares of a run: make bench [BENCH_ENVS='tictactoe cartpole atari100k']
	$(BIN)/python -m muzero.cli.bench $(BENCH_ENVS) $(ARGS)

lint: $(STAMP)  ## ruff check, format check and the layer contracts (import-linter, pyproject.toml)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/lint-imports

format: $(STAMP)  ## ruff format and autofix
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
