// softmax.cu: softmax, log-softmax and the fused softmax + cross-entropy over the last axis,
// forward and backward. One warp per row (rows × cols row-major; blocks of 4 warps), three
// passes over the row (max, Σexp, write), max-subtracted for stability.
//
// Semantics: kernels/src/cpu/softmax/reference.rs. Targets are class indices stored as floats;
// an index outside [0, cols) gives a NaN loss and no one-hot term (never an out-of-bounds read;
// the engine validates host-side targets).
// Launchers: kernels/src/cuda/mod.rs. Tested against the CPU path in engine/tests/cuda.rs.
#include "common.cuh"

#define ROW_SETUP                                                              \
    const i64 row = ((i64)blockIdx.x * blockDim.x + threadIdx.x) >> 5;         \
    const int lane = threadIdx.x & 31;                                         \
    if (row >= rows) return;                                                   \
    const i64 base = row * cols;

__device__ __forceinline__ float row_max(const float* x, i64 cols, int lane) {
    float m = __int_as_float(0xff800000);  // -inf
    for (i64 j = lane; j < cols; j += 32) m = fmaxf(m, x[j]);
    return nr_warp_max(m);
}

__device__ __forceinline__ float row_sumexp(const float* x, i64 cols, int lane, float m) {
    float s = 0.0f;
    for (i64 j = lane; j < cols; j += 32) s += expf(x[j] - m);
    return nr_warp_sum(s);
}

// y = softmax(x) per row
extern "C" __global__ void softmax_forward_f32(float* y, const float* x, i64 rows, i64 cols) {
    ROW_SETUP
    const float* xr = x + base;
    float* yr = y + base;
    const float m = row_max(xr, cols, lane);
    float s = 0.0f;
    for (i64 j = lane; j < cols; j += 32) {
        float e = expf(xr[j] - m);
        yr[j] = e;
        s += e;
    }
    const float inv = 1.0f / nr_warp_sum(s);
    for (i64 j = lane; j < cols; j += 32) yr[j] *= inv;
}

// dx (+)= y · (dy − Σ_j dy·y) per row
extern "C" __global__ void softmax_backward_f32(float* dx, const float* y, const float* dy, i64 rows, i64 cols,
                                                int acc) {
    ROW_SETUP
    float dot = 0.0f;
    for (i64 j = lane; j < cols; j += 32) dot += y[base + j] * dy[base + j];
    dot = nr_warp_sum(dot);
    for (i64 j = lane; j < cols; j += 32) {
        i64 k = base + j;
        nr_store(dx, k, y[k] * (dy[k] - dot), acc);
    }
}

// y = x − logsumexp(x) per row
extern "C" __global__ void log_softmax_forward_f32(float* y, const float* x, i64 rows, i64 cols) {
    ROW_SETUP
    const float* xr = x + base;
    const float m = row_max(xr, cols, lane);
    const float lse = m + logf(row_sumexp(xr, cols, lane, m));
    for (i64 j = lane; j < cols; j += 32) y[base + j] = xr[j] - lse;
}

// dx (+)= dy − exp(y) · Σ_j dy per row
extern "C" __global__ void log_softmax_backward_f32(float* dx, const float* y, const float* dy, i64 rows,
                                                    i64 cols, int acc) {
    ROW_SETUP
    float s = 0.0f;
    for (i64 j = lane; j < cols; j += 32) s += dy[base + j];
    s = nr_warp_sum(s);
    for (i64 j = lane; j < cols; j += 32) {
        i64 k = base + j;
        nr_store(dx, k, dy[k] - expf(y[k]) * s, acc);
    }
}

// loss (rows) = logsumexp(x_i) − x_i[t_i]; probs (rows×cols) = softmax(x)
extern "C" __global__ void softmax_xent_forward_f32(float* loss, float* probs, const float* logits,
                                                    const float* targets, i64 rows, i64 cols) {
    ROW_SETUP
    const float* xr = logits + base;
    float* pr = probs + base;
    const float m = row_max(xr, cols, lane);
    float s = 0.0f;
    for (i64 j = lane; j < cols; j += 32) {
        float e = expf(xr[j] - m);
        pr[j] = e;
        s += e;
    }
    s = nr_warp_sum(s);
    const float inv = 1.0f / s;
    for (i64 j = lane; j < cols; j += 32) pr[j] *= inv;
    if (lane == 0) {
        const float tf = targets[row];
        const i64 t = (i64)tf;
        const bool ok = tf >= 0.0f && t < cols;
        loss[row] = ok ? (m + logf(s)) - xr[t] : __int_as_float(0x7fc00000);
    }
}

// dlogits (+)= dloss_i · (probs − onehot(t_i))
extern "C" __global__ void softmax_xent_backward_f32(float* dlogits, const float* probs, const float* targets,
                                                     const float* dloss, i64 rows, i64 cols, int acc) {
    ROW_SETUP
    const float tf = targets[row];
    const i64 t = tf >= 0.0f ? (i64)tf : -1;
    const float dl = dloss[row];
    for (i64 j = lane; j < cols; j += 32) {
        i64 k = base + j;
        float onehot = j == t ? 1.0f : 0.0f;
        nr_store(dlogits, k, dl * (probs[k] - onehot), acc);
    }
}
