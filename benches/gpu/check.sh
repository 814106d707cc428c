#!/usr/bin/env bash
# GPU check, run from the repository root on a machine with an NVIDIA GPU, using only the
# prebuilt bundle (benches/gpu/bundle.sh; no cargo, no network needed):
#
#   1. diagnostics: nvidia-smi, where libnvrtc / libcublas / libcuda and ptxas are, which get
#      loaded (LD_LIBRARY_PATH is set here from what is found, CUDA 13 libraries first);
#   2. the GPU tests: NVRTC + ptxas compile of every kernel, every SGEMM tile/layout against an
#      f64 reference, every engine backend function against the CPU path, an MLP training run
#      on GPU vs CPU;
#   3. the benchmark: SGEMM (4096³ and the MLP shapes) against cuBLAS FP32, an epoch of the
#      60000×784 784-256-128-10 MLP on the GPU, and the CPU path on 2 cores (taskset -c 0,1,
#      timed on 40 steps and extrapolated);
#   4. a compact table (last in the output).
#
# Every step has a timeout and the script carries on past failures; it exits non-zero if any
# step failed. check.log and results.txt go to $OUT (the device tool's output folder) when
# set, else /tmp/neurite-gpu-check.
# Expected run time on an H200: about 1-2 minutes (budget: under 4).
#
# Usage: bash benches/gpu/check.sh [BUNDLE_DIR]        (default .gpu-bundle)
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
bundle="${1:-.gpu-bundle}"
bin="$bundle/bin"
# $OUT (the device tool's output folder, at most 8 files come back) gets check.log and
# results.txt only; per-step logs and the kernel cache stay in $work.
logdir="${OUT:-/tmp/neurite-gpu-check}"
work=/tmp/neurite-gpu-check-work
mkdir -p "$logdir" "$work"
results="$logdir/results.txt"
: >"$results"

