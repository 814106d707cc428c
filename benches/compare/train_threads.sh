#!/usr/bin/env bash
# The training steps of kernels.sh (784-256-128-10 at batch 128, 64-100-10 at batch 32, Adam)
# on all threads: neurite against PyTorch eager with the same thread count, in one run.
# kernels.sh holds the issue's one-thread comparison; this one is what `neurite train` gets on a
# multi-core machine (both sides on wall time).
#
# Usage: benches/compare/train_threads.sh [--threads N] [--rounds N]
#   N threads (default: the core count) for both sides; rounds (default 3) alternate neurite
#   and PyTorch, keeping each side's best median. Uses the venv of kernels.sh (created the same
#   way if missing). Prints the table; writes benches/compare/last-run-threads.txt (git-ignored).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
threads="$(nproc)"
rounds=3
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv (numpy + torch from PyPI; the torch wheel pulls ~5.7 GB of CUDA deps)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet numpy torch
fi

export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"
export NEURITE_THREADS="$threads"
(cd "$root" && cargo build --release -q -p neurite-benches --bin neurite-kernel-bench)
bin="$root/target/release/neurite-kernel-bench"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds: neurite" >&2
  "$bin" --json --threads "$threads" --filter softmax-xent > "$tmp/neurite-$r.json"
  echo "round $r/$rounds: torch" >&2
  "$venv/bin/python" "$here/compare.py" train-threads "$threads" > "$tmp/torch-$r.json"
done
"$venv/bin/python" "$here/compare.py" train-report "$tmp" "$rounds" "$threads" \
  | tee "$here/last-run-threads.txt"
