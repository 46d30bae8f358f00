# The grokking book. Two commands do all the set-up on a fresh machine:
#   make book   -> builds the HTML book offline from the stored results (_build/html)
#   make test   -> unit tests, every notebook with the smoke profile, the book with warnings as errors
# Both create the virtual environment .venv if it is missing.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch is enough for the book; override for CUDA, e.g.
#   make book TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
PROFILE ?= quick

.PHONY: help env book test unit notebooks results bench lab clean

help:
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[book,test]"
	touch $(STAMP)

env: $(STAMP) ## create .venv with everything the book and the tests need

book: $(STAMP) ## build the HTML book offline from the stored results in results/
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	GROKUTILS_STORED_ONLY=1 $(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is in _build/html/index.html"

unit: $(STAMP) ## the pytest suite only
	$(PY) -m pytest -q

notebooks: $(STAMP) ## run every notebook with papermill: make notebooks PROFILE=quick
	$(PY) tools/run_notebooks.py --profile $(PROFILE)

test: $(STAMP) ## everything CI checks: unit tests, smoke notebooks, book build (warnings are errors)
	$(PY) -m pytest -q
	$(PY) tools/run_notebooks.py --profile smoke
	$(MAKE) book

results: $(STAMP) ## regenerate the stored paper-profile results (long; resumes if interrupted)
	$(PY) -m grokutils.regenerate --workers 2

bench: $(STAMP) ## grokutils vs a plain PyTorch loop, same configuration, same process
	$(PY) benchmarks/bench_train.py

lab: $(STAMP) ## open the notebooks in JupyterLab
	$(PY) -m pip install --quiet jupyterlab
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf _build .cache
