# Sourced by infra/evaluate_run.sh and infra/evaluate_outputs.sh (after bootstrap.sh): one
# encoder package scored as the model, with no controls, on the representation probes and the
# leakage-free DevMap and thread-coarsening protocols. Each part that finished is skipped.
#   score_package PACKAGE OUT OUTPUTS DATASET DATA_DIR
#   score_package runs/pretrain/x/untrained-encoder-seed1 runs/eval/x/twin-seed1 fused \
#       runs/datasets/pretrain-variants-2cpu-v1 ../shared/data
score_package() {  # OUTPUTS: comma-separated embedding outputs (fused,tokens,graph,joint)
  local package="$1" out="$2" outputs="$3" dataset="$4" data_dir="$5"
  [ -f "$out/probes/probes.json" ] ||
    mirencoder eval probes --model "$package" --untrained-model off --set probes.controls= \
      --set probes.modalities="$outputs" --dataset "$dataset" --data-dir "$data_dir" \
      --out-dir "$out/probes" --quiet
  [ -f "$out/devmap/results/summary.json" ] ||
    mirencoder eval devmap --model "$package" --modalities "$outputs" --features "" \
      --protocols leakage-free --data-dir "$data_dir" --out-dir "$out/devmap" --quiet
  [ -f "$out/thread-coarsening/results/summary.json" ] ||
    mirencoder eval thread-coarsening --model "$package" --modalities "$outputs" --features "" \
      --protocols leakage-free --data-dir "$data_dir" --out-dir "$out/thread-coarsening" --quiet
}
