#!/usr/bin/env bash
# Train a neurite model into the registry, optionally point an alias at it.
# Used by the Kubernetes training Job, the docker-compose training service and people.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: train.sh [options] CSV [-- extra `neurite train` options]

Trains a model on CSV (neurite train ... --json) as a new version in the registry and prints
the training result (one JSON object) on stdout.

Options:
  --target COL[,COL]  target column(s) (required unless the configuration sets `target:`)
  --name NAME         model name in the registry (default: the CSV file's stem)
  --config FILE       model configuration file (neurite train --config)
  --device DEV        cpu, cuda, cuda:N or auto (default: $NEURITE_TRAIN_DEVICE if set,
                      else the configuration's training.device)
  --promote ALIAS     point ALIAS (e.g. production) at the new version afterwards
  --if-absent         do not train when the model already has a version; with --promote,
                      point ALIAS at the latest version if it points nowhere yet. Running
                      the script again then changes nothing (what the Job uses)
  --dry-run           print the commands that would change the registry; change nothing
  -h, --help          this help

Environment:
  NEURITE             the neurite binary (default: `neurite` on PATH)
  NEURITE_CONFIG      global configuration (paths.models, ...), read by neurite itself
  NEURITE_MODELS      registry folder, overrides paths.models

Examples:
  train.sh --target species --name iris --promote production data/iris.csv
  train.sh --if-absent --promote production --name iris --target species data/iris.csv
  train.sh --target price data/houses.csv -- --epochs 50 --hidden 64,32
EOF
}

log() { printf 'train.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
# Print a command as a copy-pastable line.
show() { printf '+'; printf ' %q' "$@"; printf '\n'; }

NEURITE="${NEURITE:-neurite}"
target="" name="" config="" device="${NEURITE_TRAIN_DEVICE:-}" promote="" if_absent=0 dry_run=0
csv=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) target="${2:?--target needs a value}"; shift 2 ;;
    --name) name="${2:?--name needs a value}"; shift 2 ;;
    --config) config="${2:?--config needs a value}"; shift 2 ;;
    --device) device="${2:?--device needs a value}"; shift 2 ;;
    --promote) promote="${2:?--promote needs a value}"; shift 2 ;;
    --if-absent) if_absent=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$csv" ]] || die "one CSV file only (got $csv and $1)"; csv="$1"; shift ;;
  esac
done
[[ -n "$csv" ]] || { usage >&2; exit 2; }
[[ -f "$csv" ]] || die "no such file: $csv"
command -v "$NEURITE" >/dev/null 2>&1 || die "neurite binary not found: $NEURITE (set NEURITE)"
command -v jq >/dev/null 2>&1 || die "jq is required (apt-get install jq)"
if [[ -z "$name" ]]; then
  name="$(basename "$csv")"
  name="${name%.*}"
fi

# The model's versions and aliases, from the registry (read-only).
model_info() {
  "$NEURITE" models list --json | jq -c --arg n "$name" '.[] | select(.name == $n)'
}

promote_to() {
  local version="$1"
  if [[ "$dry_run" == 1 ]]; then
    show "$NEURITE" models promote "$name@v$version" "$promote"
  else
    "$NEURITE" models promote "$name@v$version" "$promote" >&2
  fi
}

if [[ "$if_absent" == 1 ]]; then
  info="$(model_info)"
  if [[ -n "$info" ]]; then
    latest="$(jq -r '.latest' <<<"$info")"
    log "$name already has versions (latest v$latest): not training (--if-absent)"
    if [[ -n "$promote" ]]; then
      current="$(jq -r --arg a "$promote" '.aliases[$a] // empty' <<<"$info")"
      if [[ -z "$current" ]]; then
        log "$name@$promote points nowhere: pointing it at v$latest"
        promote_to "$latest"
      else
        log "$name@$promote -> v$current (unchanged)"
      fi
    fi
    jq -c '{name, version: .latest, trained: false, aliases}' <<<"$info"
    exit 0
  fi
fi

cmd=("$NEURITE" train "$csv" --name "$name" --json)
[[ -n "$target" ]] && cmd+=(--target "$target")
[[ -n "$config" ]] && cmd+=(--config "$config")
[[ -n "$device" ]] && cmd+=(--device "$device")
cmd+=("${extra[@]}")

if [[ "$dry_run" == 1 ]]; then
  show "${cmd[@]}"
  [[ -n "$promote" ]] && show "$NEURITE" models promote "$name@v<new>" "$promote"
  exit 0
fi

log "training $name on $csv"
result="$("${cmd[@]}")"
version="$(jq -r '.version' <<<"$result")"
[[ "$version" =~ ^[0-9]+$ ]] || die "unexpected training output: $result"
log "trained $name@v$version"
[[ -n "$promote" ]] && promote_to "$version"
printf '%s\n' "$result"
