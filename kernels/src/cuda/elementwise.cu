// elementwise.cu: activations, unary and binary ops (with broadcasting), transpose, row gather,
// axpby/scal/fill. One thread per element in grid-stride loops; the binary backward of a
// broadcast operand reduces deterministically (shared-memory trees, no atomics).
//
// Semantics: kernels/src/cpu/{activation,elementwise}/reference.rs, exactly (same operation
// order; the accumulate flag `acc` means out += g, else out = g).
// Launchers: kernels/src/cuda/mod.rs. Tested against the CPU path in engine/tests/cuda.rs.
#include "common.cuh"

// y (n) = f(x (n))
extern "C" __global__ void activation_forward_f32(float* y, const float* x, i64 n, int act, float alpha) {
    NR_FOR(i, n) { y[i] = nr_act(act, alpha, x[i]); }
}

// dx (n) (+)= dy · f'(x), y = f(x); x is read only for GELU.
extern "C" __global__ void activation_backward_f32(float* dx, const float* x, const float* y, const float* dy,
                                                   i64 n, int act, float alpha, int acc) {
    const bool needs_x = act == ACT_GELU;
    NR_FOR(i, n) {
        float xi = needs_x ? x[i] : 0.0f;
        nr_store(dx, i, dy[i] * nr_act_grad(act, alpha, xi, y[i]), acc);
    }
}

// Unary op codes (kernels/src/cuda/mod.rs unary_code).
#define U_NEG 0
#define U_EXP 1
#define U_LOG 2
#define U_SQRT 3
#define U_SCALE 4
#define U_ADD_SCALAR 5
#define U_ABS 6
#define U_SQUARE 7

__device__ __forceinline__ float unary_apply(int op, float c, float x) {
    switch (op) {
    case U_NEG: return -x;
    case U_EXP: return expf(x);
    case U_LOG: return logf(x);
    case U_SQRT: return sqrtf(x);
    case U_SCALE: return c * x;
    case U_ADD_SCALAR: return x + c;
    case U_ABS: return fabsf(x);
    default: return x * x;
    }
}

__device__ __forceinline__ float unary_grad(int op, float c, float x, float y) {
    switch (op) {
    case U_NEG: return -1.0f;
    case U_EXP: return y;
    case U_LOG: return 1.0f / x;
    case U_SQRT: return 0.5f / y;
    case U_SCALE: return c;
    case U_ADD_SCALAR: return 1.0f;
    case U_ABS: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    default: return 2.0f * x;
    }
}

extern "C" __global__ void unary_forward_f32(float* y, const float* x, i64 n, int op, float c) {
    NR_FOR(i, n) { y[i] = unary_apply(op, c, x[i]); }
}

extern "C" __global__ void unary_backward_f32(float* dx, const float* x, const float* y, const float* dy, i64 n,
                                              int op, float c, int acc) {
    const bool needs_x = op == U_LOG || op == U_ABS || op == U_SQUARE;
    const bool needs_y = op == U_EXP || op == U_SQRT;
    NR_FOR(i, n) {
        float xi = needs_x ? x[i] : 0.0f;
        float yi = needs_y ? y[i] : 0.0f;
        nr_store(dx, i, dy[i] * unary_grad(op, c, xi, yi), acc);
    }
}

// Binary op and broadcast codes (kernels/src/cuda/mod.rs).
#define B_ADD 0
#define B_SUB 1
#define B_MUL 2
#define B_DIV 3
#define BC_NONE 0
#define BC_ROW 1
#define BC_COL 2
#define BC_SCALAR 3

__device__ __forceinline__ i64 bidx(int bc, i64 i, i64 j, i64 cols) {
    switch (bc) {
    case BC_NONE: return i * cols + j;
    case BC_ROW: return j;
    case BC_COL: return i;
    default: return 0;
    }
}

__device__ __forceinline__ float binary_apply(int op, float a, float b) {
    switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    default: return a / b;
    }
}

// d out / d b · dy for one element
__device__ __forceinline__ float binary_grad_b(int op, float a, float bv, float dy) {
    switch (op) {
    case B_ADD: return dy;
    case B_SUB: return -dy;
    case B_MUL: return dy * a;
    default: return -dy * a / (bv * bv);
    }
}

// out (rows×cols) = a (rows×cols) ∘ b (broadcast)
extern "C" __global__ void binary_forward_f32(float* out, const float* a, const float* b, i64 rows, i64 cols,
                                              int op, int bc) {
    NR_FOR(k, rows * cols) {
        i64 i = k / cols, j = k - i * cols;
        out[k] = binary_apply(op, a[k], b[bidx(bc, i, j, cols)]);
    }
}

// da (rows×cols) (+)= dy · ∂out/∂a
extern "C" __global__ void binary_backward_a_f32(float* da, const float* b, const float* dy, i64 rows, i64 cols,
                                                 int op, int bc, int acc) {
    NR_FOR(k, rows * cols) {
        float g = dy[k];
        if (op == B_MUL || op == B_DIV) {
            i64 i = k / cols, j = k - i * cols;
            float bv = b[bidx(bc, i, j, cols)];
            g = op == B_MUL ? g * bv : g / bv;
        }
        nr_store(da, k, g, acc);
    }
}

