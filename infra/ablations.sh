#!/usr/bin/env bash
# Ablations of the pre-training objectives (the issue "Pre-training that transfers", item 7):
# short runs of the run-of-record config with every objective, then with each objective
# removed in turn, each scored on the representation probes and on DevMap leakage-free
# (669 rows, fused embedding); the table goes into RESULTS.md (## Ablations) and
# results/summary.json. First every pre-training run, then every evaluation (PHASE=train or
# PHASE=eval runs one of the two). Every step resumes: a finished run or evaluation is skipped.
# WINDOWS / MAX_WINDOWS: the embedder's token-window policy for every evaluation.
# Pilots of a candidate change: EXTRA (space-separated key=value overrides added to every run),
# ONLY (space-separated names to run, e.g. "all"), TWIN=0 (score no untrained twin, e.g. when
# runs/ablations/all already did with the same architecture) and OUT; with ONLY set the table
# is printed, not written into RESULTS.md.
#   STEPS=150 CONFIG=champion infra/ablations.sh
#   OUT=runs/pilots/x EXTRA="task.variant_projection=mlp" ONLY=all TWIN=0 infra/ablations.sh
# The runs go to runs/ablations/<config name>/ (OUT) so that another run-of-record config never
# reuses them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/script_args.sh"
script_args 0 "$@"
source "$ROOT/infra/bootstrap.sh"
cd "$ROOT"
DATA_DIR="${DATA_DIR:-$ROOT/../shared/data}"
CONFIG="${CONFIG:-champion}"
STEPS="${STEPS:-150}"
PHASE="${PHASE:-all}"
WINDOWS="${WINDOWS:-}"        # '': the embedder's default (first)
MAX_WINDOWS="${MAX_WINDOWS:-0}"  # 0: the package's own
EXTRA="${EXTRA:-}"
ONLY="${ONLY:-}"
TWIN="${TWIN:-1}"
source "$ROOT/infra/resolved_config.sh"
resolve_config "$CONFIG"
DATASET=$(setting data dataset_dir)
OUT="${OUT:-runs/ablations/$(setting name)}"   # one folder per run-of-record config
# name and the overrides that remove one objective (gae_weight 0 also removes the masked
# node-text prediction, which is part of the graph auto-encoding loss; without the
# contrastive alignment the matching negatives fall back to size_or_corpus)
ABLATIONS=(
  "all|"
  "no-mlm|task.mlm_weight=0"
  "no-gae|task.gae_weight=0"
  "no-match|task.match_weight=0"
  "no-contrastive|task.contrastive_weight=0 task.hard_negative_mode=size_or_corpus"
  "no-variant|task.variant_weight=0"
  "no-outcome|task.outcome_weight=0"   # only when the config has the objective
  "plus-outcome|task.outcome_weight=1.0"   # only when it has not
  "plus-ignore|task.contrastive_variants=ignore"   # candidate changes, added one at a time
  "plus-mlp|task.variant_projection=mlp"
  "all-seed1|data.seed=1"   # the full run at other pre-training seeds: the spread that a
  "all-seed2|data.seed=2"   # difference between ablations must exceed
)
overrides_of() {  # the --set flags of one ABLATIONS entry (after EXTRA's)
  local kv
  for kv in $EXTRA ${1#*|}; do printf -- '--set\n%s\n' "$kv"; done
}
HAS_OUTCOME=$(python -c "print(float('$(setting task outcome_weight)') > 0)")
selected() {  # is this ABLATIONS name among ONLY (or is ONLY empty), and meaningful here?
  if [ "$1" = no-outcome ] && [ "$HAS_OUTCOME" != True ]; then return 1; fi
  if [ "$1" = plus-outcome ] && [ "$HAS_OUTCOME" = True ]; then return 1; fi
  [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]
}
if [ "$PHASE" != eval ]; then
  for entry in "${ABLATIONS[@]}"; do
    name=${entry%%|*}
    run="$OUT/$name"
    selected "$name" || continue
    [ -f "$run/encoder/encoder_config.json" ] && continue
    mapfile -t overrides < <(overrides_of "$entry")
    mirencoder pretrain --config "$CONFIG" --set name="ablation-$name" \
      --set trainer.output_dir="$run" --set trainer.max_steps="$STEPS" \
      --set optim.warmup_steps=$((STEPS / 20)) --set trainer.val_every_n_steps="$STEPS" \
      --set trainer.checkpoint_every_n_steps="$STEPS" --set tracking.register=false \
      "${overrides[@]}" --resume
  done
fi
[ "$PHASE" = train ] && exit 0
WINDOW_SETTINGS=(--set probes.windows="$WINDOWS" --set probes.max_windows="$MAX_WINDOWS")
for entry in "${ABLATIONS[@]}"; do
  name=${entry%%|*}
  run="$OUT/$name"
  selected "$name" || continue
  if [ ! -f "$run/encoder/encoder_config.json" ]; then
    echo "[ablations] $name: not trained yet, not evaluated"
    continue
  fi
  # the untrained twin depends only on the architecture and seed: scored once, with "all"
  twin=(--untrained-model off)
  if [ "$name" = all ] && [ "$TWIN" = 1 ]; then twin=(--untrained-model auto); fi
  if [ ! -f "$run/probes/probes.json" ]; then
    mirencoder eval probes --model "$run/encoder" "${twin[@]}" "${WINDOW_SETTINGS[@]}" \
      --dataset "$DATASET" --data-dir "$DATA_DIR" --out-dir "$run/probes" --quiet
  fi
  if [ ! -f "$run/devmap/results/summary.json" ]; then
    devmap_twin=()
    if [ "$name" = all ] && [ "$TWIN" = 1 ]; then
      devmap_twin=(--untrained-model "$(ls -d "$run"/probes/untrained-twin/*-seed0 | head -1)")
    fi
    mirencoder eval devmap --model "$run/encoder" "${devmap_twin[@]}" --modalities fused \
      --features "" --row-sets 669 --protocols leakage-free --data-dir "$DATA_DIR" \
      --set methods.windows="$WINDOWS" --set methods.max_windows="$MAX_WINDOWS" \
      --out-dir "$run/devmap" --quiet
  fi
done
REPORT_DIR=(--report-dir "$ROOT")
[ -n "$ONLY" ] && REPORT_DIR=()
python -m mirencoder.training.evaluation.ablations "$OUT" "${REPORT_DIR[@]}" \
  --steps "$STEPS" --config "$CONFIG" --windows "$WINDOWS" --max-windows "$MAX_WINDOWS"
