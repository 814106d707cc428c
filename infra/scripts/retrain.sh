#!/usr/bin/env bash
# Incremental retraining with a promotion gate: train a new version from the production one on
# new data, evaluate both on a held-out set, move the alias only if the new version is better.
# Used by the Kubernetes retraining CronJob and by people.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: retrain.sh --model NAME --new NEW.csv --holdout HOLDOUT.csv [options] [-- extra `neurite train` options]

  1. neurite train NEW.csv --from NAME@ALIAS [--replay OLD.csv]        -> candidate NAME@vC
  2. neurite eval --model NAME@vC    HOLDOUT.csv --json
     neurite eval --model NAME@ALIAS HOLDOUT.csv --json
  3. neurite models promote NAME@vC ALIAS     only if the candidate scores better
Prints one JSON object with the decision on stdout; exits 0 whether or not it promoted.

Options:
  --model NAME          registry model to retrain (required)
  --new FILE            new rows (required). A missing file means "no new data": nothing to do
  --holdout FILE        held-out rows with the targets, never trained on (required)
  --replay FILE         earlier rows to mix in (neurite train --replay)
  --replay-fraction F   fraction of the replay file to mix in (default: neurite's, 0.2)
  --alias ALIAS         the alias that serves (default: production)
  --metric NAME         metric that decides (default: accuracy, else subset_accuracy, else
                        r2: the first one the evaluation reports). Names containing loss,
                        error, mae, mse or rmse count lower as better; others higher
  --min-improvement D   the candidate must beat the alias by more than D (default: 0)
  --state-dir DIR       where the last retraining of each model is recorded (default:
                        $NEURITE_RETRAIN_STATE, else ./retrain-state). A NEW file whose
                        content was already used is skipped, so reruns change nothing
  --force               retrain even if NEW was already used
  --remove-rejected     delete the candidate version when it is not promoted
  --device DEV          training device (default: $NEURITE_TRAIN_DEVICE if set)
  --dry-run             read the registry, print the commands that would change it; change
                        nothing
  -h, --help            this help

Environment: NEURITE (the neurite binary, default `neurite` on PATH), NEURITE_CONFIG,
NEURITE_MODELS (see neurite --help).

Exit status: 0 done (promoted, kept the alias, or nothing new), 2 usage or missing
production version, other: a neurite command failed.
EOF
}

log() { printf 'retrain.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
show() { printf '+'; printf ' %q' "$@"; printf '\n'; }

NEURITE="${NEURITE:-neurite}"
model="" new="" holdout="" replay="" replay_fraction="" alias="production" metric=""
min_improvement="0" state_dir="${NEURITE_RETRAIN_STATE:-retrain-state}" force=0
remove_rejected=0 device="${NEURITE_TRAIN_DEVICE:-}" dry_run=0
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="${2:?--model needs a value}"; shift 2 ;;
    --new) new="${2:?--new needs a value}"; shift 2 ;;
    --holdout) holdout="${2:?--holdout needs a value}"; shift 2 ;;
    --replay) replay="${2:?--replay needs a value}"; shift 2 ;;
    --replay-fraction) replay_fraction="${2:?--replay-fraction needs a value}"; shift 2 ;;
    --alias) alias="${2:?--alias needs a value}"; shift 2 ;;
    --metric) metric="${2:?--metric needs a value}"; shift 2 ;;
    --min-improvement) min_improvement="${2:?--min-improvement needs a value}"; shift 2 ;;
    --state-dir) state_dir="${2:?--state-dir needs a value}"; shift 2 ;;
    --force) force=1; shift ;;
    --remove-rejected) remove_rejected=1; shift ;;
    --device) device="${2:?--device needs a value}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
[[ -n "$model" && -n "$new" && -n "$holdout" ]] || { usage >&2; exit 2; }
[[ "$min_improvement" =~ ^[0-9]*\.?[0-9]+$ ]] || die "--min-improvement: not a number: $min_improvement"
command -v "$NEURITE" >/dev/null 2>&1 || die "neurite binary not found: $NEURITE (set NEURITE)"
command -v jq >/dev/null 2>&1 || die "jq is required (apt-get install jq)"

summary() { # decision fields as JSON on stdout
  jq -cn --arg model "$model" --arg alias "$alias" "$@"
}

if [[ ! -f "$new" ]]; then
  log "no new data at $new: nothing to do"
  # shellcheck disable=SC2016 # a jq program: $names are jq variables
  summary --arg new "$new" '{model: $model, alias: $alias, action: "skipped", reason: "no new data", new: $new}'
  exit 0
fi
[[ -f "$holdout" ]] || die "no such holdout file: $holdout"
[[ -z "$replay" || -f "$replay" ]] || die "no such replay file: $replay"

