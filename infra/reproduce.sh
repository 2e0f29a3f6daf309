#!/usr/bin/env bash
# Reproduces RESULTS.md from ../shared/data (or DATA_DIR=...): builds the default pre-training
# corpus (3,000 sampled C/C++ sources, each at -O0/-O1/-O2/-O3/-Oz), pre-trains the tiny
# encoder on it with all five objectives on whole programs, registers and promotes it to
# `champion`, and runs both downstream evaluations and the representation probes with every
# baseline and control (the untrained twin included). ABLATIONS=1 also runs the objective
# ablations (infra/ablations.sh, about 1.5 hours more). Every step resumes where a previous
# run stopped. About 2 hours on 2 CPU cores (15 min build, ~60 min pre-training).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/script_args.sh"
script_args 0 "$@"
source "$ROOT/infra/bootstrap.sh"
cd "$ROOT"
DATA_DIR="${DATA_DIR:-$ROOT/../shared/data}"
# The run's settings (dataset folder, run folder, 1,500 steps, ...) are in the config file;
# STEPS=N overrides its trainer.max_steps.
CONFIG=training/configs/champion.yaml
source "$ROOT/infra/resolved_config.sh"
resolve_config "$CONFIG"
DATASET=$(setting data dataset_dir)   # its folder is named after its recipe
RUN=$(setting trainer output_dir)
RUN=${RUN:-runs/pretrain/$(setting name)}

mirencoder dataset build --recipe "$(basename "$DATASET")" --out "$DATASET" --data-dir "$DATA_DIR"
registered() {  # the version a finished run registered ('' when none yet)
  python -c "import json,sys;print(json.load(open(sys.argv[1])).get('registered_version') or '')" \
    "$RUN/result.json" 2>/dev/null || true
}
# A finished, registered run is not run again (a resumed finished run would register again).
if [ -z "$(registered)" ]; then
  mirencoder pretrain --config "$CONFIG" ${STEPS:+--set trainer.max_steps="$STEPS"} --resume
fi
VERSION=$(registered)
mirencoder registry promote "$VERSION" --alias champion
mirencoder pretrain twin --model "$RUN/encoder" --out "$RUN/untrained-encoder"
UNTRAINED=(--untrained-model "$RUN/untrained-encoder")
# The committed tables: RESULTS.md (with STUDIES.md and studies/ beside it), results/summary.json and
# results/results.png at the root
# (without --out-dir, `mirencoder eval` writes under runs/eval/).
REPORT=(--out-dir "$ROOT")
mirencoder eval devmap --model models:/mirencoder@champion "${UNTRAINED[@]}" \
  --data-dir "$DATA_DIR" "${REPORT[@]}" --mlflow
mirencoder eval thread-coarsening --model models:/mirencoder@champion "${UNTRAINED[@]}" \
  --data-dir "$DATA_DIR" "${REPORT[@]}" --mlflow
# Representation probes on programs pre-training never saw, into RESULTS.md beside the tables.
mirencoder eval probes --model models:/mirencoder@champion "${UNTRAINED[@]}" \
  --dataset "$DATASET" --data-dir "$DATA_DIR" --out-dir runs/eval/probes --report-dir "$ROOT"
# The speed target of the Targets table and BENCHMARKS.md `embed`: the champion against IR2Vec
# flow-aware on the 669 DevMap IR files, its default policy (first window), then a pool of 4.
SPEED=(--model models:/mirencoder@champion --repeats 3 --report-dir "$ROOT"
       --archive "$DATA_DIR/devmap/ir2vec-669/kernels_ir.tar.gz")
python benchmarks/bench_embed.py "${SPEED[@]}"
python benchmarks/bench_embed.py "${SPEED[@]}" --windows pool --max-windows 4 --no-write
if [ "${ABLATIONS:-0}" = 1 ]; then
  CONFIG=champion bash infra/ablations.sh
fi
