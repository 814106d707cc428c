#!/usr/bin/env bash
# Build the GPU bundle on a machine with a Rust toolchain (no GPU needed), for
# benches/gpu/check.sh to run on a GPU machine that has CUDA libraries but no Rust and no
# network. Release profile, --features cuda, stripped, into <repo>/.gpu-bundle/ (git-ignored):
#
#   .gpu-bundle/bin/gpu_bench                 SGEMM vs cuBLAS, GPU epoch, CPU epoch
#   .gpu-bundle/bin/engine_cuda               engine/tests/cuda.rs (every backend fn vs CPU, MLP run)
#   .gpu-bundle/bin/kernels_cuda_gemm         kernels/tests/cuda_gemm.rs (every tile/layout/alignment)
#   .gpu-bundle/bin/kernels_nvrtc_compile     kernels/tests/nvrtc_compile.rs (NVRTC + ptxas -v)
#   .gpu-bundle/MANIFEST                      commit, toolchain, sizes, sha256
#
# Usage: benches/gpu/bundle.sh        (then pass `.gpu-bundle` in the device tool's `carry`)
# Env:   CARGO_TARGET_DIR is honoured (default <repo>/target); JOBS=<n> limits cargo's jobs.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
out="$repo/.gpu-bundle"
export CARGO_PROFILE_RELEASE_DEBUG=false
jobs=()
[ -n "${JOBS:-}" ] && jobs=(-j "$JOBS")

# Print the executables cargo reports for the given build/test command (JSON messages).
executables() {
    cargo "$@" "${jobs[@]}" --message-format=json 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["target"]["name"] + " " + m["executable"])
'
}

echo "bundle: building (release, --features cuda); this takes a few minutes on 2 cores" >&2
# Build with human-readable output first, so errors are visible.
cargo test --release "${jobs[@]}" --features cuda -p neurite-engine --test cuda --no-run
cargo test --release "${jobs[@]}" --features cuda -p neurite-kernels --test cuda_gemm --test nvrtc_compile --no-run
cargo build --release "${jobs[@]}" -p neurite-benches --features cuda --bin gpu_bench

declare -A want=(
    [cuda]=engine_cuda
    [cuda_gemm]=kernels_cuda_gemm
    [nvrtc_compile]=kernels_nvrtc_compile
    [gpu_bench]=gpu_bench
)
rm -rf "$out"
mkdir -p "$out/bin"
while read -r name exe; do
    dest="${want[$name]:-}"
    [ -n "$dest" ] || continue
    cp "$exe" "$out/bin/$dest"
    strip "$out/bin/$dest" 2>/dev/null || true
done < <(
    executables test --release --features cuda -p neurite-engine --test cuda --no-run
    executables test --release --features cuda -p neurite-kernels --test cuda_gemm --test nvrtc_compile --no-run
    executables build --release -p neurite-benches --features cuda --bin gpu_bench
)
missing=0
for dest in "${want[@]}"; do
    if [ ! -x "$out/bin/$dest" ]; then
        echo "bundle: missing $dest" >&2
        missing=1
    fi
done
[ "$missing" = 0 ] || exit 1

{
    echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m), $(ldd --version 2>/dev/null | head -1)"
    echo "rustc: $(rustc --version)"
    (cd "$out" && for f in bin/*; do echo "$(sha256sum "$f" | cut -c1-16)  $(du -k "$f" | cut -f1) KiB  $f"; done)
} >"$out/MANIFEST"
cat "$out/MANIFEST"
echo "bundle: $(du -sh "$out" | cut -f1) in $out" >&2