# Reruns on data already used change nothing.
new_sha="$(sha256sum "$new" | cut -d' ' -f1)"
state_file="$state_dir/$model.json"
if [[ "$force" == 0 && -f "$state_file" ]] \
   && [[ "$(jq -r '.new_sha256 // empty' "$state_file")" == "$new_sha" ]]; then
  log "$new was already used ($(jq -r '.time' "$state_file")): nothing to do (--force to retrain)"
  # shellcheck disable=SC2016 # a jq program: $names are jq variables
  summary --slurpfile last "$state_file" \
    '{model: $model, alias: $alias, action: "skipped", reason: "new data already used", last: $last[0]}'
  exit 0
fi

# The version the alias serves now.
production="$("$NEURITE" models list --json \
  | jq -r --arg n "$model" --arg a "$alias" '.[] | select(.name == $n) | .aliases[$a] // empty')"
[[ -n "$production" ]] \
  || die "$model@$alias does not exist: train and promote a first version (train.sh --promote $alias)"
log "$model@$alias is v$production"

train_cmd=("$NEURITE" train "$new" --from "$model@v$production" --json)
if [[ -n "$replay" ]]; then
  train_cmd+=(--replay "$replay")
  [[ -n "$replay_fraction" ]] && train_cmd+=(--replay-fraction "$replay_fraction")
fi
[[ -n "$device" ]] && train_cmd+=(--device "$device")
train_cmd+=("${extra[@]}")

if [[ "$dry_run" == 1 ]]; then
  show "${train_cmd[@]}"
  show "$NEURITE" eval --model "$model@v<new>" "$holdout" --json
  show "$NEURITE" eval --model "$model@v$production" "$holdout" --json
  log "then, only if v<new> scores better: $NEURITE models promote $model@v<new> $alias"
  exit 0
fi

log "training a candidate from $model@v$production on $new${replay:+ (replaying $replay)}"
trained="$("${train_cmd[@]}")"
candidate="$(jq -r '.version' <<<"$trained")"
[[ "$candidate" =~ ^[0-9]+$ ]] || die "unexpected training output: $trained"
log "candidate: $model@v$candidate"

cand_eval="$("$NEURITE" eval --model "$model@v$candidate" "$holdout" --json)"
prod_eval="$("$NEURITE" eval --model "$model@v$production" "$holdout" --json)"

if [[ -z "$metric" ]]; then
  metric="$(jq -r '.metrics | [("accuracy", "subset_accuracy", "r2") as $k | select(has($k)) | $k] | first // empty' <<<"$cand_eval")"
  [[ -n "$metric" ]] || die "no accuracy, subset_accuracy or r2 in the evaluation; pass --metric"
fi
cand_score="$(jq -r --arg m "$metric" '.metrics[$m] | numbers' <<<"$cand_eval")"
prod_score="$(jq -r --arg m "$metric" '.metrics[$m] | numbers' <<<"$prod_eval")"
[[ -n "$cand_score" && -n "$prod_score" ]] || die "metric $metric is not a number in both evaluations"
case "$metric" in
  *loss* | *error* | *mae* | *mse*) direction=lower ;; # rmse matches *mse*
  *) direction=higher ;;
esac
better="$(jq -rn --argjson c "$cand_score" --argjson p "$prod_score" --argjson d "$min_improvement" \
  --arg dir "$direction" 'if $dir == "higher" then $c > $p + $d else $c < $p - $d end')"
log "holdout $metric ($direction is better): candidate v$candidate $cand_score, $alias v$production $prod_score"

if [[ "$better" == true ]]; then
  "$NEURITE" models promote "$model@v$candidate" "$alias" >&2
  action=promoted
else
  log "not promoted: v$candidate does not beat v$production by more than $min_improvement"
  action=kept
  if [[ "$remove_rejected" == 1 ]]; then
    "$NEURITE" models rm "$model@v$candidate" >&2
    action=rejected_removed
  fi
fi

# shellcheck disable=SC2016 # a jq program: $names are jq variables
result="$(summary --arg action "$action" --arg metric "$metric" --arg direction "$direction" \
  --argjson candidate "$candidate" --argjson production "$production" \
  --argjson cand "$cand_score" --argjson prod "$prod_score" --arg new "$new" \
  --arg sha "$new_sha" --arg time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  '{model: $model, alias: $alias, action: $action, metric: $metric, direction: $direction,
    candidate: $candidate, candidate_score: $cand, production: $production,
    production_score: $prod, serving: (if $action == "promoted" then $candidate else $production end),
    new: $new, new_sha256: $sha, time: $time}')"
mkdir -p "$state_dir"
printf '%s\n' "$result" >"$state_file.tmp"
mv "$state_file.tmp" "$state_file"
printf '%s\n' "$result"
