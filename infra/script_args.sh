# Sourced by the scripts under infra/ before any work: `script_args MAX "$@"` prints the
# calling script's header comment for -h / --help and exits 0, and stops with an error when
# the script is given more than MAX arguments (the scripts set by environment variables take
# none: an argument there, --help included, used to start the whole job).
script_args() {
  local max="$1"
  shift
  local script="${BASH_SOURCE[1]}"
  local arg
  for arg in "$@"; do
    if [ "$arg" = "-h" ] || [ "$arg" = "--help" ]; then
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$script"
      exit 0
    fi
  done
  if [ "$#" -gt "$max" ]; then
    echo "$(basename "$script"): takes at most $max argument(s), got $#: $*" \
         "(its settings are environment variables; see --help)" >&2
    exit 2
  fi
}
