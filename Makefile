# Set-up in two commands: `make demo` and `make test` (each creates .venv when missing).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
CONSTRAINTS := requirements/constraints.txt
STAMP  := $(VENV)/.installed
DEMO_CONFIG ?= configs/demo/edvr_m_ofl_builtin.py
PYTEST_ARGS ?=

.PHONY: demo test test-all install clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when a requirements file or setup.py changes. Every pip call goes through the constraints file
# (torch==2.13.0: otherwise pip may pull a multi-GB CUDA build; torchvision is never installed).
$(STAMP): $(PY) setup.py requirements/runtime.txt requirements/tests.txt requirements/optional.txt $(CONSTRAINTS)
	$(PIP) install -q -c $(CONSTRAINTS) -r requirements/runtime.txt -r requirements/tests.txt
	$(PIP) install -q -c $(CONSTRAINTS) --no-deps -r requirements/optional.txt
	$(PIP) install -q -c $(CONSTRAINTS) --no-deps -e .
	@if $(PY) -c 'import importlib.util,sys; sys.exit(0 if importlib.util.find_spec("torchvision") else 1)'; then \
	  echo "error: torchvision got installed into $(VENV); it breaks mmengine with the CPU torch here" >&2; exit 1; fi
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py $(DEMO_CONFIG)

test: $(STAMP)
	OMP_NUM_THREADS=2 $(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
