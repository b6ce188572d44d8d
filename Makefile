# Developer entry points. Everything runs from a local .venv made on first use.
#   make demo [DEMO_ARGS=--no-launcher]   make test [PYTEST_ARGS=-k xdisplay]   make lint
#   make package: the launcher's frozen folder and, on Linux, both Debian packages

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Each is reinstalled only when pyproject.toml changes (it lists every dependency).
# What runs (make demo): the launcher and the broker (its extra) with their dependencies.
RUN_STAMP := $(VENV)/.installed-run
# What tests and checks it (make test, make lint): that, and the dev extra.
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: all venv demo test lint package clean

all: lint test

venv: $(RUN_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Order-only on the interpreter: pip touching .venv must not force a reinstall.
# The libvirt backend's binding compiles against libvirt's headers: installed
# when they are there (apt-get install libvirt-dev pkg-config), else its tests skip.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	if pkg-config --exists libvirt 2>/dev/null; then \
		$(BIN)/python -m pip install -e '.[broker,libvirt]'; \
	else \
		$(BIN)/python -m pip install -e '.[broker]'; \
		echo "libvirt-dev is not installed, so neither is the libvirt backend" \
			"(DEMO_ARGS=--libvirt; its tests skip). To add it: sudo apt-get install" \
			"libvirt-dev pkg-config, then make clean and this command again."; \
	fi
	touch $@

$(DEV_STAMP): $(RUN_STAMP)
	if pkg-config --exists libvirt 2>/dev/null; then \
		$(BIN)/python -m pip install -e '.[dev,libvirt]'; \
	else \
		$(BIN)/python -m pip install -e '.[dev]'; \
	fi
	touch $@

demo: $(RUN_STAMP)
	$(BIN)/rubicon-broker demo $(DEMO_ARGS)

test: $(DEV_STAMP)
	QT_QPA_PLATFORM=offscreen LANG=C.UTF-8 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Everything this OS can build, into dist/ (installer/build.py says what).
package: $(DEV_STAMP)
	$(BIN)/python installer/build.py

clean:
	rm -rf $(VENV) build dist
