#!/usr/bin/env bash
# One worker of a hyperparameter study: the command of each pod of the tuning Indexed Job
# (infra/k8s/base/tune-job.yaml), and what infra/tests/tune-workers.sh runs twice locally.
# Every worker started with the same study name and the same experiments folder (paths.experiments
# of the global configuration, on the shared volume) cooperates on one study: `neurite tune
# --worker` claims trials in experiments/<study>/, so each trial runs once.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: tune-worker.sh --study NAME --trials N --target COL [options] CSV [-- extra `neurite tune` options]

Runs: neurite tune CSV --target COL --study NAME --trials N --worker --json [--sampler S]
      [--seed S] [--config tune.yaml]
and prints its JSON result on stdout. Start as many as you like, on one machine or many, with
the same study, trials, sampler, seed and experiments folder.

Options:
  --study NAME      study name: its folder is <experiments>/NAME/ (required)
  --trials N        trials in the whole study, not per worker (required)
  --target COL      target column(s) (required)
  --sampler S       grid, random, tpe or gp (default: neurite's)
  --seed S          the study's seed (default: neurite's)
  --config FILE     search space (neurite tune --config)
  --dry-run         print the command; run nothing
  -h, --help        this help

Environment: NEURITE (the neurite binary, default `neurite` on PATH), NEURITE_CONFIG (its
paths.experiments holds the study), JOB_COMPLETION_INDEX (set by an Indexed Job: the
worker's number in the logs).
EOF
}

log() { printf 'tune-worker[%s]: %s\n' "${JOB_COMPLETION_INDEX:-local}" "$*" >&2; }
die() { log "error: $*"; exit 2; }
show() { printf '+'; printf ' %q' "$@"; printf '\n'; }

NEURITE="${NEURITE:-neurite}"
study="" trials="" target="" sampler="" seed="" config="" dry_run=0 csv=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --study) study="${2:?--study needs a value}"; shift 2 ;;
    --trials) trials="${2:?--trials needs a value}"; shift 2 ;;
    --target) target="${2:?--target needs a value}"; shift 2 ;;
    --sampler) sampler="${2:?--sampler needs a value}"; shift 2 ;;
    --seed) seed="${2:?--seed needs a value}"; shift 2 ;;
    --config) config="${2:?--config needs a value}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$csv" ]] || die "one CSV file only (got $csv and $1)"; csv="$1"; shift ;;
  esac
done
[[ -n "$study" && -n "$trials" && -n "$target" && -n "$csv" ]] || { usage >&2; exit 2; }
[[ "$trials" =~ ^[1-9][0-9]*$ ]] || die "--trials: not a positive integer: $trials"

cmd=("$NEURITE" tune "$csv" --target "$target" --study "$study" --trials "$trials" --worker --json)
[[ -n "$sampler" ]] && cmd+=(--sampler "$sampler")
[[ -n "$seed" ]] && cmd+=(--seed "$seed")
[[ -n "$config" ]] && cmd+=(--config "$config")
cmd+=("${extra[@]}")

if [[ "$dry_run" == 1 ]]; then
  show "${cmd[@]}"
  exit 0
fi
[[ -f "$csv" ]] || die "no such file: $csv"
log "joining study $study ($trials trials)"
exec "${cmd[@]}"
