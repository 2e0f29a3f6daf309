#!/usr/bin/env bash
# Leakage-free DevMap (and, at the first share, thread coarsening and the probes) of encoder
# packages with their outputs in the principal basis of the pre-training corpus, keeping the
# leading directions that cover each share of the corpus variance (1.0: all, only turned;
# dN: the first N directions, as many for every package). Each package gets its own basis
# (fitted here when missing: mirencoder embed basis) on the same programs.
# Output: OUT/bases/NAME.npz, OUT/NAME/v<share>/{devmap,thread-coarsening,probes};
# the tables: python -m mirencoder.training.evaluation.basis_study OUT --group "pre-trained=a,b"
#   --group "untrained twins=t0,t1" [--report-dir .] (DevMap against the share), and
#   which_output --group "pre-trained=OUT/a/v0.9,..." (every score at the first share).
# KIND=independent fits independent components (FastICA) instead of principal directions
# (mirencoder embed basis --set kind=independent); the table: basis_study --kind independent.
# Each part that finished is skipped.
#   SHARES="0.9 1.0" bash infra/evaluate_basis.sh runs/eval/basis \
#       v17=runs/pretrain/x/encoder twin0=runs/pretrain/x/untrained-encoder
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/infra/script_args.sh"
script_args 10000 "$@"
source "$ROOT/infra/bootstrap.sh"
cd "$ROOT"
OUT="${1:?usage: infra/evaluate_basis.sh OUT NAME=PACKAGE [NAME=PACKAGE ...]}"
shift
[ "$#" -ge 1 ] || { echo "[evaluate_basis] give at least one NAME=PACKAGE" >&2; exit 2; }
DATA_DIR="${DATA_DIR:-$ROOT/../shared/data}"
DATASET="${DATASET:-runs/datasets/pretrain-variants-2cpu-v1}"   # the pre-training corpus
SHARES="${SHARES:-0.9 0.8 0.95 0.99 1.0}"   # thread coarsening at the first
OUTPUT="${OUTPUT:-fused}"
KIND="${KIND:-principal}"   # principal directions, or independent components
for spec in "$@"; do
  package="${spec#*=}"
  [ -f "$package/encoder_config.json" ] && [ "${spec%%=*}" != "$spec" ] || {
    echo "[evaluate_basis] $spec: expected NAME=PACKAGE with an encoder package folder" >&2
    exit 2; }
done
mkdir -p "$OUT/bases"
for spec in "$@"; do
  name="${spec%%=*}"; package="${spec#*=}"; basis="$OUT/bases/$name.npz"
  [ -f "$basis" ] || mirencoder embed basis --model "$package" --dataset "$DATASET" \
    --set kind="$KIND" --out "$basis"
  first=1
  for share in $SHARES; do
    out="$OUT/$name/v$share"
    if [ "${share#d}" != "$share" ]; then keep=(variance=1.0 dims="${share#d}")
    else keep=(variance="$share" dims=0); fi
    echo "[evaluate_basis] $name ($package), share $share -> $out"
    [ -f "$out/devmap/results/summary.json" ] ||
      mirencoder eval devmap --model "$package" --modalities "$OUTPUT" --features "" \
        --protocols leakage-free --set methods.basis="$basis" \
        --set methods.basis_"${keep[0]}" --set methods.basis_"${keep[1]}" \
        --data-dir "$DATA_DIR" \
        --out-dir "$out/devmap" --quiet
    if [ "$first" = 1 ] && [ ! -f "$out/probes/probes.json" ]; then
      mirencoder eval probes --model "$package" --untrained-model off --set probes.controls= \
        --set probes.modalities="$OUTPUT" --set probes.basis="$basis" \
        --set probes.basis_"${keep[0]}" --set probes.basis_"${keep[1]}" \
        --dataset "$DATASET" --data-dir "$DATA_DIR" \
        --out-dir "$out/probes" --quiet
    fi
    if [ "$first" = 1 ] && [ ! -f "$out/thread-coarsening/results/summary.json" ]; then
      mirencoder eval thread-coarsening --model "$package" --modalities "$OUTPUT" \
        --features "" --protocols leakage-free --set methods.basis="$basis" \
        --set methods.basis_"${keep[0]}" --set methods.basis_"${keep[1]}" \
        --data-dir "$DATA_DIR" \
        --out-dir "$out/thread-coarsening" --quiet
    fi
    first=0
  done
done
echo "[evaluate_basis] scored in $OUT"
