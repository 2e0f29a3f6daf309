#!/usr/bin/env bash
# Reproduces RESULTS.md from ../shared/data (or DATA_DIR=...): builds the default pre-training
# corpus, pre-trains the tiny encoder on it, registers and promotes it to `champion`, and runs
# both downstream evaluations with every baseline, control and ablation. Every step resumes
# where a previous run stopped. About 1.5 hours on 2 CPU cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/bootstrap.sh"
cd "$ROOT"
DATA_DIR="${DATA_DIR:-$ROOT/../shared/data}"
# The run's settings (dataset folder, run folder, 2,400 steps, ...) are in the config file;
# STEPS=N overrides its trainer.max_steps.
CONFIG=training/configs/champion.yaml
DATASET=runs/datasets/pretrain-c-cpp-v1   # champion.yaml's data.dataset_dir
RUN=runs/pretrain/tiny-c-cpp-v1           # champion.yaml's trainer.output_dir

mirencoder dataset build --recipe pretrain-c-cpp-v1 --out "$DATASET"
mirencoder pretrain --config "$CONFIG" ${STEPS:+--set trainer.max_steps="$STEPS"} --resume
VERSION=$(python -c "import json;print(json.load(open('$RUN/result.json'))['registered_version'])")
mirencoder registry promote "$VERSION" --alias champion
python -m mirencoder.training.registry.untrained_twin "$RUN/encoder" --out "$RUN/untrained-encoder"
UNTRAINED=(--untrained-model "$RUN/untrained-encoder")
# The committed tables: RESULTS.md, results/summary.json and results/results.png at the root
# (without --out-dir, `mirencoder eval` writes under runs/eval/).
REPORT=(--out-dir "$ROOT")
mirencoder eval devmap --model models:/mirencoder@champion "${UNTRAINED[@]}" \
  --data-dir "$DATA_DIR" "${REPORT[@]}" --mlflow
mirencoder eval thread-coarsening --model models:/mirencoder@champion "${UNTRAINED[@]}" \
  --data-dir "$DATA_DIR" "${REPORT[@]}" --mlflow
