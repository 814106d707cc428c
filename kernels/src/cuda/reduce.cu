// reduce.cu: reductions along the middle axis of `outer × n × inner` (sum with a scale, max with
// argmax) and their backward passes, and Σx² in double precision for gradient clipping.
//
// Every reduction is deterministic: fixed thread-to-element assignment and fixed shuffle/shared
// trees, no atomics, so a run repeats bit for bit. Large contiguous sums go through a
// two-pass partials buffer (sum_partial_f32 then sum_rows_*), chosen by the launcher.
//
// Semantics: kernels/src/cpu/reduce/reference.rs (`out (+)= scale · Σ`), and
// kernels/src/cpu/optim/reference.rs (sum_squares). Launchers: kernels/src/cuda/mod.rs.
#include "common.cuh"

// inner == 1, one warp per output row: out[o] (+)= scale · Σ_k x[o·n + k]. Block 256 = 8 rows.
extern "C" __global__ void sum_rows_warp_f32(float* out, const float* x, i64 outer, i64 n, float scale, int acc) {
    const i64 o = ((i64)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (o >= outer) return;
    const float* r = x + o * n;
    float s = 0.0f;
    for (i64 k = lane; k < n; k += 32) s += r[k];
    s = nr_warp_sum(s);
    if (lane == 0) nr_store(out, o, scale * s, acc);
}

// inner == 1, one block per output row (long rows).
extern "C" __global__ void sum_rows_block_f32(float* out, const float* x, i64 outer, i64 n, float scale, int acc) {
    __shared__ float scratch[32];
    const i64 o = blockIdx.x;
    const float* r = x + o * n;
    float s = 0.0f;
    for (i64 k = threadIdx.x; k < n; k += blockDim.x) s += r[k];
    s = nr_block_sum(s, scratch);
    if (threadIdx.x == 0) nr_store(out, o, scale * s, acc);
}

// First pass for very long rows: part[o·parts + p] = Σ of chunk p of row o.
// Grid (parts, outer), block 256.
extern "C" __global__ void sum_partial_f32(float* part, const float* x, i64 n, i64 chunk) {
    __shared__ float scratch[32];
    const i64 o = blockIdx.y, p = blockIdx.x;
    const i64 lo = p * chunk;
    const i64 hi = lo + chunk < n ? lo + chunk : n;
    const float* r = x + o * n;
    float s = 0.0f;
    for (i64 k = lo + threadIdx.x; k < hi; k += blockDim.x) s += r[k];
    s = nr_block_sum(s, scratch);
    if (threadIdx.x == 0) part[o * gridDim.x + p] = s;
}

// inner > 1: out[o·inner + i] (+)= scale · Σ_k x[(o·n + k)·inner + i]. Block (32, 8), grid
// (ceil(inner/32), outer): consecutive threads read consecutive i (coalesced), 8 row groups.
extern "C" __global__ void sum_cols_f32(float* out, const float* x, i64 n, i64 inner, float scale, int acc) {
    __shared__ float part[8][33];
    const i64 o = blockIdx.y;
    const i64 i = (i64)blockIdx.x * 32 + threadIdx.x;
    float s = 0.0f;
    if (i < inner) {
        const float* base = x + o * n * inner + i;
        for (i64 k = threadIdx.y; k < n; k += 8) s += base[k * inner];
    }
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && i < inner) {
        float t = 0.0f;
#pragma unroll
        for (int r = 0; r < 8; ++r) t += part[r][threadIdx.x];
        nr_store(out, o * inner + i, scale * t, acc);
    }
}

// dx (outer×n×inner) (+)= scale · dy (outer×inner) broadcast over n
extern "C" __global__ void sum_backward_f32(float* dx, const float* dy, i64 outer, i64 n, i64 inner, float scale,
                                            int acc) {
    NR_FOR(k, outer * n * inner) {
        i64 o = k / (n * inner);
        i64 i = k - (k / inner) * inner;
        nr_store(dx, k, scale * dy[o * inner + i], acc);
    }
}

// Max with the reference's rule: the first NaN wins, else the first maximum.
__device__ __forceinline__ bool max_better(float v, i64 k, float best, i64 arg) {
    bool vn = isnan(v), bn = isnan(best);
    if (vn || bn) return vn && (!bn || k < arg);
    return v > best || (v == best && k < arg);
}

// inner > 1 (or short rows): one thread per output, sequential over k like the reference.
extern "C" __global__ void max_forward_f32(float* out, float* argmax, const float* x, i64 outer, i64 n,
                                           i64 inner) {
    NR_FOR(t, outer * inner) {
        i64 o = t / inner, i = t - o * inner;
        const float* base = x + o * n * inner + i;
        float best = base[0];
        i64 arg = 0;
        for (i64 k = 1; k < n; ++k) {
            float v = base[k * inner];
            if (v > best || (isnan(v) && !isnan(best))) {
                best = v;
                arg = k;
            }
        }
        out[t] = best;
        argmax[t] = (float)arg;
    }
}

// inner == 1, long rows: one warp per output row; each lane scans a strided subsequence in
// order, then lanes combine with max_better (same result as the sequential scan).
extern "C" __global__ void max_rows_warp_f32(float* out, float* argmax, const float* x, i64 outer, i64 n) {
    const i64 o = ((i64)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (o >= outer) return;
    const float* r = x + o * n;
    float best = __int_as_float(0xff800000);  // -inf
    i64 arg = -1;
    for (i64 k = lane; k < n; k += 32) {
        float v = r[k];
        if (arg < 0 || max_better(v, k, best, arg)) {
            best = v;
            arg = k;
        }
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, best, off);
        i64 oa = __shfl_xor_sync(0xffffffffu, arg, off);
        if (oa >= 0 && (arg < 0 || max_better(ov, oa, best, arg))) {
            best = ov;
            arg = oa;
        }
    }
    if (lane == 0) {
        out[o] = best;
        argmax[o] = (float)arg;
    }
}

// dx[(o·n + argmax)·inner + i] += dy[o·inner + i]  (dx already zeroed or accumulating; each
// output routes to a distinct element, so no two threads write the same address).
extern "C" __global__ void max_backward_f32(float* dx, const float* argmax, const float* dy, i64 outer, i64 n,
                                            i64 inner) {
    NR_FOR(t, outer * inner) {
        i64 o = t / inner, i = t - o * inner;
        i64 k = (i64)argmax[t];
        if (k >= 0 && k < n) dx[(o * n + k) * inner + i] += dy[t];
    }
}

// Σ x² in double: per-block partials (part[blockIdx.x]), then the same kernel over the
// partials with `square = 0` finishes (launcher in kernels/src/cuda/mod.rs).
extern "C" __global__ void sum_squares_partial_f32(double* part, const float* x, i64 n) {
    __shared__ double scratch[32];
    double s = 0.0;
    NR_FOR(k, n) {
        double v = (double)x[k];
        s += v * v;
    }
    s = nr_block_sum_d(s, scratch);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}

extern "C" __global__ void sum_squares_finish_f64(double* out, const double* part, i64 n) {
    __shared__ double scratch[32];
    double s = 0.0;
    for (i64 k = threadIdx.x; k < n; k += blockDim.x) s += part[k];
    s = nr_block_sum_d(s, scratch);
    if (threadIdx.x == 0) out[0] = s;
}
