// matmul.cu: FP32 SGEMM on CUDA cores (no tensor cores: the engine trains in exact FP32).
//
//   C (m×n, row stride ldc) = act(A·B [+ C] + bias)
//
// A and B are strided: A(i, p) = a[i·a_rs + p·a_cs], B(p, j) = b[p·b_rs + j·b_cs]. The tiled
// kernels need one unit stride per operand: "n" = row-contiguous (cs == 1), "t" =
// column-contiguous (rs == 1), so the four variants _nn _nt _tn _tt cover x·Wᵀ (nt), dy·W (nn)
// and dyᵀ·x (tn) without copies; matmul_forward_f32_generic takes any strides (slow path).
// Accumulate (beta ∈ {0, 1}) and the epilogue follow kernels/src/cpu/matmul: the product is
// added to C first, then the bias (one value per column), then the activation.
//
// Design (classic SIMT SGEMM, as in CUTLASS's SIMT path and siboehm's "kernel 10"):
// - a BM×BN block tile, K in steps of BK; each thread owns a TM×TN register tile, held as
//   TM/4 × TN/4 groups of 4×4 spread BM/(TM/4) rows (BN/(TN/4) columns) apart, so the
//   fragment loads from shared memory are 16-byte and conflict-free;
// - A is stored k-major in shared memory (As[k][m]) and B as Bs[k][n]: the inner loop is an
//   outer product of a column of A and a row of B;
// - double-buffered shared memory: the next K tile is loaded from global memory into registers
//   while the current one is multiplied, then stored to the other buffer (one barrier per tile);
// - global loads are 16 bytes (float4) along each operand's contiguous dimension when the tile
//   is fully inside the matrix and the operand is 16-byte aligned with ld % 4 == 0 (flags bit
//   0/1, set by the host); edge tiles and unaligned operands use guarded scalar loads;
// - the epilogue (accumulate, bias, activation) runs on registers before the single store,
//   16-byte when C (and the bias) are aligned (flags bit 2).
// Tile configurations (the launcher picks one per shape; NEURITE_SGEMM_TILE forces one):
//   128x128x8 and 128x128x16 (256 threads, 8×8 per thread), 128x64x8 (256, 8×4),
//   64x64x8 (256, 4×4), 32x32x8 (64, 4×4).
// Launcher: kernels/src/cuda/ops.rs (matmul). Benchmarked against cuBLAS in
// benches/src/bin/gpu_bench.rs; tested against the CPU path in engine/tests/cuda.rs.
#include "common.cuh"

// Mirrors `GemmParams` in kernels/src/cuda/mod.rs (#[repr(C)]).
struct GemmParams {
    const float* a;
    const float* b;
    float* c;
    const float* bias;  // null: no bias
    i64 a_rs, a_cs, b_rs, b_cs;
    i64 ldc;
    int m, n, k;
    int acc;
    int act;
    float alpha;
    int flags;  // bit 0: A 16-byte loads allowed, bit 1: B, bit 2: C and bias
};

// Only the cheap activations are applied in the register epilogue. Inlining erf/exp/tanh into
// all TM×TN outputs (twice: vector and scalar stores) multiplied the kernel's code size and
// compile time several-fold, and a call from the epilogue (ABI: stack frame, more registers)
// caused spills; so the others run in a second pass over the thread's own outputs, in rolled
// loops that touch no register array (gemm_act_pass), for activations the engine rarely fuses.
__device__ __forceinline__ bool gemm_act_inline(int act) {
    return act == ACT_IDENTITY || act == ACT_RELU || act == ACT_LEAKY_RELU;
}

// The slope of the inline activations for negative inputs: 0 (ReLU), alpha (leaky ReLU) or 1
// (identity, and the activations gemm_act_pass applies later). Selects instead of a switch, so
// the compiler does not clone the whole epilogue once per activation.
__device__ __forceinline__ float gemm_slope(const GemmParams& P) {
    return P.act == ACT_RELU ? 0.0f : (P.act == ACT_LEAKY_RELU ? P.alpha : 1.0f);
}

__device__ __forceinline__ float gemm_finish(const GemmParams& P, float slope, float v, float old, float bias) {
    if (P.acc) v = old + v;
    if (P.bias) v = v + bias;
    // Same results as the reference: relu(x) = x > 0 ? x : 0 (NaN → 0), leaky = x > 0 ? x : a·x.
    return v > 0.0f ? v : (slope == 0.0f ? 0.0f : (slope == 1.0f ? v : slope * v));
}

