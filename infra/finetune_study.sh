#!/usr/bin/env bash
# Fine-tunes an encoder package and its untrained twin alike on DevMap leakage-free (one
# process per platform, side by side on the machine's cores), beside the same encoders' frozen
# XGBoost and MLP heads and the controls, then sets them side by side in RESULTS.md
# ("Fine-tuning the encoder end to end"). A platform whose folder already holds results is
# skipped on a rerun; progress bars go to OUT/PLATFORM.log. Settings: SEEDS (fold seeds,
# default 2), ROW_SETS (default 669), EPOCHS (default 3), ENCODER_LR (default 1e-4: a tenth
# of the pre-training peak; the command's default 1e-5 barely moves the encoder in 3 epochs),
# REPORT_DIR (default: the repo). About 70 minutes on 2 cores at the defaults.
#   bash infra/finetune_study.sh runs/pretrain/NAME/encoder runs/pretrain/NAME/twin0 runs/eval/finetune
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/bootstrap.sh"
cd "$ROOT"
MODEL="${1:?usage: infra/finetune_study.sh MODEL TWIN OUT}"
TWIN="${2:?usage: infra/finetune_study.sh MODEL TWIN OUT}"
OUT="${3:?usage: infra/finetune_study.sh MODEL TWIN OUT}"
for package in "$MODEL" "$TWIN"; do
  [ -f "$package/encoder_config.json" ] || {
    echo "[finetune_study] $package: not an encoder package folder" >&2; exit 2; }
done
DATA_DIR="${DATA_DIR:-$ROOT/../shared/data}"
pids=()
for platform in amd nvidia; do
  if [ -f "$OUT/$platform/results/summary.json" ]; then
    echo "[finetune_study] $platform: already in $OUT/$platform"; continue
  fi
  mkdir -p "$OUT/$platform"
  echo "[finetune_study] $platform -> $OUT/$platform (log: $OUT/$platform.log)"
  mirencoder eval devmap --model "$MODEL" --untrained-model "$TWIN" --modalities fused \
    --features runtime-only,opcode-histogram,loop-opcode-histogram --heads xgboost,mlp \
    --row-sets "${ROW_SETS:-669}" --platforms "$platform" --protocols leakage-free \
    --seeds "${SEEDS:-2}" --finetune --finetune-epochs "${EPOCHS:-3}" \
    --set finetune.encoder_lr="${ENCODER_LR:-1e-4}" --data-dir "$DATA_DIR" \
    --out-dir "$OUT/$platform" > "$OUT/$platform.log" 2>&1 &
  pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid"; done
python -m mirencoder.training.evaluation.finetune_study "$OUT/amd" "$OUT/nvidia" \
  --report-dir "${REPORT_DIR:-.}"
