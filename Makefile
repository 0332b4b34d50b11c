# Two commands: `make run` and `make test`. Everything else is here so they work on a
# fresh machine with nothing but Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_DEPS := ffmpeg:ffmpeg ffprobe:ffmpeg
TEST_DEPS := $(RUN_DEPS) redis-server:redis-server espeak-ng:espeak-ng sox:sox

.PHONY: run test install system-deps system-deps-test clean

run: system-deps $(STAMP)
	$(BIN)/diaryroom init
	@# The embedded default listens on loopback over plain HTTP, so cookies cannot be
	@# marked Secure here; put it behind HTTPS (and drop this) for any other use.
	DIARYROOM_COOKIE_SECURE=$${DIARYROOM_COOKIE_SECURE:-false} $(BIN)/diaryroom serve

test: system-deps-test $(STAMP)
	$(BIN)/pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	  { echo "Diary Room needs Python 3.11 (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

system-deps:
	@scripts/system-deps.sh $(RUN_DEPS)

system-deps-test:
	@scripts/system-deps.sh $(TEST_DEPS)

clean:
	rm -rf $(VENV) .pytest_cache artifacts