// db (rows×cols) (+)= dy · ∂out/∂b, no broadcast.
extern "C" __global__ void binary_backward_b_elem_f32(float* db, const float* a, const float* b, const float* dy,
                                                      i64 n, int op, int acc) {
    NR_FOR(k, n) { nr_store(db, k, binary_grad_b(op, a[k], b[k], dy[k]), acc); }
}

// db (cols) (+)= Σ_rows dy · ∂out/∂b  (b broadcast along rows). Block (32, 8), one block per 32
// columns: each thread sums a strided set of rows, then a shared tree over the 8 row groups.
extern "C" __global__ void binary_backward_b_row_f32(float* db, const float* a, const float* b, const float* dy,
                                                     i64 rows, i64 cols, int op, int acc) {
    __shared__ float part[8][33];
    const i64 j = (i64)blockIdx.x * 32 + threadIdx.x;
    float s = 0.0f;
    if (j < cols) {
        float bv = b[j];
        for (i64 i = threadIdx.y; i < rows; i += 8) {
            i64 k = i * cols + j;
            s += binary_grad_b(op, a[k], bv, dy[k]);
        }
    }
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && j < cols) {
        float t = 0.0f;
#pragma unroll
        for (int r = 0; r < 8; ++r) t += part[r][threadIdx.x];
        nr_store(db, j, t, acc);
    }
}

// db (rows) (+)= Σ_cols dy · ∂out/∂b  (b broadcast along columns): one warp per row.
extern "C" __global__ void binary_backward_b_col_f32(float* db, const float* a, const float* b, const float* dy,
                                                     i64 rows, i64 cols, int op, int acc) {
    const i64 i = ((i64)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (i >= rows) return;
    const float bv = b[i];
    float s = 0.0f;
    for (i64 j = lane; j < cols; j += 32) {
        i64 k = i * cols + j;
        s += binary_grad_b(op, a[k], bv, dy[k]);
    }
    s = nr_warp_sum(s);
    if (lane == 0) nr_store(db, i, s, acc);
}

// db (1) (+)= Σ dy · ∂out/∂b  (scalar b): one block.
extern "C" __global__ void binary_backward_b_all_f32(float* db, const float* a, const float* b, const float* dy,
                                                     i64 n, int op, int acc) {
    __shared__ float scratch[32];
    const float bv = b[0];
    float s = 0.0f;
    for (i64 k = threadIdx.x; k < n; k += blockDim.x) s += binary_grad_b(op, a[k], bv, dy[k]);
    s = nr_block_sum(s, scratch);
    if (threadIdx.x == 0) nr_store(db, 0, s, acc);
}

// out (cols×rows) = xᵀ, x (rows×cols). 32×32 tiles through shared memory (padded: no bank
// conflicts), block (32, 8), grid (ceil(cols/32), ceil(rows/32)).
extern "C" __global__ void transpose_forward_f32(float* out, const float* x, i64 rows, i64 cols) {
    __shared__ float tile[32][33];
    const i64 c0 = (i64)blockIdx.x * 32, r0 = (i64)blockIdx.y * 32;
    for (int dy = threadIdx.y; dy < 32; dy += 8) {
        i64 r = r0 + dy, c = c0 + threadIdx.x;
        if (r < rows && c < cols) tile[dy][threadIdx.x] = x[r * cols + c];
    }
    __syncthreads();
    for (int dy = threadIdx.y; dy < 32; dy += 8) {
        i64 c = c0 + dy, r = r0 + threadIdx.x;
        if (r < rows && c < cols) out[c * rows + r] = tile[threadIdx.x][dy];
    }
}

// out (nidx×cols) = src[idx[r], :]; idx holds row numbers as floats. An index outside
// [0, src_rows) yields a row of NaN (the engine validates host-side indices; this keeps a bad
// device-side index from reading out of bounds).
extern "C" __global__ void gather_rows_forward_f32(float* out, const float* src, const float* idx, i64 nidx,
                                                   i64 cols, i64 src_rows) {
    NR_FOR(k, nidx * cols) {
        i64 r = k / cols, c = k - r * cols;
        float fi = idx[r];
        i64 row = (i64)fi;
        bool ok = fi >= 0.0f && row < src_rows;
        out[k] = ok ? src[row * cols + c] : __int_as_float(0x7fc00000);
    }
}

// y = alpha·x + beta·y
extern "C" __global__ void axpby_forward_f32(float* y, const float* x, i64 n, float alpha, float beta) {
    NR_FOR(i, n) { y[i] = alpha * x[i] + beta * y[i]; }
}

// y *= alpha
extern "C" __global__ void scal_forward_f32(float* y, i64 n, float alpha) {
    NR_FOR(i, n) { y[i] *= alpha; }
}

// y = v
extern "C" __global__ void fill_forward_f32(float* y, i64 n, float v) {
    NR_FOR(i, n) { y[i] = v; }
}
