# Sourced by infra/reproduce.sh, infra/ablations.sh and infra/evaluate_run.sh (after
# bootstrap.sh): the values of a resolved pre-training config, read once.
#   resolve_config champion; setting data dataset_dir; setting name
#   resolve_config champion --set data.seed=1 --set name=record-2cpu-outcome-seed1
resolve_config() {  # resolve_config CONFIG [--set K=V ...]: keeps `--dry-run`'s YAML
  RESOLVED=$(mirencoder pretrain --config "$1" "${@:2}" --dry-run)
}
setting() {  # setting SECTION [KEY]: one value of the resolved config
  local key="${2:-}"
  python -c "import sys,yaml;c=yaml.safe_load(sys.stdin)['$1'];print(c['$key'] if '$key' else c)" \
    <<< "$RESOLVED"
}
