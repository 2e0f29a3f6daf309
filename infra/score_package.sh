# Sourced by infra/evaluate_run.sh and infra/evaluate_outputs.sh (after bootstrap.sh): one
# encoder package scored as the model, with no controls, on the representation probes and the
# leakage-free DevMap and thread-coarsening protocols. Each part that finished is skipped.
# PROBE_SETTINGS (a probes.json or results/summary.json): the probes on the settings recorded
# there instead of today's defaults.
#   score_package PACKAGE OUT OUTPUTS DATASET DATA_DIR
#   score_package runs/pretrain/x/untrained-encoder-seed1 runs/eval/x/twin-seed1 fused \
#       runs/datasets/pretrain-variants-2cpu-v1 ../shared/data
score_package() {  # OUTPUTS: comma-separated embedding outputs (fused,tokens,graph,joint)
  local package="$1" out="$2" outputs="$3" dataset="$4" data_dir="$5"
  if [ -f "$out/probes/probes.json" ]; then :
  elif [ -n "${PROBE_SETTINGS:-}" ]; then  # the probe settings recorded there (all outputs)
    python -m mirencoder.training.evaluation.probes.rescore --settings "$PROBE_SETTINGS" \
      --model "$package" --out "$out/probes"
  else
    mirencoder eval probes --model "$package" --untrained-model off --set probes.controls= \
      --set probes.modalities="$outputs" --dataset "$dataset" --data-dir "$data_dir" \
      --out-dir "$out/probes" --quiet
  fi
  [ -f "$out/devmap/results/summary.json" ] ||
    mirencoder eval devmap --model "$package" --modalities "$outputs" --features "" \
      --protocols leakage-free --data-dir "$data_dir" --out-dir "$out/devmap" --quiet
  [ -f "$out/thread-coarsening/results/summary.json" ] ||
    mirencoder eval thread-coarsening --model "$package" --modalities "$outputs" --features "" \
      --protocols leakage-free --data-dir "$data_dir" --out-dir "$out/thread-coarsening" --quiet
}
