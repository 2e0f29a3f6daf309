#!/usr/bin/env bash
# Fine-tunes an encoder package and its untrained twin alike on DevMap leakage-free (one process
# per platform, side by side on the machine's cores), beside the same encoders' frozen XGBoost
# and MLP heads and the controls, then sets them side by side in STUDIES.md ("Fine-tuning the
# encoder end to end"). A platform whose folder already holds results is skipped on a rerun;
# progress bars go to OUT/PLATFORM.log. Settings: SEEDS (fold seeds, default 2), ROW_SETS
# (default 669), HEADS (frozen heads, default xgboost,mlp,stacked), EPOCHS (default 3),
# ENCODER_LR (default 1e-4: a tenth of the pre-training peak; the command's default 1e-5 barely
# moves the encoder in 3 epochs), XGBOOST_READOUT (default true: each fold's fine-tuned encoder
# also read by the protocol's XGBoost head, sharing the fine-tuning), HEAD_ONLY_READOUT (default
# true: each fold's head also read as it stood before the end-to-end epochs), RUNTIME_BASE
# (default false: true stacks the MLP on the protocol's XGBoost over the run-time inputs alone,
# finetune_base.py), REPORT_DIR (default: the repo), NAME (another pre-training run's study: its
# own section beside the first). About 70 minutes on 2 cores at the defaults. More twins
# (packages after OUT; `mirencoder pretrain twin --seed N`) are fine-tuned alone, into OUT/<twin
# folder name>/PLATFORM (about 30 minutes each on the 669 rows, 10 on the 680), and the table
# compares the encoder with the twins' mean.
#   bash infra/finetune_study.sh runs/pretrain/NAME/encoder runs/pretrain/NAME/twin0 runs/eval/finetune \
#     [runs/pretrain/NAME/twin1 ...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/script_args.sh"
script_args 10000 "$@"
source "$ROOT/infra/bootstrap.sh"
cd "$ROOT"
MODEL="${1:?usage: infra/finetune_study.sh MODEL TWIN OUT}"
TWIN="${2:?usage: infra/finetune_study.sh MODEL TWIN OUT}"
OUT="${3:?usage: infra/finetune_study.sh MODEL TWIN OUT}"
shift 3
MORE_TWINS=("$@")
for package in "$MODEL" "$TWIN" "${MORE_TWINS[@]}"; do
  [ -f "$package/encoder_config.json" ] || {
    echo "[finetune_study] $package: not an encoder package folder" >&2; exit 2; }
done
DATA_DIR="${DATA_DIR:-$ROOT/../shared/data}"

# run_platforms FOLDER ARGS...: one `eval devmap --finetune` per platform into FOLDER/PLATFORM,
# side by side; a platform already done is skipped.
run_platforms() {
  local folder="$1"; shift
  local pids=() platform
  for platform in amd nvidia; do
    if [ -f "$folder/$platform/results/summary.json" ]; then
      echo "[finetune_study] $platform: already in $folder/$platform"; continue
    fi
    mkdir -p "$folder/$platform"
    echo "[finetune_study] $platform -> $folder/$platform (log: $folder/$platform.log)"
    mirencoder eval devmap "$@" --modalities fused --heads "${HEADS:-xgboost,mlp,stacked}" \
      --row-sets "${ROW_SETS:-669}" --platforms "$platform" --protocols leakage-free \
      --seeds "${SEEDS:-2}" --finetune --finetune-epochs "${EPOCHS:-3}" \
      --set finetune.encoder_lr="${ENCODER_LR:-1e-4}" \
      --set finetune.xgboost_readout="${XGBOOST_READOUT:-true}" \
      --set finetune.runtime_base="${RUNTIME_BASE:-false}" \
      --set finetune.head_only_readout="${HEAD_ONLY_READOUT:-true}" --data-dir "$DATA_DIR" \
      --out-dir "$folder/$platform" > "$folder/$platform.log" 2>&1 &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

run_platforms "$OUT" --model "$MODEL" --untrained-model "$TWIN" \
  --features runtime-only,opcode-histogram,loop-opcode-histogram
twin_folders=()
for twin in "${MORE_TWINS[@]}"; do
  folder="$OUT/$(basename "$twin")"
  run_platforms "$folder" --model "$twin" --features ''
  twin_folders+=("$folder/amd" "$folder/nvidia")
done
python -m mirencoder.training.evaluation.finetune_study "$OUT/amd" "$OUT/nvidia" \
  --twin-folders "${twin_folders[@]}" --report-dir "${REPORT_DIR:-.}" ${NAME:+--name "$NAME"}
