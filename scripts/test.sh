#!/usr/bin/env bash
# Sets everything up (see setup.sh), then runs the whole test suite:
# lint, strict typing, layer contracts, migrations check and pytest.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(bash "$repo/scripts/setup.sh" | tail -n 1)"
cd "$repo"
export PATH="$venv/bin:$PATH" QT_QPA_PLATFORM=offscreen PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring
step() { printf '\n==> %s\n' "$*"; }
step "ruff"; ruff check .; ruff format --check .
step "mypy --strict"; mypy
# Qt tests run in their own process: a Qt event loop must not inherit threads or callbacks left by
# the non-Qt layers' tests (and those layers must not depend on Qt being loaded, ARCHITECTURE §3.2).
if [ "$#" -gt 0 ]; then step "pytest $*"; exec pytest "$@"; fi
step "pytest: core, db, comfy, services, cli, architecture"; pytest --ignore=tests/ui
step "pytest: ui (Qt, offscreen)"; pytest tests/ui
