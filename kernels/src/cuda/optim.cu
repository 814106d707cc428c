// optim.cu: optimizer updates over the flat parameter buffer, one thread per parameter:
// SGD (momentum, Nesterov, weight decay), Adam / AdamW, RMSprop. PyTorch semantics.
//
// Semantics: kernels/src/cpu/optim/reference.rs, in the same operation order; Adam's bias
// corrections 1 − β^t are computed on the host exactly as the CPU does (f32 powi) and passed in.
// Launchers: kernels/src/cuda/mod.rs. Tested against the CPU path in engine/tests/cuda.rs.
#include "common.cuh"

// p, g, velocity (n)
extern "C" __global__ void sgd_step_f32(float* p, const float* g, float* vel, i64 n, float lr, float momentum,
                                        int nesterov, float wd) {
    NR_FOR(i, n) {
        float pi = p[i];
        float gi = g[i] + wd * pi;
        if (momentum != 0.0f) {
            float v = momentum * vel[i] + gi;
            vel[i] = v;
            gi = nesterov ? gi + momentum * v : v;
        }
        p[i] = pi - lr * gi;
    }
}

// p, g, m, v (n); decoupled = AdamW
extern "C" __global__ void adam_step_f32(float* p, const float* g, float* m, float* v, i64 n, float lr, float b1,
                                         float b2, float eps, float wd, int decoupled, float bc1, float bc2) {
    NR_FOR(i, n) {
        float pi = p[i];
        float gi = g[i];
        if (decoupled) {
            pi -= lr * wd * pi;
        } else {
            gi += wd * pi;
        }
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        // The CPU reference's arrangement (PyTorch's): one square root, one division.
        float denom = sqrtf(vi) * (1.0f / sqrtf(bc2)) + eps;
        p[i] = pi - (lr / bc1) * (mi / denom);
    }
}

// p, g, square_avg, momentum_buf (n)
extern "C" __global__ void rmsprop_step_f32(float* p, const float* g, float* sq, float* buf, i64 n, float lr,
                                            float alpha, float eps, float momentum, float wd) {
    NR_FOR(i, n) {
        float pi = p[i];
        float gi = g[i] + wd * pi;
        float s = alpha * sq[i] + (1.0f - alpha) * gi * gi;
        sq[i] = s;
        float u = gi / (sqrtf(s) + eps);
        if (momentum > 0.0f) {
            float b = momentum * buf[i] + u;
            buf[i] = b;
            p[i] = pi - lr * b;
        } else {
            p[i] = pi - lr * u;
        }
    }
}