// Apply a non-inline activation to rows r0 + {0..3} + g·rstride (g < ng) and columns
// c0 + {0..3} + h·cstride (h < nh) of C, which this thread has just written.
__device__ __forceinline__ void gemm_act_pass(const GemmParams& P, int r0, int rstride, int ng, int c0, int cstride,
                                           int nh) {
#pragma unroll 1
    for (int g = 0; g < ng; ++g)
#pragma unroll 1
        for (int i = 0; i < 4; ++i) {
            const int r = r0 + g * rstride + i;
            if (r >= P.m) continue;
            float* crow = P.c + (i64)r * P.ldc;
#pragma unroll 1
            for (int h = 0; h < nh; ++h)
#pragma unroll 1
                for (int j = 0; j < 4; ++j) {
                    const int c = c0 + h * cstride + j;
                    if (c < P.n) crow[c] = nr_act(P.act, P.alpha, crow[c]);
                }
        }
}

template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
__device__ __forceinline__ void sgemm_tiled(const GemmParams& P) {
    constexpr int NTX = BN / TN, NTY = BM / TM, NT = NTX * NTY;
    constexpr int GM = TM / 4, GN = TN / 4;     // 4×4 groups per thread
    constexpr int SMS = BM / GM, SNS = BN / GN; // distance between a thread's groups
    constexpr int PAD = 4;                      // keeps rows 16-byte aligned, breaks conflicts
    constexpr int A4 = BM * BK / 4, B4 = BK * BN / 4;
    constexpr int LA = (A4 + NT - 1) / NT, LB = (B4 + NT - 1) / NT;
    static_assert(TM % 4 == 0 && TN % 4 == 0 && BK % 4 == 0, "tile shape");

    __shared__ __align__(16) float As[2][BK][BM + PAD];
    __shared__ __align__(16) float Bs[2][BK][BN + PAD];

    // Thread → register-tile position. Each warp covers 8 consecutive tx by 4 consecutive ty
    // (a 32×64 warp tile for 8×8 threads): every quarter-warp phase of a 16-byte fragment load
    // reads one broadcast A address and 128 contiguous bytes of B, so shared-memory wavefronts
    // per FMA are lower than with 16 tx × 2 ty per warp.
    static_assert(NTX % 8 == 0 && NTY % 4 == 0 && NT % 32 == 0, "warp layout");
    const int tid = threadIdx.x;
    const int warp = tid >> 5, lane = tid & 31;
    const int tx = (warp % (NTX / 8)) * 8 + (lane & 7);
    const int ty = (warp / (NTX / 8)) * 4 + (lane >> 3);
    const int M = P.m, N = P.n, K = P.k;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const i64 lda = TA ? P.a_cs : P.a_rs;
    const i64 ldb = TB ? P.b_cs : P.b_rs;
    const bool vec_a = (P.flags & 1) != 0, vec_b = (P.flags & 2) != 0, vec_c = (P.flags & 4) != 0;

    float4 ra[LA], rb[LB];

    // Global → registers for the K tile starting at k0.
    auto load = [&](int k0) {
        const bool full_a = vec_a && m0 + BM <= M && k0 + BK <= K;
        const bool full_b = vec_b && n0 + BN <= N && k0 + BK <= K;
#pragma unroll
        for (int u = 0; u < LA; ++u) {
            const int l = tid + u * NT;
            if (A4 % NT != 0 && l >= A4) break;
            // !TA: 4 consecutive k of one row; TA: 4 consecutive rows of one k.
            const int r = TA ? (l % (BM / 4)) * 4 : l / (BK / 4);
            const int q = TA ? l / (BM / 4) : (l % (BK / 4)) * 4;
            const int gi = m0 + r, gk = k0 + q;
            const float* src = TA ? P.a + (i64)gk * lda + gi : P.a + (i64)gi * lda + gk;
            if (full_a) {
                ra[u] = *reinterpret_cast<const float4*>(src);
            } else {
                float t[4];
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int ii = TA ? gi + e : gi, kk = TA ? gk : gk + e;
                    t[e] = (ii < M && kk < K) ? src[e] : 0.0f;
                }
                ra[u] = make_float4(t[0], t[1], t[2], t[3]);
            }
        }
#pragma unroll
        for (int u = 0; u < LB; ++u) {
            const int l = tid + u * NT;
            if (B4 % NT != 0 && l >= B4) break;
            // !TB: 4 consecutive columns of one k; TB: 4 consecutive k of one column.
            const int cj = TB ? l / (BK / 4) : (l % (BN / 4)) * 4;
            const int q = TB ? (l % (BK / 4)) * 4 : l / (BN / 4);
            const int gj = n0 + cj, gk = k0 + q;
            const float* src = TB ? P.b + (i64)gj * ldb + gk : P.b + (i64)gk * ldb + gj;
            if (full_b) {
                rb[u] = *reinterpret_cast<const float4*>(src);
            } else {
                float t[4];
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int jj = TB ? gj : gj + e, kk = TB ? gk + e : gk;
                    t[e] = (jj < N && kk < K) ? src[e] : 0.0f;
                }
                rb[u] = make_float4(t[0], t[1], t[2], t[3]);
            }
        }
    };

    // Registers → shared buffer `buf`.
    auto store = [&](int buf) {
#pragma unroll
        for (int u = 0; u < LA; ++u) {
            const int l = tid + u * NT;
            if (A4 % NT != 0 && l >= A4) break;
            if (TA) {
                const int r = (l % (BM / 4)) * 4, q = l / (BM / 4);
                *reinterpret_cast<float4*>(&As[buf][q][r]) = ra[u];
            } else {
                const int r = l / (BK / 4), q = (l % (BK / 4)) * 4;
                As[buf][q + 0][r] = ra[u].x;
                As[buf][q + 1][r] = ra[u].y;
                As[buf][q + 2][r] = ra[u].z;
                As[buf][q + 3][r] = ra[u].w;
            }
        }
#pragma unroll
        for (int u = 0; u < LB; ++u) {
            const int l = tid + u * NT;
            if (B4 % NT != 0 && l >= B4) break;
            if (TB) {
                const int cj = l / (BK / 4), q = (l % (BK / 4)) * 4;
                Bs[buf][q + 0][cj] = rb[u].x;
                Bs[buf][q + 1][cj] = rb[u].y;
                Bs[buf][q + 2][cj] = rb[u].z;
                Bs[buf][q + 3][cj] = rb[u].w;
            } else {
                const int cj = (l % (BN / 4)) * 4, q = l / (BN / 4);
                *reinterpret_cast<float4*>(&Bs[buf][q][cj]) = rb[u];
            }
        }
    };

    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    const int ktiles = (K + BK - 1) / BK;
    if (ktiles > 0) {
        load(0);
        store(0);
    }
    __syncthreads();
    for (int t = 0; t < ktiles; ++t) {
        const int cur = t & 1;
        if (t + 1 < ktiles) load((t + 1) * BK);
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            float af[TM], bf[TN];
#pragma unroll
            for (int g = 0; g < GM; ++g) {
                const float4 v = *reinterpret_cast<const float4*>(&As[cur][kk][g * SMS + ty * 4]);
                af[g * 4 + 0] = v.x;
                af[g * 4 + 1] = v.y;
                af[g * 4 + 2] = v.z;
                af[g * 4 + 3] = v.w;
            }
#pragma unroll
            for (int h = 0; h < GN; ++h) {
                const float4 v = *reinterpret_cast<const float4*>(&Bs[cur][kk][h * SNS + tx * 4]);
                bf[h * 4 + 0] = v.x;
                bf[h * 4 + 1] = v.y;
                bf[h * 4 + 2] = v.z;
                bf[h * 4 + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(af[i], bf[j], acc[i][j]);
        }
        if (t + 1 < ktiles) store(cur ^ 1);
        __syncthreads();
    }

    // Epilogue: C = act(A·B [+ C] + bias).
    const float slope = gemm_slope(P);
#pragma unroll
    for (int g = 0; g < GM; ++g) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int r = m0 + g * SMS + ty * 4 + i;
            if (r >= M) continue;
            float* crow = P.c + (i64)r * P.ldc;
#pragma unroll
            for (int h = 0; h < GN; ++h) {
                const int cb = n0 + h * SNS + tx * 4;
                const float* a4 = &acc[g * 4 + i][h * 4];
                if (vec_c && cb + 4 <= N) {
                    float4 old = make_float4(0.f, 0.f, 0.f, 0.f), bb = make_float4(0.f, 0.f, 0.f, 0.f);
                    if (P.acc) old = *reinterpret_cast<const float4*>(crow + cb);
                    if (P.bias) bb = *reinterpret_cast<const float4*>(P.bias + cb);
                    float4 v;
                    v.x = gemm_finish(P, slope, a4[0], old.x, bb.x);
                    v.y = gemm_finish(P, slope, a4[1], old.y, bb.y);
                    v.z = gemm_finish(P, slope, a4[2], old.z, bb.z);
                    v.w = gemm_finish(P, slope, a4[3], old.w, bb.w);
                    *reinterpret_cast<float4*>(crow + cb) = v;
                } else {
#pragma unroll
                    for (int j = 0; j < 4; ++j) {
                        const int c = cb + j;
                        if (c < N) {
                            const float old = P.acc ? crow[c] : 0.0f;
                            const float bb = P.bias ? P.bias[c] : 0.0f;
                            crow[c] = gemm_finish(P, slope, a4[j], old, bb);
                        }
                    }
                }
            }
        }
    }
    if (!gemm_act_inline(P.act)) gemm_act_pass(P, m0 + ty * 4, SMS, GM, n0 + tx * 4, SNS, GN);
}

