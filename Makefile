# The two commands of the README: `make run` and `make test`. Everything else is what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED := false
# Debian packages the tests need beyond Python (installed by system-test-deps when missing): the browser
# for the page tests, espeak-ng for speech the tests make (another language, panels).
SYSTEM_TEST_PACKAGES := chromium espeak-ng

.PHONY: run test check setup system-test-deps browser-test-deps sample bench

run: setup  ## set up, then process the sample session in media/ into output/
	$(BIN)/livecast run media/

test: setup system-test-deps browser-test-deps check  ## set up, check format, lint and types, then run the test suite
	$(BIN)/python -m pytest

check: setup  ## formatting, lint and types (configured in pyproject.toml)
	$(BIN)/ruff format --check src flows tests bench scripts
	$(BIN)/ruff check src flows tests bench scripts
	$(BIN)/mypy

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

browser-test-deps: tests/browser/node_modules/.package-lock.json  ## axe-core for the browser tests, pinned by its lock file

tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund

system-test-deps:  ## Debian packages the browser tests need (chromium); uses sudo when not root
	bash scripts/install-system-test-deps.sh $(SYSTEM_TEST_PACKAGES)

sample:  ## regenerate the sample session in media/ (needs espeak-ng; fetches MBROLA voices from Debian)
	$(BIN)/python scripts/make_sample.py media
