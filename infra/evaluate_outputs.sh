#!/usr/bin/env bash
# Scores every output (fused, tokens, graph, joint) of several encoder packages, each scored
# as the model, into OUT/NAME/: the probes (no controls) and the leakage-free DevMap and
# thread-coarsening protocols, as infra/evaluate_run.sh scores a run. Give the pre-trained
# packages of one recipe and their untrained twins (other seeds); the table is made by
#   python -m mirencoder.training.evaluation.which_output --group "pre-trained=OUT/a,OUT/b" \
#       --group "untrained twins=OUT/t0,OUT/t1" [--report-dir .]
# Each part that finished is skipped on a rerun.
#   bash infra/evaluate_outputs.sh runs/eval/outputs \
#       v3=runs/pretrain/record-2cpu-outcome/encoder \
#       twin0=runs/pretrain/record-2cpu-outcome/untrained-encoder
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/script_args.sh"
script_args 10000 "$@"
source "$ROOT/infra/bootstrap.sh"
source "$ROOT/infra/score_package.sh"
cd "$ROOT"
OUT="${1:?usage: infra/evaluate_outputs.sh OUT NAME=PACKAGE [NAME=PACKAGE ...]}"
shift
[ "$#" -ge 1 ] || { echo "[evaluate_outputs] give at least one NAME=PACKAGE" >&2; exit 2; }
DATA_DIR="${DATA_DIR:-$ROOT/../shared/data}"
DATASET="${DATASET:-runs/datasets/pretrain-variants-2cpu-v1}"   # held-out split of the probes
OUTPUTS="fused,tokens,graph,joint"
for spec in "$@"; do
  name="${spec%%=*}"; package="${spec#*=}"
  if [ -z "$name" ] || [ "$name" = "$spec" ] || [ ! -f "$package/encoder_config.json" ]; then
    echo "[evaluate_outputs] $spec: expected NAME=PACKAGE with an encoder package folder" >&2
    exit 2
  fi
done
for spec in "$@"; do
  name="${spec%%=*}"; package="${spec#*=}"; out="$OUT/$name"
  echo "[evaluate_outputs] $name ($package) -> $out"
  score_package "$package" "$out" "$OUTPUTS" "$DATASET" "$DATA_DIR"
done
echo "[evaluate_outputs] scored in $OUT"
