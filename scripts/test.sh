#!/usr/bin/env bash
# The whole check, as `make test` runs it: lint, types, import rules, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
# Keep the developer's own Hearth data and model cache out of the tests.
export HEARTH_CACHE_DIR="${HEARTH_CACHE_DIR:-$PWD/.hearth-test-cache}"

echo "== ruff";          $BIN/ruff check app tests bench packaging
echo "== ruff format";   $BIN/ruff format --check app tests bench packaging
echo "== mypy";          $BIN/mypy
echo "== import-linter"; $BIN/lint-imports
echo "== pytest"
$BIN/python -m pytest "$@"
