#!/usr/bin/env bash
# The GPU checks of one lent device session, run on the GPU machine (torch, Lightning, PyG and
# pyarrow there; no ray, mlflow or webdataset, none needed here): bf16 throughput of the two
# GPU configs (benchmarks/bench_pretrain_gpu.py), then two pre-training runs whose step counts
# come from the measured step times so that each fits its time budget:
#   record-gpu-base  base.yaml's architecture with the champion's objectives (BASE_BUDGET_S)
#   record-gpu-tiny  the champion's recipe, ~4x its steps                (TINY_BUDGET_S)
# Everything returns through $OUT in <= 8 files: the log, the run folders without checkpoints
# and with their bench JSONs (runs.tar.gz), and the base encoder's weights as bf16 in 15 MiB parts
# (benchmarks/gpu_restore.py rebuilds the packages here). The device tool carries the dataset's
# Parquet train/validation splits and vocabularies (runs/datasets/pretrain-variants-2cpu-v1).
# RUNS picks the configs; SEED != 0 trains another pre-training seed (data.seed: order, masks,
# initialisation) into <config>-seed<SEED>; BENCH=0 skips the benches, and FIXED_STEPS then
# sets the step count (e.g. the one an earlier session measured and used).
#   OUT=/tmp/out bash benchmarks/gpu_session.sh
#   OUT=/tmp/out RUNS=record-gpu-tiny SEED=1 BENCH=0 FIXED_STEPS=1750 bash benchmarks/gpu_session.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:?set OUT to the folder that returns}"
DATASET="${DATASET:-runs/datasets/pretrain-variants-2cpu-v1}"
BASE_BUDGET_S="${BASE_BUDGET_S:-150}"
TINY_BUDGET_S="${TINY_BUDGET_S:-150}"
RUNS="${RUNS:-record-gpu-base record-gpu-tiny}"
SEED="${SEED:-0}"
export PYTHONUNBUFFERED=1
WORK=$(mktemp -d)   # this session's bench reports and packed weights
source benchmarks/gpu_lib.sh
gpu_session_start gpu_session

# 1. throughput, each config alone on the GPU
for config in $RUNS; do
  [ "${BENCH:-1}" = 1 ] || break
  log "bench $config"
  timeout 150 python3 -m benchmarks.bench_pretrain_gpu --config "$config" --dataset "$DATASET" \
    --steps 60 --warmup 10 --json "$WORK/bench-$config.json" | tail -n 4
done

# 2. the runs: max_steps = 85 % of budget / measured Lightning step time (data loading included
# in the run, not in the bench), warm-up 5 % of it
steps_for() {  # bench json, budget seconds, fallback
  python3 -c "import json,sys
try: ms = json.load(open(sys.argv[1]))['lightning_step_ms']
except Exception: print(sys.argv[3]); sys.exit()
print(max(200, int(0.85 * float(sys.argv[2]) * 1000 / ms) // 50 * 50))" "$@"
}
train() {  # config, budget seconds, fallback steps
  local config=$1 steps name=$1 seed_sets=()
  [ "$SEED" = 0 ] || { name=$config-seed$SEED; seed_sets=(--set data.seed="$SEED" --set name="$name"); }
  local run=runs/pretrain/$name
  steps=${FIXED_STEPS:-$(steps_for "$WORK/bench-$config.json" "$2" "$3")}
  log "pretrain $name: $steps steps (budget $2 s)"
  timeout $(($2 * 2 + 60)) python3 benchmarks/from_source.py pretrain --config "$config" "${seed_sets[@]}" \
    --set trainer.max_steps="$steps" --set optim.warmup_steps=$((steps / 20)) \
    --set trainer.checkpoint_every_n_steps=$((steps / 4)) \
    --set trainer.val_every_n_steps=$((steps / 2)) 2>&1 | grep -v "^Epoch\|it/s\]$" | tail -n 8
  export_if_unfinished "$run"
  nvidia-smi --query-gpu=memory.used --format=csv,noheader
  [ ! -f "$WORK/bench-$config.json" ] || cp "$WORK/bench-$config.json" "$run/bench.json"
  TRAINED+=("$run")
}
TRAINED=()
for config in $RUNS; do
  case $config in
    record-gpu-base) train "$config" "$BASE_BUDGET_S" 750 ;;
    *) train "$config" "$TINY_BUDGET_S" 1750 ;;
  esac
done

# 3. back through $OUT: base weights as bf16 parts, the rest in one archive
log "packing"
WORK="$WORK" python3 - <<'PY'
import os
from pathlib import Path
import torch
from safetensors.torch import load_file, save_file
for weights in Path("runs/pretrain").glob("record-gpu-base*/encoder/encoder.safetensors"):
    state = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v)
             for k, v in load_file(weights).items()}
    save_file(state, os.path.join(os.environ["WORK"], "base-encoder-bf16.safetensors"))
PY
[ -f "$WORK/base-encoder-bf16.safetensors" ] &&
  split -b 15M -d "$WORK/base-encoder-bf16.safetensors" "$OUT/base-encoder-bf16.part"
tar czf "$OUT/runs.tar.gz" --exclude=checkpoints \
  --exclude="record-gpu-base*/encoder/encoder.safetensors" "${TRAINED[@]}"
tar tzf "$OUT/runs.tar.gz" > /dev/null && log "runs.tar.gz reads back"
ls -la "$OUT"
log "done"
