# Sourced by the scripts that run on the lent GPU machine (gpu_session.sh, gpu_arms.sh): their
# session log and the export of a run that stopped before its end.

# gpu_session_start TAG: stdout and stderr also into $OUT/session.log; log lines "[TAG time]";
# the GPU and the versions of torch, Lightning and PyG first.
gpu_session_start() {
  LOG_TAG=$1
  exec > >(tee "$OUT/session.log") 2>&1
  log "$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
  python3 -c "import torch, lightning, torch_geometric as g; print('torch', torch.__version__, \
'lightning', lightning.__version__, 'pyg', g.__version__, 'cuda', torch.cuda.is_available())"
}
log() { echo "[${LOG_TAG:-gpu} $(date -u +%T)] $*"; }

# export_if_unfinished RUN_DIR: unless its result.json says the run finished, its last checkpoint
# becomes its encoder package (replacing an earlier export, e.g. before a --resume); a finished
# run stopped before its principal basis is named (fit the basis where the run returns).
export_if_unfinished() {
  local folder=$1 finished
  finished=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('finished'))" \
    "$folder/result.json" 2>/dev/null)
  if [ "$finished" != True ] && [ -f "$folder/checkpoints/last.ckpt" ]; then
    log "$(basename "$folder") stopped early: exporting its last checkpoint"
    rm -rf "$folder/encoder"
    python3 benchmarks/from_source.py pretrain export --checkpoint "$folder/checkpoints/last.ckpt" \
      --out "$folder/encoder" 2>&1 | tail -n 2
  elif [ "$finished" = True ] && [ ! -f "$folder/encoder/principal_basis.npz" ]; then
    log "$(basename "$folder") finished but was stopped before its principal basis: fit it where" \
      "it returns (mirencoder embed basis --model PACKAGE --dataset DATASET --into-package)"
  fi
}
