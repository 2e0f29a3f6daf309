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
STEPS="${STEPS:-2400}"
DATASET=runs/datasets/pretrain-c-cpp-v1
RUN=runs/pretrain/tiny-c-cpp-v1

mirencoder dataset build --recipe pretrain-c-cpp-v1 --out "$DATASET"
mirencoder pretrain --config training/configs/tiny.yaml --name tiny-pretrain-c-cpp-v1 \
  --data.dataset_dir "$DATASET" --trainer.output_dir "$RUN" --trainer.max_steps "$STEPS" \
  --optim.warmup_steps 150 --trainer.val_every_n_steps 400 \
  --trainer.checkpoint_every_n_steps 200 --tracking.register true --resume
VERSION=$(python -c "import json;print(json.load(open('$RUN/result.json'))['registered_version'])")
mirencoder registry promote "$VERSION" --alias champion
python -m mirencoder.training.registry.untrained_twin "$RUN/encoder" --out "$RUN/untrained-encoder"
UNTRAINED=(--untrained-model "$RUN/untrained-encoder")
mirencoder eval devmap --model models:/mirencoder@champion "${UNTRAINED[@]}" \
  --data-dir "$DATA_DIR" --mlflow
mirencoder eval thread-coarsening --model models:/mirencoder@champion "${UNTRAINED[@]}" \
  --data-dir "$DATA_DIR" --mlflow
