#!/usr/bin/env bash
# Run the CUDA kernel sources on the host under a small CUDA emulation (one thread per CUDA
# thread, real barriers and warp shuffles): checks indexing, tiling, barriers and boundary
# handling of the kernels against double-precision loops, with no GPU. Needs g++ with C++20.
# Usage: kernels/scripts/emulate-kernels.sh [gemm|reduce|softmax|misc]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${TMPDIR:-/tmp}/neurite-emu-test"
g++ -std=c++20 -O2 -pthread -w -o "$out" "$here/tests/emu/emu_test.cpp"
exec "$out" "$@"
