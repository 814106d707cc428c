#!/usr/bin/env bash
# Install NVRTC (libnvrtc) and ptxas from PyPI wheels into a local folder, for the GPU-less
# NVRTC compile test (kernels/tests/nvrtc_compile.rs). Idempotent: a second run only prints.
#
# Usage: kernels/scripts/install-nvrtc.sh [DEST]            (DEST default: <repo>/.nv)
#        NEURITE_NV_FLAVOR=cu12|cu13|both                    (default cu12: the CI set)
#        eval "$(kernels/scripts/install-nvrtc.sh)"          (exports the variables below)
#
# Prints, on stdout, shell `export` lines for:
#   LD_LIBRARY_PATH   so cudarc's dlopen finds libnvrtc.so.12 / .so.13
#   NEURITE_PTXAS     the ptxas binary the compile test assembles with
#   NEURITE_CUDA_INCLUDE  the CUDA runtime headers (cuda_fp16.h...; our kernels need none)
# Everything else goes to stderr.
#
# Wheels (no GPU, no driver needed):
#   cu12: nvidia-cuda-nvrtc-cu12 (libnvrtc.so.12), nvidia-cuda-nvcc-cu12 (bin/ptxas),
#         nvidia-cuda-runtime-cu12 (include/)            layout nvidia/{cuda_nvrtc,cuda_nvcc,cuda_runtime}/
#   cu13: nvidia-cuda-nvrtc, nvidia-cuda-nvcc, nvidia-cuda-runtime (13.0)   layout nvidia/cu13/{lib,bin,include}
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${1:-$repo/.nv}"
flavor="${NEURITE_NV_FLAVOR:-cu12}"
py="${PYTHON:-python3}"

CU12_PKGS="nvidia-cuda-nvrtc-cu12==12.8.93 nvidia-cuda-nvcc-cu12==12.8.93 nvidia-cuda-runtime-cu12==12.8.90"
CU13_PKGS="nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-nvcc==13.0.88 nvidia-cuda-runtime==13.0.96"

install() { # $1 = subdir, $2 = packages, $3 = marker file that proves the install
    local dir="$dest/$1"
    if [ -e "$dir/$3" ]; then
        echo "install-nvrtc: $1 already present in $dir" >&2
        return 0
    fi
    echo "install-nvrtc: installing $2 into $dir" >&2
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    "$py" -m pip install --quiet --no-deps --disable-pip-version-check --target "$dir" $2 >&2
}

libs=()
ptxas=""
include=""
case "$flavor" in
cu12 | both)
    install cu12 "$CU12_PKGS" nvidia/cuda_nvrtc/lib/libnvrtc.so.12
    libs+=("$dest/cu12/nvidia/cuda_nvrtc/lib")
    ptxas="$dest/cu12/nvidia/cuda_nvcc/bin/ptxas"
    include="$dest/cu12/nvidia/cuda_runtime/include"
    ;;
esac
case "$flavor" in
cu13 | both)
    # The runtime wheel's version differs from nvrtc's; fall back to no pin when it is absent.
    install cu13 "$CU13_PKGS" nvidia/cu13/lib/libnvrtc.so.13 ||
        install cu13 "nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-nvcc==13.0.88" nvidia/cu13/lib/libnvrtc.so.13
    if [ "$flavor" = cu13 ]; then
        libs+=("$dest/cu13/nvidia/cu13/lib")
        ptxas="$dest/cu13/nvidia/cu13/bin/ptxas"
        include="$dest/cu13/nvidia/cu13/include"
    fi
    ;;
cu12) ;;
*)
    echo "install-nvrtc: unknown NEURITE_NV_FLAVOR=$flavor (cu12, cu13 or both)" >&2
    exit 2
    ;;
esac

chmod +x "$ptxas" 2>/dev/null || true
ld="$(IFS=:; echo "${libs[*]}")"
echo "export LD_LIBRARY_PATH=$ld\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
echo "export NEURITE_PTXAS=$ptxas"
[ -d "$include" ] && echo "export NEURITE_CUDA_INCLUDE=$include"
exit 0
