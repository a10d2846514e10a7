# Architect — the README's two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export LITELLM_LOCAL_MODEL_COST_MAP := True
export HF_HUB_OFFLINE := 1

.PHONY: run test install install-dev system-deps lint check pytest bench clean

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py setup_schedules
	$(BIN)/python manage.py serve

test: install-dev system-deps lint check pytest

# Debian/Ubuntu ship venv separately (python3-venv); install it when missing and root.
$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		rm -rf $(VENV); \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		echo "Installing python3-venv"; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the requirements change.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# tmux, git and Chromium for the session-pool and browser tests, when missing.
system-deps:
	@missing=""; \
	command -v tmux >/dev/null || missing="$$missing tmux"; \
	command -v git >/dev/null || missing="$$missing git"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		echo "Installing system packages:$$missing"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check:
	ARCHITECT_DATA_DIR=$${ARCHITECT_DATA_DIR:-var/test} $(BIN)/python manage.py check
	ARCHITECT_DATA_DIR=$${ARCHITECT_DATA_DIR:-var/test} $(BIN)/python manage.py makemigrations --check --dry-run
	ARCHITECT_DATA_DIR=$${ARCHITECT_DATA_DIR:-var/test} $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

# Two workers, a test file each at a time (files share their daphne and Chromium); PYTEST_ARGS= runs serially.
PYTEST_ARGS ?= -n 2 --dist loadfile

pytest:
	ARCHITECT_DATA_DIR=$${ARCHITECT_DATA_DIR:-var/test} $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-dev
	@echo "Benchmarks live in tests/bench/; each prints its figures. See docs/benchmarks.md."

clean:
	rm -rf var/test .pytest_cache
