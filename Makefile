# driftgate: every target creates .venv and installs the locked dependency set when it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: demo test lint unit compile bench bench-replay bench-optimise lock image image-test cluster-test docs clean help
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

LOCKS  := -c requirements.lock -c requirements-dev.lock

$(STAMP): pyproject.toml setup.py requirements.lock requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "driftgate needs Python 3.11; found " + sys.version.split()[0] + ": run make PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing the locked dependency set into $(VENV) (first time: about 3 minutes)"
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(LOCKS) -e '.[dev]'
	@touch $@

demo: $(STAMP) ## run the pipeline locally on the bundled penguins data: bootstrap, no drift, drift
	$(BIN)/driftgate demo

test: lint unit ## lint, then every test (cluster tests skip without KUBECONFIG / KFP_HOST)

lint: $(STAMP) ## ruff over the whole tree
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# One xdist worker per core; --dist loadfile keeps a module's tests (and its fixtures) on one worker.
# Random order is installed, not on: make unit PYTEST_ARGS=--random-order
WORKERS ?= auto
unit: $(STAMP)
	$(BIN)/pytest -n $(WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)

compile: $(STAMP) ## recompile pipelines/retrain.yaml from the default config
	$(BIN)/driftgate compile -o pipelines/retrain.yaml

bench: $(STAMP) ## drift-engine benchmark against scipy and Evidently; writes bench/results.{json,md}
	$(PIP) install --quiet $(LOCKS) -e '.[dev,bench]'
	$(BIN)/python -m bench.run

bench-replay: $(STAMP) ## replay every policy over the benchmark streams; writes bench/replay-results.md
	$(BIN)/python -m bench.replay

bench-optimise: $(STAMP) ## the penguins model beside its pruned and quantised TFLite versions; writes bench/optimise-results.md
	$(BIN)/python -m bench.optimise

lock: ## re-resolve dependencies from pyproject.toml into requirements.lock and requirements-dev.lock
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/python -m pip install --quiet .
	{ echo "# The runtime dependency set of driftgate (Python 3.11, Debian 12): the image installs exactly"; \
	  echo "# these with --no-deps; \`make\` installs them as constraints. Regenerate with 'make lock'."; \
	  .lockvenv/bin/python -m pip freeze --all --exclude-editable | grep -v -e '^driftgate' -e '^pip=='; } > requirements.lock
	.lockvenv/bin/python -m pip install --quiet -c requirements.lock '.[dev,bench]'
	{ echo "# Extra pins of the dev and bench extras (tests, linters, manifest tools, Evidently), on top of"; \
	  echo "# requirements.lock. Regenerate with 'make lock'."; \
	  .lockvenv/bin/python -m pip freeze --all --exclude-editable | grep -v -e '^driftgate' -e '^pip==' \
	    | grep -v -x -F -f requirements.lock; } > requirements-dev.lock
	.lockvenv/bin/python scripts/gate_requirements.py
	rm -rf .lockvenv

image: $(STAMP) ## build the full and the gate image (podman, offline from a wheelhouse; else docker)
	PYTHON=$(BIN)/python scripts/image.sh build

image-test: $(STAMP) ## build both images; the demo's closed gate in the gate image, the rest in both
	PYTHON=$(BIN)/python scripts/image.sh test

cluster-test: $(STAMP) ## the cluster tests against etcd and kube-apiserver on loopback (built once)
	PYTHON=$(BIN)/python scripts/cluster.sh test

# moto's S3 server for tests/test_object_store.py, in its own virtualenv: its pins are not ours.
MOTO_VERSION := 5.2.5
.venv-moto/.installed: $(STAMP)
	$(PYTHON) -m venv --clear --without-pip .venv-moto
	$(PIP) --python .venv-moto/bin/python install --quiet --no-compile 'moto[server]==$(MOTO_VERSION)'
	@touch $@

# The docs site: the references are generated with .venv's python (they import driftgate), then
# MkDocs Material, from its own virtualenv and lock, builds site/ (broken links fail the build).
DOCS_VENV := .venv-docs
$(DOCS_VENV)/.installed: requirements-docs.lock
	@test -x $(DOCS_VENV)/bin/python || $(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip --disable-pip-version-check install --quiet -r requirements-docs.lock
	@touch $@

docs: $(STAMP) $(DOCS_VENV)/.installed ## the docs site into site/ (config and CLI references generated from the code)
	$(BIN)/python scripts/docs_reference.py .docs-generated
	NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs build --strict

clean: ## remove the virtualenvs and local run outputs
	rm -rf $(VENV) .venv-moto .driftgate local_outputs
