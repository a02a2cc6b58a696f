# Every target creates the local virtual environment on first use, so a fresh machine with
# only python3 needs nothing but `make train` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

ENV    ?= tictactoe
ARGS   ?=
RESUME ?=
GAME   ?=
BENCH_ENVS ?= tictactoe cartpole atari100k
SOURCES := $(wildcard muzero envs configs tests experiments)

.PHONY: help install train test test-slow bench lint format clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its dependencies

train: $(STAMP)  ## train a preset: make train ENV=cartpole [GAME=Pong] [RESUME=runs/...] [ARGS='--search.num-simulations 8']
	$(BIN)/python -m muzero.train $(ENV) $(if $(RESUME),--resume $(RESUME)) $(if $(GAME),--env.id ALE/$(GAME)) $(ARGS)

test: $(STAMP)  ## the default test suite (CPU, under 10 minutes)
	$(BIN)/python -m pytest -m "not slow and not gpu" -q

test-slow: $(STAMP)  ## long learning tests
	$(BIN)/python -m pytest -m slow -q

bench: $(STAMP)  ## acting throughput against the search roofline: make bench [BENCH_ENVS='tictactoe cartpole atari100k']
	$(BIN)/python -m muzero.bench $(BENCH_ENVS) $(ARGS)

lint: $(STAMP)  ## ruff check and format check
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

format: $(STAMP)  ## ruff format and autofix
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