main() {
t_start=$(date +%s)
status=()   # "name|ok/FAIL/skip|seconds"
failed=0

section() { printf '\n===== %s =====\n' "$*"; }

# run NAME TIMEOUT CMD...: run with a timeout, log to $logdir/NAME.log, keep RESULT lines.
run() {
    local name="$1" limit="$2"
    shift 2
    section "$name: $*"
    local t0 rc
    t0=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$work/$name.log"
    rc=${PIPESTATUS[0]}
    local dt=$(($(date +%s) - t0))
    grep '^RESULT ' "$work/$name.log" >>"$results"
    if [ "$rc" = 0 ]; then
        status+=("$name|ok|$dt")
    else
        [ "$rc" = 124 ] && echo "!!! $name timed out after ${limit}s"
        status+=("$name|FAIL (rc $rc)|$dt")
        failed=1
    fi
}

section "bundle"
if [ ! -d "$bin" ]; then
    echo "no bundle at $bundle: build it with benches/gpu/bundle.sh and pass .gpu-bundle in carry"
    return 2
fi
cat "$bundle/MANIFEST" 2>/dev/null
ls -la "$bin"

section "machine"
uname -a
nproc
nvidia-smi 2>&1 | head -25
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit \
    --format=csv 2>&1

section "CUDA libraries on this machine"
py_sites=$(python3 -c 'import site; print("\n".join(site.getsitepackages()))' 2>/dev/null)
dirs=()
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
    /usr/local/cuda-*/lib64 /usr/local/cuda-*/targets/x86_64-linux/lib \
    $py_sites /opt/torch/.venv/lib/python3*/site-packages \
    /usr/local/lib/python3*/dist-packages /usr/lib/python3/dist-packages; do
    if [ -d "$d/nvidia" ]; then
        for sub in "$d"/nvidia/*/lib; do [ -d "$sub" ] && dirs+=("$sub"); done
    elif [ -d "$d" ]; then
        dirs+=("$d")
    fi
done
dirs+=(/usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64)
for d in "${dirs[@]}"; do
    ls "$d"/libnvrtc.so* "$d"/libcublas.so* "$d"/libcuda.so* 2>/dev/null | sed 's/^/  /'
done
echo "ldconfig:"
ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libnvrtc\.so|libcublas\.so' | sed 's/^/  /'

# First directory holding the library, preferring the CUDA 13 soname (driver 580 is CUDA 13).
find_lib() {
    local name="$1" d v
    for v in 13 12 ""; do
        for d in "${dirs[@]}"; do
            if [ -e "$d/$name.so${v:+.$v}" ]; then
                echo "$d"
                return
            fi
        done
    done
}
nvrtc_dir=$(find_lib libnvrtc)
cublas_dir=$(find_lib libcublas)
cuda_dir=$(find_lib libcuda)
echo "chosen: libnvrtc in ${nvrtc_dir:-NOT FOUND}; libcublas in ${cublas_dir:-NOT FOUND}; libcuda in ${cuda_dir:-NOT FOUND}"
ld=""
for d in "$nvrtc_dir" "$cublas_dir" "$cuda_dir"; do
    [ -n "$d" ] && case ":$ld:" in *":$d:"*) ;; *) ld="${ld:+$ld:}$d" ;; esac
done
export LD_LIBRARY_PATH="$ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

ptxas=""
for p in /usr/local/cuda/bin/ptxas /usr/local/cuda-*/bin/ptxas "$nvrtc_dir/../bin/ptxas" \
    $(command -v ptxas 2>/dev/null); do
    if [ -x "$p" ]; then
        ptxas="$p"
        break
    fi
done
if [ -n "$ptxas" ]; then
    export NEURITE_PTXAS="$ptxas"
    echo "ptxas: $ptxas ($("$ptxas" --version 2>&1 | tail -1))"
else
    echo "ptxas: not found (the compile test uses NVRTC's own ptxas report)"
fi

# A fresh kernel cache: the first step compiles (cold), later ones load the cached CUBINs.
export NEURITE_CUDA_CACHE="$work/kernel-cache"
rm -rf "$NEURITE_CUDA_CACHE"
unset NVIDIA_TF32_OVERRIDE

run info 60 "$bin/gpu_bench" info
run test_nvrtc_compile 180 "$bin/kernels_nvrtc_compile" --nocapture
run test_cuda_gemm 240 "$bin/kernels_cuda_gemm" --nocapture
run test_engine_cuda 240 "$bin/engine_cuda" --nocapture --test-threads 4
run bench_sgemm 180 "$bin/gpu_bench" sgemm
run bench_epoch_gpu 180 "$bin/gpu_bench" epoch-gpu 3
if command -v taskset >/dev/null; then
    run bench_epoch_cpu 240 env RAYON_NUM_THREADS=2 taskset -c 0,1 "$bin/gpu_bench" epoch-cpu 40
else
    run bench_epoch_cpu 240 env RAYON_NUM_THREADS=2 "$bin/gpu_bench" epoch-cpu 40
fi

section "kernel cache"
ls -la "$NEURITE_CUDA_CACHE" 2>&1 | head -20

# ---- the table -----------------------------------------------------------------------------
get() { awk -v k="$1" '$1 == "RESULT" && $2 == k { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' "$results"; }
section "summary ($(($(date +%s) - t_start)) s)"
echo "device: $(get device)"
printf '%-22s %-14s %s\n' step status seconds
for s in "${status[@]}"; do
    IFS='|' read -r n st dt <<<"$s"
    printf '%-22s %-14s %s\n' "$n" "$st" "$dt"
done
echo
printf '%-28s %10s %10s %8s %10s  %s\n' "SGEMM FP32 (TFLOP/s)" ours cuBLAS ratio maxrel "best tile (TFLOP/s)"
for key in 4096x4096x4096_nn 4096x4096x4096_nt 4096x4096x4096_tn 128x784_784x256_nn \
    128x784_784x256_nt 128x256_256x128_nn 128x128_128x10_nn 784x128_128x256_nn \
    784x128_128x256_tn; do
    ours=$(get "sgemm.$key.ours")
    [ -n "$ours" ] || continue
    theirs=$(get "sgemm.$key.cublas")
    printf '%-28s %10s %10s %7s%% %10s  %s\n' "$key" "$ours" "$theirs" \
        "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "?" }')" \
        "$(get "sgemm.$key.maxrel")" "$(get "sgemm.$key.best")"
done
gpu_s=$(get epoch.gpu.seconds)
cpu_s=$(get epoch.cpu.seconds)
echo
echo "epoch 60000x784, 784-256-128-10 ReLU, softmax CE, Adam, batch 128:"
echo "  GPU ${gpu_s:-?} s ($(get epoch.gpu.samples_per_s) samples/s; loss $(get epoch.gpu.loss_first) -> $(get epoch.gpu.loss_last))"
echo "  CPU 2 cores ${cpu_s:-?} s (extrapolated from $(get epoch.cpu.steps_timed) steps; $(get epoch.cpu.samples_per_s) samples/s)"
r4096=$(awk -v a="$(get sgemm.4096x4096x4096_nn.ours)" -v b="$(get sgemm.4096x4096x4096_nn.cublas)" \
    'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "" }')
speed=$(awk -v g="$gpu_s" -v c="$cpu_s" 'BEGIN { if (g > 0 && c > 0) printf "%.1f", c / g; else print "" }')
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { if (v == "") print "UNKNOWN"; else if (v + 0 >= t) print "PASS"; else print "FAIL" }'; }
echo
echo "target: SGEMM 4096^3 >= 80% of cuBLAS FP32: ${r4096:-?}% -> $(verdict "$r4096" 80)"
echo "target: epoch >= 10x faster than the 2-core CPU path: ${speed:-?}x -> $(verdict "$speed" 10)"
echo "all steps passed: $([ "$failed" = 0 ] && echo yes || echo NO)"
return "$failed"
}

main 2>&1 | tee "$logdir/check.log"
exit "${PIPESTATUS[0]}"
