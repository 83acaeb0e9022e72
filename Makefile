# okc-recon: every target builds what it needs from nothing but Python 3.11+ and make.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SYNCED := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

MONTH ?=
INVOICES ?= invoices/$(MONTH)
OUT ?= out/$(MONTH)
SANDBOX ?=

.DEFAULT_GOAL := help
.PHONY: help setup test lint format bench demo lab monthly sample-data clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(SYNCED): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

setup: $(SYNCED) ## create .venv from uv.lock (idempotent)

test: $(SYNCED) ## run the whole test suite (notebooks included)
	$(BIN)/pytest -n 2 --dist loadgroup

lint: $(SYNCED) ## ruff (lint + format check) and mypy
	$(BIN)/ruff check okc_recon tests benchmarks
	$(BIN)/ruff format --check okc_recon tests benchmarks
	$(BIN)/mypy

format: $(SYNCED) ## apply ruff formatting and safe fixes
	$(BIN)/ruff check --fix okc_recon tests benchmarks
	$(BIN)/ruff format okc_recon tests benchmarks

bench: $(SYNCED) ## run every benchmark and print one table of figures and ratios
	$(BIN)/python -m benchmarks

sample-data: $(SYNCED) ## rebuild sample_data/ (one month of fulfillments and invoices, answer key)
	$(BIN)/python -m okc_recon.sandbox.sample_month --out sample_data

clean: ## remove the environments and outputs
	rm -rf $(VENV) $(TOOLS) out .pytest_cache .mypy_cache .ruff_cache
