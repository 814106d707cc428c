// common.cuh: what every neurite CUDA kernel file shares.
//
// - The counter-based RNG, bit-identical to kernels/src/rng.rs (SplitMix64's finaliser over
//   `seed * K1 ^ (i + 1) * K2`), so dropout keeps exactly the same elements on CPU and GPU.
// - The activation functions and their derivatives, in the same arithmetic order as
//   kernels/src/cpu/activation/reference.rs.
// - Warp and block reductions (deterministic: fixed shuffle trees, no atomics).
//
// Compiled by NVRTC at run time (kernels/src/cuda/mod.rs passes this file as an in-memory
// header), so it may include no system header.
#pragma once

typedef unsigned long long u64;
typedef long long i64;

// ---- counter-based RNG (kernels/src/rng.rs) ------------------------------------------------

#define NR_K1 0x9E3779B97F4A7C15ULL
#define NR_K2 0xD1B54A32D192ED03ULL

__device__ __forceinline__ u64 nr_mix64(u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// 64 random bits for counter i of stream seed (rng::bits).
__device__ __forceinline__ u64 nr_bits(u64 seed, u64 i) {
    return nr_mix64((seed * NR_K1) ^ ((i + 1ULL) * NR_K2));
}

// Uniform in [0, 1) with 24 random bits (rng::uniform_f32): exact, so comparisons with a
// threshold agree bit for bit with the CPU.
__device__ __forceinline__ float nr_uniform_f32(u64 seed, u64 i) {
    return (float)(nr_bits(seed, i) >> 40) * (1.0f / 16777216.0f);
}

// ---- activations (kernels/src/cpu/activation) ----------------------------------------------

// Codes shared with kernels/src/cuda/mod.rs (act_code).
#define ACT_IDENTITY 0
#define ACT_RELU 1
#define ACT_LEAKY_RELU 2
#define ACT_ELU 3
#define ACT_GELU 4
#define ACT_SIGMOID 5
#define ACT_TANH 6

#define NR_INV_SQRT_2 0.70710678118654752440f
#define NR_INV_SQRT_2PI 0.39894228040143267794f

__device__ __forceinline__ float nr_sigmoid(float x) {
    if (x >= 0.0f) {
        return 1.0f / (1.0f + expf(-x));
    }
    float e = expf(x);
    return e / (1.0f + e);
}

__device__ __forceinline__ float nr_act(int act, float alpha, float x) {
    switch (act) {
    case ACT_RELU:
        return x > 0.0f ? x : 0.0f;
    case ACT_LEAKY_RELU:
        return x > 0.0f ? x : alpha * x;
    case ACT_ELU:
        return x > 0.0f ? x : alpha * (expf(x) - 1.0f);
    case ACT_GELU:
        return 0.5f * x * (1.0f + erff(x * NR_INV_SQRT_2));
    case ACT_SIGMOID:
        return nr_sigmoid(x);
    case ACT_TANH:
        return tanhf(x);
    default:
        return x;
    }
}

// f'(x) from the input x (GELU only) and the output y = f(x) (everything else).
__device__ __forceinline__ float nr_act_grad(int act, float alpha, float x, float y) {
    switch (act) {
    case ACT_RELU:
        return y > 0.0f ? 1.0f : 0.0f;
    case ACT_LEAKY_RELU:
        return y > 0.0f ? 1.0f : alpha;
    case ACT_ELU:
        return y > 0.0f ? 1.0f : y + alpha;
    case ACT_GELU: {
        float cdf = 0.5f * (1.0f + erff(x * NR_INV_SQRT_2));
        float pdf = NR_INV_SQRT_2PI * expf(-(x * x) * 0.5f);
        return cdf + x * pdf;
    }
    case ACT_SIGMOID:
        return y * (1.0f - y);
    case ACT_TANH:
        return 1.0f - y * y;
    default:
        return 1.0f;
    }
}

// ---- reductions -----------------------------------------------------------------------------

__device__ __forceinline__ float nr_warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

__device__ __forceinline__ double nr_warp_sum_d(double v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

__device__ __forceinline__ float nr_warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    }
    return v;
}

// Sum over a block of blockDim.x threads (a multiple of 32, at most 1024); every thread gets the
// result. `scratch` holds 32 floats of shared memory; the call ends with a barrier so it can be
// reused at once.
__device__ __forceinline__ float nr_block_sum(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int nwarps = (blockDim.x + 31) >> 5;
    v = nr_warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < nwarps ? scratch[lane] : 0.0f;
    v = nr_warp_sum(v);
    __syncthreads();
    return v;
}

__device__ __forceinline__ double nr_block_sum_d(double v, double* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int nwarps = (blockDim.x + 31) >> 5;
    v = nr_warp_sum_d(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < nwarps ? scratch[lane] : 0.0;
    v = nr_warp_sum_d(v);
    __syncthreads();
    return v;
}

// out = acc ? out + g : g
__device__ __forceinline__ void nr_store(float* out, i64 k, float g, int acc) {
    out[k] = acc ? out[k] + g : g;
}

// Grid-stride loop over [0, n).
#define NR_FOR(i, n) \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (i64)(n); i += (i64)gridDim.x * blockDim.x)
