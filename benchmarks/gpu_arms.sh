#!/usr/bin/env bash
# One pre-training config on several datasets ("arms") x seeds, all at once on the lent GPU
# machine (torch, Lightning, PyG and pyarrow there; no ray, mlflow or webdataset, none needed).
# A paired design: at one seed every arm starts from the same initial weights and draws the same
# masks, so arms differ by their data alone; all runs share one call and one deadline. Sharing
# the GPU does not add throughput: four champion-recipe runs as concurrent processes made
# 2.6-3.4 steps/s each (2026-12-04), about one run's 11.8 steps/s in all (time-slicing between
# CUDA contexts; no MPS). Size STEPS x runs to fit: ~11 steps/s in all, plus ~60 s for the
# principal basis at the end of each run.
#   ARMS     "name=dataset_dir ..." (datasets compacted by benchmarks/device_dataset.py travel
#            in the device tool's carry)
#   PREPARE  a command run first (e.g. deriving a control arm's dataset on the machine)
#   SEEDS    data.seed of each run (default "0 1 2"); the run is <name>-s<seed>
#   CONFIG   pre-training config (default champion), STEPS its max_steps (default 1500)
#   EXTRA_SETS  more --set overrides for every run
#   DEADLINE_S  runs still going then are stopped and their last checkpoint exported
# Returns through $OUT: session.log and one run-<name>-s<seed>.tar.gz per run (its folder
# without checkpoints: encoder package, metrics, config).
#   OUT=/tmp/out ARMS="tc=.carry/datasets/tc c14=runs/datasets/c14" bash benchmarks/gpu_arms.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:?set OUT to the folder that returns}"
ARMS="${ARMS:?set ARMS to name=dataset_dir pairs}"
SEEDS="${SEEDS:-0 1 2}"
CONFIG="${CONFIG:-champion}"
STEPS="${STEPS:-1500}"
WORKERS="${WORKERS:-2}"
DEADLINE_S="${DEADLINE_S:-420}"
export PYTHONUNBUFFERED=1
WORK=$(mktemp -d)
source benchmarks/gpu_lib.sh
gpu_session_start gpu_arms
if [ -n "${PREPARE:-}" ]; then
  log "prepare: $PREPARE"
  bash -c "$PREPARE" || { log "prepare failed"; exit 1; }
fi

RUNS=()
declare -A PIDS
for arm in $ARMS; do
  name=${arm%%=*} data=${arm#*=}
  for seed in $SEEDS; do
    run=$name-s$seed
    python3 benchmarks/from_source.py pretrain --config "$CONFIG" --set name="$run" \
      --set data.dataset_dir="$data" --set data.seed="$seed" --set data.format=parquet \
      --set data.num_workers="$WORKERS" --set tracking.enabled=false \
      --set tracking.register=false --set trainer.max_steps="$STEPS" ${EXTRA_SETS:-} \
      > "$WORK/$run.log" 2>&1 &
    PIDS[$run]=$!
    RUNS+=("$run")
  done
done
log "started ${#RUNS[@]} runs: ${RUNS[*]} ($STEPS steps each, deadline ${DEADLINE_S} s)"

step_of() { tail -n 1 "runs/pretrain/$1/metrics.jsonl" 2>/dev/null |
  python3 -c "import json,sys; print(json.loads(sys.stdin.read() or '{}').get('step', 0))"; }
started=$SECONDS
while :; do
  alive=0
  for run in "${RUNS[@]}"; do kill -0 "${PIDS[$run]}" 2>/dev/null && alive=$((alive + 1)); done
  [ "$alive" = 0 ] && break
  if [ $((SECONDS - started)) -ge "$DEADLINE_S" ]; then log "deadline: stopping $alive"; break; fi
  sleep 10
  if [ $(((SECONDS - started) % 60)) -lt 10 ]; then
    log "$alive running; steps: $(for r in "${RUNS[@]}"; do printf '%s=%s ' "$r" "$(step_of "$r")"; done)"
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
  fi
done
for run in "${RUNS[@]}"; do
  if kill -0 "${PIDS[$run]}" 2>/dev/null; then
    pkill -TERM -P "${PIDS[$run]}" 2>/dev/null; kill -TERM "${PIDS[$run]}" 2>/dev/null
  fi
done
for run in "${RUNS[@]}"; do wait "${PIDS[$run]}" 2>/dev/null; done  # not the log's tee
log "training done in $((SECONDS - started)) s"

for run in "${RUNS[@]}"; do
  folder=runs/pretrain/$run
  log "$run: $(grep -h '^\[pretrain\] finished' "$WORK/$run.log" | tail -n 1)"
  export_if_unfinished "$folder"
  [ -d "$folder" ] || { tail -n 20 "$WORK/$run.log"; continue; }
  tr "\r" "\n" < "$WORK/$run.log" | grep -v "it/s\]$" > "$folder/device.log"
  tar czf "$OUT/run-$run.tar.gz" --exclude=checkpoints "$folder"
done
ls -la "$OUT"
log "done"
