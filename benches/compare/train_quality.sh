#!/usr/bin/env bash
# neurite against scikit-learn's MLP and PyTorch on the same splits of every shipped dataset
# (test metric and training time). Creates benches/compare/.venv with numpy, scikit-learn and
# PyTorch (CPU; the PyPI wheel pulls its CUDA libraries too, about 5.7 GB) unless PYTHON is set.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ -z "${PYTHON:-}" ]]; then
  if [[ ! -x benches/compare/.venv/bin/python ]]; then
    python3 -m venv benches/compare/.venv
  fi
  PYTHON=benches/compare/.venv/bin/python
  "$PYTHON" -m pip install -q numpy scikit-learn torch
fi
cargo build --release -q
taskset -c 0 "$PYTHON" benches/compare/train_quality.py --neurite target/release/neurite "$@"
