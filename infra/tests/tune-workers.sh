#!/usr/bin/env bash
# The tuning Indexed Job's command (infra/scripts/tune-worker.sh, i.e. `neurite tune ...
# --worker`), run as two local processes at once against one study folder, must complete the
# study with every trial run exactly once: none twice (duplicate), none missing (lost).
#
# When `neurite tune --help` fails (a build without the tune command), the test prints
# "skipped" and passes. The trials are read from the study folder `neurite tune` writes:
# experiments/<study>/trials/<id>.json, one record per trial (id, state, pid, host).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: infra/tests/tune-workers.sh [--trials N] [--help]

  --trials N   trials in the study (default 8)
Environment: NEURITE (default target/release/neurite, built when missing).
Prints "N passed, N failed[, N skipped]"; exit 0 only when nothing failed.
EOF
}
trials=8
while [[ $# -gt 0 ]]; do
  case "$1" in
    --trials) trials="${2:?--trials needs a number}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
if [[ -z "${NEURITE:-}" ]]; then
  NEURITE="${CARGO_TARGET_DIR:-$repo/target}/release/neurite"
  [[ -x "$NEURITE" ]] || cargo build --release --locked -q -p neurite --bin neurite
fi
export NEURITE

if ! "$NEURITE" tune --help >/dev/null 2>&1; then
  echo "skipped: \`neurite tune\` not available in this build (issue #8)"
  echo "tune-workers: 0 passed, 0 failed, 1 skipped"
  exit 0
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAILED: $*"; }

# What the Job's pods share: one global configuration whose folders are on one volume.
cat >"$work/neurite.yaml" <<EOF
paths:
  models: $work/volume/models
  logs: $work/volume/logs
  experiments: $work/volume/experiments
  data: $work/volume/data
EOF
export NEURITE_CONFIG="$work/neurite.yaml"
unset NEURITE_MODELS
study="ci-study"

echo "== two workers, one study ($trials trials)"
for index in 0 1; do
  JOB_COMPLETION_INDEX="$index" infra/scripts/tune-worker.sh --study "$study" --trials "$trials" \
    --sampler random --seed 7 --target species data/iris.csv -- --epochs 20 \
    >"$work/worker$index.out" 2>"$work/worker$index.err" &
  pids+=("$!")
done
for index in 0 1; do
  rc=0
  wait "${pids[$index]}" || rc=$?
  if [[ "$rc" == 0 ]]; then ok "worker $index exited 0"; else
    bad "worker $index exited $rc"; tail -20 "$work/worker$index.err"
  fi
done
pids=()

echo "== the study's trials"
if python3 - "$work/volume/experiments/$study/trials" "$trials" >"$work/check.txt" <<'PY'
import json, os, sys
folder, n = sys.argv[1], int(sys.argv[2])
recs = []
for f in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
    if f.endswith(".json"):
        recs.append(json.load(open(os.path.join(folder, f))))
ids = [r["id"] for r in recs]
states = sorted({r["state"] for r in recs})
print(f"{len(recs)} trial record(s) in {folder}; states {states}")
fail = False
dup = sorted({i for i in ids if ids.count(i) > 1})
lost = sorted(set(range(n)) - set(ids))
extra = sorted(set(ids) - set(range(n)))
if dup:
    print(f"FAILED: duplicate trials {dup}"); fail = True
if lost:
    print(f"FAILED: lost trials {lost}"); fail = True
if extra:
    print(f"FAILED: trials beyond the budget {extra}"); fail = True
unfinished = [r["id"] for r in recs if r["state"] not in ("complete", "pruned")]
if unfinished:
    print(f"FAILED: trials not finished: {unfinished}"); fail = True
procs = sorted({(r.get("host"), r.get("pid")) for r in recs})
print(f"processes that ran trials: {len(procs)}"
      + (" (both workers took part)" if len(procs) > 1 else " (one worker finished the study first)"))
sys.exit(1 if fail else 0)
PY
then
  cat "$work/check.txt"
  ok "$trials trials, each run once: no duplicate, none lost"
else
  cat "$work/check.txt"
  bad "the study's trials (see above)"
fi

echo "== exactly one worker registered the best model"
versions=$(find "$work/volume/models" -mindepth 2 -maxdepth 2 -type d -name 'v[0-9]*' | wc -l)
if [[ "$versions" == 1 ]]; then ok "one model version in the registry"; else
  bad "$versions model versions in the registry (expected 1)"; find "$work/volume/models" -maxdepth 2
fi

echo "tune-workers: $passed passed, $failed failed"
[[ "$failed" == 0 ]]
