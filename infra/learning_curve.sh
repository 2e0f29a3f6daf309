#!/usr/bin/env bash
# Learning curve of one full-length pre-training run: every kept checkpoint
# (RUN/checkpoints/step-*.ckpt, written with --set trainer.keep_checkpoints=true) exported as an
# encoder package (RUN/curve/step-<N>/) and scored like a twin (fused embedding: probes,
# DevMap and thread coarsening leakage-free) into OUT/curve/step-<N>/, then the table and
# figure into STUDIES.md ("Learning curves") and results/summary.json. OUT is the run's
# evaluation folder from infra/evaluate_run.sh (its final encoder and twins are the curve's
# ends): score the run with evaluate_run.sh first. Each part that finished is skipped.
#   bash infra/learning_curve.sh runs/pretrain/record-2cpu-residual-spread-no-gae
#   REPORT=0 bash infra/learning_curve.sh RUN [OUT]     # print the table, leave RESULTS.md
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/script_args.sh"
script_args 2 "$@"
source "$ROOT/infra/bootstrap.sh"
cd "$ROOT"
RUN="${1:?usage: infra/learning_curve.sh RUN_DIR [OUT]}"
OUT="${2:-runs/eval/$(basename "$RUN")}"
DATA_DIR="${DATA_DIR:-$ROOT/../shared/data}"
source "$ROOT/infra/score_package.sh"
if [ ! -f "$OUT/probes/probes.json" ]; then
  echo "[learning_curve] $OUT holds no scored encoder: run infra/evaluate_run.sh first" >&2
  exit 2
fi
shopt -s nullglob
checkpoints=("$RUN"/checkpoints/step-*.ckpt)
if [ ${#checkpoints[@]} -eq 0 ]; then
  echo "[learning_curve] $RUN/checkpoints holds no step-*.ckpt: train with" \
    "--set trainer.keep_checkpoints=true" >&2
  exit 2
fi
DATASET=$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["dataset_dir"])' \
  "$RUN/config.yaml")
FINAL=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["steps"])' \
  "$RUN/encoder/lineage.json")
for checkpoint in "${checkpoints[@]}"; do
  name=$(basename "$checkpoint" .ckpt)   # step-0000250
  step=$((10#${name#step-}))
  [ "$step" -ge "$FINAL" ] && continue   # the final encoder is scored in OUT already
  package="$RUN/curve/$name"
  [ -f "$package/encoder_config.json" ] ||
    mirencoder pretrain export --checkpoint "$checkpoint" --out "$package"
  echo "[learning_curve] step $step"
  score_package "$package" "$OUT/curve/$name" fused "$DATASET" "$DATA_DIR"
done
REPORT_ARGS=(--report-dir .)
[ "${REPORT:-1}" = 0 ] && REPORT_ARGS=()
python -m mirencoder.training.evaluation.learning_curve "$OUT" "${REPORT_ARGS[@]}"
