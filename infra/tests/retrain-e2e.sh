#!/usr/bin/env bash
# End-to-end test of infra/scripts/train.sh and infra/scripts/retrain.sh with the real neurite
# binary on shipped datasets, in a temporary registry:
#   - train.sh trains v1 on the "old" rows and points production at it; rerun with --if-absent
#     it changes nothing;
#   - retrain.sh --dry-run changes nothing;
#   - retrain.sh trains v2 from production on the "new" rows (replaying the old ones),
#     evaluates both on held-out rows, and the alias ends where the scores say it should
#     (checked against `neurite eval` run here independently);
#   - a rerun on the same new rows is skipped; a missing new file is a no-op; an unreachable
#     --min-improvement keeps the alias, and --remove-rejected deletes the candidate;
#   - a regression model (diabetes) goes through the same gate on r2;
#   - no production alias: exit status 2.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: infra/tests/retrain-e2e.sh [--help]
Environment: NEURITE (default target/release/neurite, built when missing).
Prints "N passed, N failed"; exit 0 only when nothing failed.
EOF
}
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { usage; exit 0; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
if [[ -z "${NEURITE:-}" ]]; then
  NEURITE="${CARGO_TARGET_DIR:-$repo/target}/release/neurite"
  [[ -x "$NEURITE" ]] || cargo build --release --locked -q -p neurite --bin neurite
fi
export NEURITE
command -v jq >/dev/null || { echo "jq is required" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export NEURITE_MODELS="$work/models"
unset NEURITE_CONFIG NEURITE_TRAIN_DEVICE
cd "$work" # logs/ and experiments/ of the runs land here
scripts="$repo/infra/scripts"

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAILED: $*"; }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
versions() { "$NEURITE" models list --json | jq -c --arg n "$1" '[.[] | select(.name == $n) | .versions[]]'; }
alias_of() { "$NEURITE" models list --json | jq -r --arg n "$1" --arg a "$2" '.[] | select(.name == $n) | .aliases[$a] // "none"'; }
score() { "$NEURITE" eval --model "$1" "$2" --json | jq -r --arg m "$3" '.metrics[$m]'; }

# Seeded split of a CSV (header kept): old 45%, new 30%, holdout 25%.
split() {
  python3 - "$1" "$2" <<'PY'
import random, sys
src, prefix = sys.argv[1], sys.argv[2]
lines = open(src, encoding="utf-8").read().splitlines()
head, rows = lines[0], lines[1:]
random.Random(7).shuffle(rows)
a, b = int(len(rows) * 0.45), int(len(rows) * 0.75)
for name, part in (("old", rows[:a]), ("new", rows[a:b]), ("holdout", rows[b:])):
    with open(f"{prefix}_{name}.csv", "w", encoding="utf-8") as f:
        f.write("\n".join([head] + part) + "\n")
PY
}
split "$repo/data/breast_cancer.csv" bc
split "$repo/data/diabetes.csv" db
state="$work/state"

echo "== train.sh: first version, promoted"
"$scripts/train.sh" --target diagnosis --name bc --promote production bc_old.csv -- --epochs 40 >train1.json
check "train.sh trained bc v1" test "$(jq -r .version train1.json)" = 1
check "production -> v1" test "$(alias_of bc production)" = 1
"$scripts/train.sh" --if-absent --target diagnosis --name bc --promote production bc_old.csv >train2.json
check "train.sh --if-absent again: no new version" test "$(versions bc)" = "[1]"
check "train.sh --if-absent reports trained=false" test "$(jq -r .trained train2.json)" = false
"$scripts/train.sh" --dry-run --target diagnosis --name bc bc_old.csv >dry.txt
dry_train_ok() { grep -q "train bc_old.csv" dry.txt && test "$(versions bc)" = "[1]"; }
check "train.sh --dry-run prints the command and trains nothing" dry_train_ok

echo "== retrain.sh --dry-run"
"$scripts/retrain.sh" --dry-run --model bc --new bc_new.csv --replay bc_old.csv \
  --holdout bc_holdout.csv --state-dir "$state" >dry2.txt
dry_retrain_ok() { grep -q -- "--from bc@v1" dry2.txt && test "$(versions bc)" = "[1]" && test ! -e "$state"; }
check "retrain.sh --dry-run: no new version, no state" dry_retrain_ok

echo "== retrain.sh: candidate v2 against production v1 on the holdout"
"$scripts/retrain.sh" --model bc --new bc_new.csv --replay bc_old.csv --holdout bc_holdout.csv \
  --state-dir "$state" >r1.json
cat r1.json
check "candidate is v2, metric accuracy" \
  test "$(jq -r '"\(.candidate) \(.production) \(.metric)"' r1.json)" = "2 1 accuracy"
c="$(score bc@v2 bc_holdout.csv accuracy)" p="$(score bc@v1 bc_holdout.csv accuracy)"
expect="$(jq -rn --argjson c "$c" --argjson p "$p" 'if $c > $p then "promoted 2" else "kept 1" end')"
echo "  independent evaluation: v2 $c, v1 $p -> expected: $expect"
check "decision matches the independent evaluation ($expect)" \
  test "$(jq -r '"\(.action) \(.serving)"' r1.json)" = "$expect"
check "production alias matches the decision" test "$(alias_of bc production)" = "${expect#* }"
check "scores in the summary are the evaluation's" \
  test "$(jq -r '"\(.candidate_score) \(.production_score)"' r1.json)" = "$c $p"

echo "== reruns and edge cases"
before="$(versions bc) $(alias_of bc production)"
"$scripts/retrain.sh" --model bc --new bc_new.csv --replay bc_old.csv --holdout bc_holdout.csv \
  --state-dir "$state" >r2.json
check "rerun on the same new data: skipped, registry unchanged" \
  test "$(jq -r .action r2.json) $(versions bc) $(alias_of bc production)" = "skipped $before"
"$scripts/retrain.sh" --model bc --new missing.csv --holdout bc_holdout.csv --state-dir "$state" >r3.json
check "missing new data: skipped (exit 0)" test "$(jq -r .reason r3.json)" = "no new data"
serving="$(alias_of bc production)"
"$scripts/retrain.sh" --model bc --new bc_new.csv --replay bc_old.csv --holdout bc_holdout.csv \
  --state-dir "$state" --force --min-improvement 2 --remove-rejected >r4.json
check "--force --min-improvement 2: candidate v3 rejected and removed, alias kept" \
  test "$(jq -r '"\(.candidate) \(.action)"' r4.json) $(alias_of bc production) $(versions bc)" \
  = "3 rejected_removed $serving [1,2]"
rc=0
"$scripts/retrain.sh" --model nosuch --new bc_new.csv --holdout bc_holdout.csv --state-dir "$state" \
  >/dev/null 2>err.txt || rc=$?
no_alias_ok() { test "$rc" = 2 && grep -q "does not exist" err.txt; }
check "no production alias: exit status 2 with a message" no_alias_ok

echo "== regression: diabetes, gate on r2"
"$scripts/train.sh" --target progression --name db --promote production db_old.csv -- --epochs 40 >/dev/null
"$scripts/retrain.sh" --model db --new db_new.csv --replay db_old.csv --holdout db_holdout.csv \
  --state-dir "$state" >r5.json
cat r5.json
c="$(score db@v2 db_holdout.csv r2)" p="$(score db@v1 db_holdout.csv r2)"
expect="$(jq -rn --argjson c "$c" --argjson p "$p" 'if $c > $p then "2" else "1" end')"
check "r2 gate: production is v$expect (v2 r2 $c, v1 r2 $p)" \
  test "$(jq -r .metric r5.json) $(alias_of db production)" = "r2 $expect"

echo "== a weak production version (1 epoch at lr 1e-5) against a candidate trained for 60: promoted"
"$scripts/train.sh" --target diagnosis --name weak --promote production bc_old.csv -- --epochs 1 --lr 0.00001 >/dev/null
"$scripts/retrain.sh" --model weak --new bc_new.csv --replay bc_old.csv --holdout bc_holdout.csv \
  --state-dir "$state" -- --epochs 60 >r6.json
cat r6.json
c="$(score weak@v2 bc_holdout.csv accuracy)" p="$(score weak@v1 bc_holdout.csv accuracy)"
premise_ok() { [[ "$(jq -n --argjson c "$c" --argjson p "$p" '$c > $p')" == true ]]; }
check "v2 ($c) beats v1 ($p) on the holdout (the premise of this case)" premise_ok
check "promoted: production -> v2, the summary says so" \
  test "$(jq -r '"\(.action) \(.serving)"' r6.json) $(alias_of weak production)" = "promoted 2 2"
check "the alias history records the promotion" \
  grep -q '"alias":"production","action":"promote","version":2,"previous":1' \
  "$NEURITE_MODELS/weak/aliases.history.jsonl"

echo "retrain-e2e: $passed passed, $failed failed"
[[ "$failed" == 0 ]]