// MINB: blocks per SM the register budget must allow (__launch_bounds__), 1 = no cap.
#define SGEMM_KERNEL(NAME, BM, BN, BK, TM, TN, MINB, TA, TB)                                      \
    extern "C" __global__ void __launch_bounds__((BM / TM) * (BN / TN), MINB) NAME(const GemmParams p) { \
        sgemm_tiled<BM, BN, BK, TM, TN, TA, TB>(p);                                                 \
    }

#define SGEMM_CONFIG(TAG, BM, BN, BK, TM, TN, MINB)                                         \
    SGEMM_KERNEL(matmul_forward_f32_##TAG##_nn, BM, BN, BK, TM, TN, MINB, false, false)     \
    SGEMM_KERNEL(matmul_forward_f32_##TAG##_nt, BM, BN, BK, TM, TN, MINB, false, true)      \
    SGEMM_KERNEL(matmul_forward_f32_##TAG##_tn, BM, BN, BK, TM, TN, MINB, true, false)      \
    SGEMM_KERNEL(matmul_forward_f32_##TAG##_tt, BM, BN, BK, TM, TN, MINB, true, true)

// Names: matmul_forward_f32_<BMxBNxBK>_<a layout><b layout>; keep in sync with TILES in
// kernels/src/cuda/ops.rs. The runtime compiles one configuration per module (NVRTC gets
// -DSGEMM_TILE=<index>, see Module::defines), so only the tiles in use cost compile time;
// without SGEMM_TILE every configuration is built.
#if !defined(SGEMM_TILE) || SGEMM_TILE == 0
SGEMM_CONFIG(128x128x8, 128, 128, 8, 8, 8, 2)
#endif
#if !defined(SGEMM_TILE) || SGEMM_TILE == 1
SGEMM_CONFIG(128x128x16, 128, 128, 16, 8, 8, 2)
#endif
#if !defined(SGEMM_TILE) || SGEMM_TILE == 2
SGEMM_CONFIG(128x64x8, 128, 64, 8, 8, 4, 1)
#endif
#if !defined(SGEMM_TILE) || SGEMM_TILE == 3
SGEMM_CONFIG(64x64x8, 64, 64, 8, 4, 4, 1)
#endif
#if !defined(SGEMM_TILE) || SGEMM_TILE == 4
SGEMM_CONFIG(32x32x8, 32, 32, 8, 4, 4, 1)
#endif
// 16×8 per thread (128 threads): 6 fragment loads per 128 FMAs instead of 4 per 64. On Hopper
// (128 FP32 lanes per SM) the 8×8 tile's shared-memory traffic matches its FMA rate, so fewer
// bytes per FMA can pay for the lower occupancy.
#if !defined(SGEMM_TILE) || SGEMM_TILE == 5
SGEMM_CONFIG(128x128x8w, 128, 128, 8, 16, 8, 2)
#endif
#if !defined(SGEMM_TILE) || SGEMM_TILE == 6
SGEMM_CONFIG(128x128x16w, 128, 128, 16, 16, 8, 2)
#endif

// Any strides: one thread per output, block (16, 16), grid (ceil(n/16), ceil(m/16)).
extern "C" __global__ void matmul_forward_f32_generic(const GemmParams P) {
    const int j = blockIdx.x * 16 + threadIdx.x, i = blockIdx.y * 16 + threadIdx.y;
    if (i >= P.m || j >= P.n) return;
    const float* a = P.a + (i64)i * P.a_rs;
    const float* b = P.b + (i64)j * P.b_cs;
    float s = 0.0f;
    for (int p = 0; p < P.k; ++p) s = fmaf(a[(i64)p * P.a_cs], b[(i64)p * P.b_rs], s);
    float* dst = P.c + (i64)i * P.ldc + j;
    const float v = gemm_finish(P, gemm_slope(P), s, P.acc ? *dst : 0.0f, P.bias ? P.bias[j] : 0.0f);
    *dst = gemm_act_inline(P.act) ? v : nr_act(P.act, P.alpha, v);
}
