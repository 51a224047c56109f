# The two commands of the README: `make run` and `make test`. Everything else is what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
# Debian packages the tests need beyond Python (installed by system-test-deps when missing): the browser
# for the page tests, espeak-ng for speech the tests make (another language, panels).
SYSTEM_TEST_PACKAGES := chromium espeak-ng
# PyTorch (used only to export the speaker model once, on the CPU) is the CPU build, pinned `+cpu` in
# pyproject.toml: PyPI has only the CUDA build, so it comes from PyTorch's CPU index (or a mirror of it:
# `make setup TORCH_INDEX=...`), alone and first, so no other package is looked up there.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_REQUIREMENT := $(shell grep -o '"torch==[^"]*"' pyproject.toml)

.PHONY: run test check setup system-test-deps browser-test-deps sample bench

run: setup  ## set up, then process the sample session in media/ into output/
	$(BIN)/livecast run media/

# The suite runs in TEST_WORKERS processes (pytest-xdist): tests wait on servers, browsers and children as
# much as they compute, so two keep both cores busy; `make test TEST_WORKERS=0` runs it in this process.
TEST_WORKERS ?= 2

test: setup system-test-deps browser-test-deps check  ## set up, check format, lint and types, then run the test suite
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

check: setup  ## formatting, lint and types (configured in pyproject.toml)
	$(BIN)/ruff format --check src flows tests bench scripts
	$(BIN)/ruff check src flows tests bench scripts
	$(BIN)/mypy

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-deps --extra-index-url $(TORCH_INDEX) $(TORCH_REQUIREMENT)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

browser-test-deps: tests/browser/node_modules/.package-lock.json  ## axe-core for the browser tests, pinned by its lock file

tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund

system-test-deps:  ## Debian packages the browser tests need (chromium); uses sudo when not root
	bash scripts/install-system-test-deps.sh $(SYSTEM_TEST_PACKAGES)

sample:  ## regenerate the sample session in media/ (needs espeak-ng; fetches MBROLA voices from Debian)
	$(BIN)/python scripts/make_sample.py media
