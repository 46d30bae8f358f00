# The grokking book. Two commands do all the set-up on a fresh machine:
#   make book   -> builds the HTML book offline from the stored results (_build/html)
#   make test   -> ruff, unit tests, every notebook with the smoke profile, the book with warnings as errors, and
#                  every page of it opened in headless chromium (make browser installs it with apt-get if missing)
# Both create the virtual environment .venv if it is missing.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch is installed first, on its own, so that its build can come from another index. The requirement is
# pyproject.toml's (its one source; tests/test_packaging.py checks this line reads it). Which build pip picks is
# the index's choice: PyPI's Linux x86_64 wheel is a CUDA build (several GB with its nvidia-* packages; it also
# runs on the CPU); its Windows and macOS (Apple silicon) wheels are CPU builds. For the CPU-only build on Linux
# (about 200 MB), from PyTorch's own index:
#   make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
# or spell the whole pip argument list, e.g. for another CUDA version:
#   make test TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
# Either only matters when .venv is created: remove .venv to switch builds.
TORCH_REQ := $(shell sed -nE 's/^ *"(torch *[=<>!~][^"]*)",?$$/\1/p' pyproject.toml)
TORCH_INDEX ?=
TORCH_SPEC ?= "$(TORCH_REQ)"$(if $(TORCH_INDEX), --index-url $(TORCH_INDEX))
STAMP := $(VENV)/.installed
PROFILE ?= quick

.PHONY: help env book test lint unit unit-fast notebooks results bench lab clean torch-spec browser browser-check

help:
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	@test -n '$(TORCH_REQ)' || { echo "Makefile: no torch requirement found in pyproject.toml" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[book,test]"
	touch $(STAMP)

env: $(STAMP) ## create .venv with everything the book and the tests need

# What a notebook's outputs depend on besides its own cells (which jupyter-cache already keys on): the package,
# the stored results and the book's configuration. A change to any of them empties the execution cache.
BOOK_CACHE := _build/.jupyter_cache
BOOK_SOURCES = find grokutils notebooks results book _config.yml _toc.yml -type f -not -path '*/.checkpoints/*' \
	-not -name '*.pyc' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-64

book: $(STAMP) ## build the HTML book offline from the stored results in results/ (cached: unchanged pages do not rerun)
	@sources=$$($(BOOK_SOURCES)); \
	if [ "$$(cat $(BOOK_CACHE).sources 2>/dev/null)" != "$$sources" ] || [ ! -f _build/html/index.html ]; then \
		echo "book sources changed: every notebook executes again and every page is rebuilt"; \
		rm -rf $(BOOK_CACHE) $(BOOK_CACHE).sources _build/html _build/.doctrees _build/jupyter_execute; fi; \
	GROKUTILS_STORED_ONLY=1 $(PY) tools/prefill_book_cache.py --cache $(BOOK_CACHE); \
	GROKUTILS_STORED_ONLY=1 $(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going; \
	echo "$$sources" > $(BOOK_CACHE).sources
	@echo "The book is in _build/html/index.html"

unit: $(STAMP) ## the pytest suite only
	$(PY) -m pytest -q

unit-fast: $(STAMP) ## the pytest suite without the tests marked slow (they start clusters or train)
	$(PY) -m pytest -q -m "not slow"

notebooks: $(STAMP) ## run every notebook with papermill: make notebooks PROFILE=quick
	$(PY) tools/run_notebooks.py --profile $(PROFILE)

lint: $(STAMP) ## ruff check of the code, tests and notebooks (rules: pyproject.toml, [tool.ruff]); the workflows and CITATION.cff against their schemas
	$(VENV)/bin/ruff check .
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.citation-file-format CITATION.cff

test: $(STAMP) lint ## everything CI checks: lint, unit tests, smoke notebooks, book build (warnings are errors), browser check
	$(PY) -m pytest -q
	$(PY) tools/run_notebooks.py --profile smoke
	$(MAKE) book
	$(MAKE) browser-check

browser: ## install Debian's chromium and chromium-driver for the browser check, if they are missing (apt-get)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }

browser-check: $(STAMP) browser ## open every page of the built book in headless chromium: console errors, math, links (make test runs it)
	$(PY) tools/check_book_in_browser.py

results: $(STAMP) ## regenerate the stored paper-profile results (long; resumes if interrupted)
	$(PY) -m grokutils.regenerate --workers 2

bench: $(STAMP) ## grokutils vs a plain PyTorch loop, same configuration, same process; each metric callback's cost
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_callbacks.py

lab: $(STAMP) ## open the notebooks in JupyterLab (installed with the [book] extra: offline once make env ran)
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf _build .cache

torch-spec: ## print the pip arguments that install torch (from pyproject.toml, TORCH_INDEX, TORCH_SPEC)
	@echo $(TORCH_SPEC)
