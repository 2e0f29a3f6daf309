#!/usr/bin/env bash
# The test command: installs what it needs, then runs ruff and the whole test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/bootstrap.sh"
cd "$ROOT"
ruff check .
exec python -m pytest "$@"
