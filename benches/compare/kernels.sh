#!/usr/bin/env bash
# Side-by-side kernel benchmark: neurite vs numpy (OpenBLAS) vs PyTorch (CPU, eager) vs
# matrixmultiply, on the same GEMM shapes and the Adam training steps (784-256-128-10 at batch
# 128; 64-100-10 at batch 32, the default model on the digits data),
# one thread, in one run.
#
# Usage: benches/compare/kernels.sh [--quick] [--rounds N]
#   Creates benches/compare/.venv (git-ignored) and pip-installs numpy and torch from PyPI the
#   first time (the PyPI torch wheel pulls its CUDA dependency wheels, ~5.7 GB, even for CPU
#   use). Builds and runs `neurite-kernel-bench --json --threads 1`, runs compare.py for the
#   peers, alternating neurite and peers for N rounds (default 2) and keeping each side's best
#   figure per row, so that a change of machine load during the run hurts neither side alone.
#   Prints the table; writes benches/compare/last-run.txt and last-run-neurite.json (git-ignored).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
quick=""
rounds=2
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick="--quick" ;;
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

export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NEURITE_THREADS=1
(cd "$root" && cargo build --release -q -p neurite-benches --bin neurite-kernel-bench)
bin="$root/target/release/neurite-kernel-bench"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds: neurite" >&2
  "$bin" --json --threads 1 --max-square 2048 $quick > "$tmp/neurite-$r.json"
  echo "round $r/$rounds: numpy + torch" >&2
  "$venv/bin/python" "$here/compare.py" peers "$tmp/neurite-$r.json" $quick > "$tmp/peers-$r.json"
done
"$venv/bin/python" "$here/compare.py" report "$tmp" "$rounds" | tee "$here/last-run.txt"
cp "$tmp/neurite-1.json" "$here/last-run-neurite.json"
