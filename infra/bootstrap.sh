#!/usr/bin/env bash
# Installs what the project needs, idempotently: clang/LLVM 14 (apt, when missing and root),
# a virtual environment in .venv with the pinned Python dependencies, and the package itself.
# Sourced by infra/demo.sh and infra/test.sh; safe to run again (it skips finished steps).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MIRENCODER_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

need_apt=()
command -v clang-14 >/dev/null 2>&1 || command -v clang >/dev/null 2>&1 || need_apt+=(clang)
command -v llvm-as-14 >/dev/null 2>&1 || command -v llvm-as >/dev/null 2>&1 || need_apt+=(llvm)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "[bootstrap] installing ${need_apt[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "[bootstrap] clang and llvm (LLVM 14: clang, llvm-as) are missing." >&2
    echo "            Install them, e.g. 'sudo apt-get install clang llvm', then run again." >&2
    exit 1
  fi
fi

stamp="$VENV/.mirencoder-installed"
want="$(cat "$ROOT/pyproject.toml" "$ROOT/setup.py" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[bootstrap] creating $VENV and installing pinned dependencies (first run: a few minutes)"
  if [ "${MIRENCODER_SYSTEM_TORCH:-0}" = "1" ]; then
    # GPU machines: reuse the preinstalled CUDA torch instead of the pinned CPU wheel.
    "$PY" -m venv --system-site-packages "$VENV"
    "$VENV/bin/pip" install -q --no-deps -e "$ROOT"
    "$VENV/bin/pip" install -q $("$VENV/bin/python" -c 'import tomllib;d=tomllib.load(open("'"$ROOT"'/pyproject.toml","rb"))["project"];print(" ".join(x for x in d["dependencies"]+d["optional-dependencies"]["test"] if not x.startswith("torch==")))')
  else
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
    # torch first, pinned: unpinned, lightning would pull a multi-GB CUDA build.
    "$VENV/bin/pip" install -q "torch==2.13.0"
    "$VENV/bin/pip" install -q -e "$ROOT[test]"
  fi
  echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
