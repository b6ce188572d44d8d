# Developer entry points. Everything runs from a local .venv made on first use.
#   make demo [DEMO_ARGS=--no-launcher]   make test [PYTEST_ARGS=-k xdisplay]   make lint

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall only when pyproject.toml changes (it lists every dependency).
STAMP := $(VENV)/.installed

.PHONY: all venv demo test lint clean

all: lint test

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Order-only on the interpreter: pip touching .venv must not force a reinstall.
# The libvirt backend's binding compiles against libvirt's headers: installed
# when they are there (apt-get install libvirt-dev pkg-config), else its tests skip.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	if pkg-config --exists libvirt 2>/dev/null; then \
		$(BIN)/python -m pip install -e '.[dev,libvirt]'; \
	else \
		echo "libvirt-dev is not installed: the libvirt backend's tests will skip"; \
	fi
	touch $@

demo: $(STAMP)
	$(BIN)/rubicon-broker demo $(DEMO_ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen LANG=C.UTF-8 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV)
