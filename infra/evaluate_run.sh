#!/usr/bin/env bash
# Scores a finished pre-training run before anyone promotes it: its encoder package and its
# untrained twin (made here, same architecture and vocabularies, random weights) on DevMap
# (both row sets, every protocol), thread coarsening and the representation probes, into
# OUT (default runs/eval/<config name>). The registry's aliases, RESULTS.md and
# results/summary.json are left alone; each part that finished is skipped on a rerun.
# TWIN_SEEDS (e.g. "1 2") also scores untrained twins drawn at those seeds (fused embedding,
# leakage-free protocols and probes, into OUT/twin-seed<N>/): how much the twin's own scores
# move with its random initialisation, which a pre-trained-vs-twin difference must exceed.
# QUICK=1 leaves out the baselines and controls other than the twin (runtime-only, opcode
# histogram, IR2Vec, ...: they do not depend on the encoder; the champion's report has them).
# SETS ("key=value ..."): the overrides the run was trained with (another pre-training seed).
# PROBE_SETTINGS (a probes.json or results/summary.json): score the probes on the settings
# recorded there (the same programs and folds as the report's runs of record) instead of
# today's defaults; the twins drawn at TWIN_SEEDS too.
#   bash infra/evaluate_run.sh record-2cpu-cuda          # a config name or YAML path
#   TWIN_SEEDS="1 2" bash infra/evaluate_run.sh champion
#   SETS="data.seed=1 name=record-2cpu-outcome-seed1" bash infra/evaluate_run.sh champion
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/script_args.sh"
script_args 2 "$@"
source "$ROOT/infra/bootstrap.sh"
cd "$ROOT"
CONFIG="${1:?usage: infra/evaluate_run.sh CONFIG [OUT]}"
DATA_DIR="${DATA_DIR:-$ROOT/../shared/data}"
source "$ROOT/infra/resolved_config.sh"
source "$ROOT/infra/score_package.sh"
OVERRIDES=()
for kv in ${SETS:-}; do OVERRIDES+=(--set "$kv"); done
resolve_config "$CONFIG" "${OVERRIDES[@]}"
DATASET=$(setting data dataset_dir)
RUN=$(setting trainer output_dir)
RUN=${RUN:-runs/pretrain/$(setting name)}
OUT="${2:-runs/eval/$(setting name)}"
if [ ! -f "$RUN/encoder/encoder_config.json" ]; then
  echo "[evaluate_run] $RUN has no encoder package yet: finish the run first" >&2
  exit 2
fi
[ -f "$RUN/untrained-encoder/encoder_config.json" ] ||
  mirencoder pretrain twin --model "$RUN/encoder" --out "$RUN/untrained-encoder"
mkdir -p "$OUT"
cp "$RUN/result.json" "$OUT/result.json"   # the run's registered version, for the tables
MODELS=(--model "$RUN/encoder" --untrained-model "$RUN/untrained-encoder")
BASELINES=()
PROBE_CONTROLS=()
if [ "${QUICK:-0}" = 1 ]; then
  BASELINES=(--features "")
  PROBE_CONTROLS=(--set probes.controls=untrained)
fi
[ -f "$OUT/devmap/results/summary.json" ] ||
  mirencoder eval devmap "${MODELS[@]}" "${BASELINES[@]}" --data-dir "$DATA_DIR" \
    --out-dir "$OUT/devmap"
[ -f "$OUT/thread-coarsening/results/summary.json" ] ||
  mirencoder eval thread-coarsening "${MODELS[@]}" "${BASELINES[@]}" --data-dir "$DATA_DIR" \
    --out-dir "$OUT/thread-coarsening"
if [ -f "$OUT/probes/probes.json" ]; then :
elif [ -n "${PROBE_SETTINGS:-}" ]; then
  python -m mirencoder.training.evaluation.probes.rescore --settings "$PROBE_SETTINGS" \
    --model "$RUN/encoder" --untrained-model "$RUN/untrained-encoder" --out "$OUT/probes"
else
  mirencoder eval probes "${MODELS[@]}" "${PROBE_CONTROLS[@]}" --dataset "$DATASET" \
    --data-dir "$DATA_DIR" --out-dir "$OUT/probes"
fi
for seed in ${TWIN_SEEDS:-}; do
  twin="$RUN/untrained-encoder-seed$seed"
  twin_out="$OUT/twin-seed$seed"
  [ -f "$twin/encoder_config.json" ] ||
    mirencoder pretrain twin --model "$RUN/encoder" --out "$twin" --seed "$seed"
  score_package "$twin" "$twin_out" fused "$DATASET" "$DATA_DIR"
done
echo "[evaluate_run] $RUN scored in $OUT"
