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

demo: $(SYNCED) ## the sample month end to end against the built-in sandbox; writes out/
	$(BIN)/okc-recon demo --out out

# Credentials: OKC_ACCESS_TOKEN, or OKC_USERNAME + OKC_PASSWORD, from the environment or .env.
# Checked by the shell (never expanded into a recipe line, which make -n would print) so a
# missing one is said before anything is built; okc-recon checks them again.
CREDENTIALS_SET = [ -n "$${OKC_ACCESS_TOKEN}$${OKC_USERNAME}" ] || grep -Eqs \
	'^[[:space:]]*(export[[:space:]]+)?OKC_(ACCESS_TOKEN|USERNAME)[[:space:]]*=[[:space:]]*[^[:space:]\#]' .env
# With SANDBOX=1 and no invoice folder, the sandbox's own invoices for the month are used.
INVOICE_ARGS = $(if $(SANDBOX),$(if $(wildcard $(INVOICES)),--invoices $(INVOICES)),--invoices $(INVOICES))

.PHONY: monthly-args
monthly-args:
	@if [ -z "$(MONTH)" ]; then \
		echo "make monthly: say which month, e.g. make monthly MONTH=2025-10" >&2; exit 2; fi
	@if [ -z "$(SANDBOX)" ] && ! { $(CREDENTIALS_SET); }; then \
		echo "make monthly: no OKC credentials. Set OKC_ACCESS_TOKEN, or OKC_USERNAME and" \
			"OKC_PASSWORD, in the environment or in .env (and OKC_BASE_URL for stage);" \
			"or run against the sandbox: make monthly MONTH=$(MONTH) SANDBOX=1" >&2; exit 2; fi

# monthly-args first: a missing month or credential is said before anything is built
monthly: monthly-args $(SYNCED) ## the monthly job: MONTH=YYYY-MM [INVOICES=invoices/MONTH] [OUT=out/MONTH] [SANDBOX=1]
	$(BIN)/okc-recon run --month $(MONTH) $(INVOICE_ARGS) --out $(OUT) $(if $(SANDBOX),--sandbox)

lab: $(SYNCED) ## JupyterLab on notebooks/ (against the sandbox when no OKC credentials are set)
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 \
		--display-name "Python 3 (okc-recon)" >/dev/null
	JUPYTER_PATH=$(CURDIR)/$(VENV)/share/jupyter $(BIN)/jupyter lab --notebook-dir=notebooks

sample-data: $(SYNCED) ## rebuild sample_data/ (one month of fulfillments and invoices, answer key)
	$(BIN)/python -m okc_recon.sandbox.sample_month --out sample_data

clean: ## remove the environments and outputs
	rm -rf $(VENV) $(TOOLS) out .pytest_cache .mypy_cache .ruff_cache
