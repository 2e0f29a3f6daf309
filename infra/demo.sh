#!/usr/bin/env bash
# The main job on the bundled demo corpus with embedded defaults (local Ray, SQLite MLflow, CPU).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/bootstrap.sh"
cd "$ROOT"
exec mirencoder demo "$@"
