# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates or reuses .venv and installs only what is missing (a stamp tracks the inputs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
EXTRAS ?= dev,synth,video,transformers,perception,studio,ray

.PHONY: demo test test-all bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e ".[$(EXTRAS)]"
	$(BIN)/actkit -q models fetch mediapipe
	$(BIN)/actkit -q data fetch opencv-samples
	@command -v chromium >/dev/null || { $(SUDO) apt-get install -y -q chromium >/dev/null 2>&1 \
		|| { $(SUDO) apt-get update -q >/dev/null 2>&1 && $(SUDO) apt-get install -y -q chromium >/dev/null 2>&1; } \
		|| echo "warning: could not install Debian's chromium (the studio's browser test needs it)"; }
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/actkit demo --out runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ""

bench: $(STAMP)
	bash benchmarks/crops.sh

clean:
	rm -rf runs .pytest_cache
