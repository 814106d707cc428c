// batchnorm.cu: batch normalisation over the rows of `x (rows × cols)` for each column
// (PyTorch BatchNorm1d): training forward (batch mean and biased variance), inference forward
// (running statistics) and backward (dx, dγ, dβ, each optional with its own accumulate flag).
//
// Training forward and backward: block (32, 8), one block per 32 columns; threads of a column
// walk strided rows and combine through a fixed shared-memory tree (deterministic). Two passes
// for the variance, as the reference does.
// Semantics: kernels/src/cpu/batchnorm/reference.rs. Launchers: kernels/src/cuda/mod.rs.
#include "common.cuh"

// Σ over the 8 row groups of a (32, 8) block; every thread of column tx gets the total.
__device__ __forceinline__ float col_sum(float v, float (*part)[33]) {
    part[threadIdx.y][threadIdx.x] = v;
    __syncthreads();
    float t = 0.0f;
#pragma unroll
    for (int r = 0; r < 8; ++r) t += part[r][threadIdx.x];
    __syncthreads();
    return t;
}

// y (rows×cols), mean, var (cols) from x, gamma, beta
extern "C" __global__ void batchnorm_forward_train_f32(float* y, float* mean, float* var, const float* x,
                                                       const float* gamma, const float* beta, i64 rows, i64 cols,
                                                       float eps) {
    __shared__ float part[8][33];
    const i64 j = (i64)blockIdx.x * 32 + threadIdx.x;
    const bool in = j < cols;
    const float n = (float)rows;
    float s = 0.0f;
    if (in)
        for (i64 i = threadIdx.y; i < rows; i += 8) s += x[i * cols + j];
    const float mu = col_sum(s, part) / n;
    float ss = 0.0f;
    if (in)
        for (i64 i = threadIdx.y; i < rows; i += 8) {
            float d = x[i * cols + j] - mu;
            ss += d * d;
        }
    const float v = col_sum(ss, part) / n;
    if (!in) return;
    if (threadIdx.y == 0) {
        mean[j] = mu;
        var[j] = v;
    }
    const float inv = 1.0f / sqrtf(v + eps);
    const float g = gamma[j], b = beta[j];
    for (i64 i = threadIdx.y; i < rows; i += 8) {
        i64 k = i * cols + j;
        y[k] = g * (x[k] - mu) * inv + b;
    }
}

// y = gamma·(x − running_mean)/√(running_var + eps) + beta
extern "C" __global__ void batchnorm_forward_eval_f32(float* y, const float* x, const float* gamma,
                                                      const float* beta, const float* rmean, const float* rvar,
                                                      i64 rows, i64 cols, float eps) {
    NR_FOR(k, rows * cols) {
        i64 j = k - (k / cols) * cols;
        float inv = 1.0f / sqrtf(rvar[j] + eps);
        y[k] = gamma[j] * (x[k] - rmean[j]) * inv + beta[j];
    }
}

// dβ = Σ dy, dγ = Σ dy·x̂, dx = γ/(N·σ)·(N·dy − dβ − x̂·dγ). A null output pointer skips it;
// acc_* are the accumulate flags.
extern "C" __global__ void batchnorm_backward_f32(float* dx, float* dgamma, float* dbeta, const float* x,
                                                  const float* mean, const float* var, const float* gamma,
                                                  const float* dy, i64 rows, i64 cols, float eps, int acc_dx,
                                                  int acc_dg, int acc_db) {
    __shared__ float part[8][33];
    const i64 j = (i64)blockIdx.x * 32 + threadIdx.x;
    const bool in = j < cols;
    const float n = (float)rows;
    float mu = 0.0f, inv = 0.0f;
    if (in) {
        mu = mean[j];
        inv = 1.0f / sqrtf(var[j] + eps);
    }
    float sdy = 0.0f, sdyx = 0.0f;
    if (in)
        for (i64 i = threadIdx.y; i < rows; i += 8) {
            i64 k = i * cols + j;
            float xhat = (x[k] - mu) * inv;
            sdy += dy[k];
            sdyx += dy[k] * xhat;
        }
    sdy = col_sum(sdy, part);
    sdyx = col_sum(sdyx, part);
    if (!in) return;
    if (threadIdx.y == 0) {
        if (dbeta) nr_store(dbeta, j, sdy, acc_db);
        if (dgamma) nr_store(dgamma, j, sdyx, acc_dg);
    }
    if (dx) {
        const float c = gamma[j] * inv / n;
        for (i64 i = threadIdx.y; i < rows; i += 8) {
            i64 k = i * cols + j;
            float xhat = (x[k] - mu) * inv;
            nr_store(dx, k, c * (n * dy[k] - sdy - xhat * sdyx), acc_dx);
        }
    }
}
