// dropout.cu: inverted dropout. The keep decision for element i is
// `nr_uniform_f32(seed, offset + i) >= p`, bit-identical to the CPU's
// `rng::uniform_f32(seed, offset + i) >= p` (kernels/src/rng.rs), so CPU and GPU drop exactly
// the same elements. `scale` = 1/(1−p) is computed on the host in f64 and rounded to f32, as the
// CPU reference does, so the mask values agree bit for bit too.
//
// Semantics: kernels/src/cpu/dropout/reference.rs. Launchers: kernels/src/cuda/mod.rs.
#include "common.cuh"

// y, mask (n) from x (n)
extern "C" __global__ void dropout_forward_f32(float* y, float* mask, const float* x, i64 n, float p, float scale,
                                               u64 seed, u64 offset) {
    NR_FOR(i, n) {
        bool keep = nr_uniform_f32(seed, offset + (u64)i) >= p;
        float m = keep ? scale : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

// dx (n) (+)= dy · mask
extern "C" __global__ void dropout_backward_f32(float* dx, const float* mask, const float* dy, i64 n, int acc) {
    NR_FOR(i, n) { nr_store(dx, i, dy[i] * mask[i], acc); }
}
