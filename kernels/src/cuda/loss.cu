// loss.cu: elementwise losses before reduction: regression (MSE, MAE, Huber) and binary
// cross-entropy from logits, forward and backward. One thread per element.
//
// Semantics: kernels/src/cpu/loss/reference.rs (same operation order).
// Launchers: kernels/src/cuda/mod.rs. Tested against the CPU path in engine/tests/cuda.rs.
#include "common.cuh"

// Regression kinds (kernels/src/cuda/mod.rs).
#define R_MSE 0
#define R_MAE 1
#define R_HUBER 2

// out (n) = loss(pred (n), target (n))
extern "C" __global__ void regression_loss_forward_f32(float* out, const float* pred, const float* target, i64 n,
                                                       int kind, float delta) {
    NR_FOR(i, n) {
        float d = pred[i] - target[i];
        float v;
        if (kind == R_MSE) {
            v = d * d;
        } else if (kind == R_MAE) {
            v = fabsf(d);
        } else {
            float a = fabsf(d);
            v = a <= delta ? 0.5f * d * d : delta * (a - 0.5f * delta);
        }
        out[i] = v;
    }
}

// dpred (n) (+)= dy · ∂loss/∂pred
extern "C" __global__ void regression_loss_backward_f32(float* dpred, const float* pred, const float* target,
                                                        const float* dy, i64 n, int kind, float delta, int acc) {
    NR_FOR(i, n) {
        float d = pred[i] - target[i];
        float sign = d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f);
        float g;
        if (kind == R_MSE) {
            g = 2.0f * d;
        } else if (kind == R_MAE) {
            g = sign;
        } else {
            g = fabsf(d) <= delta ? d : delta * sign;
        }
        nr_store(dpred, i, g * dy[i], acc);
    }
}

// out (n) = max(x, 0) − x·t + log(1 + e^{−|x|})
extern "C" __global__ void bce_with_logits_forward_f32(float* out, const float* x, const float* t, i64 n) {
    NR_FOR(i, n) {
        float xi = x[i];
        float mx = 0.0f > xi ? 0.0f : xi;
        out[i] = mx - xi * t[i] + log1pf(expf(-fabsf(xi)));
    }
}

// dx (n) (+)= dy · (sigmoid(x) − t)
extern "C" __global__ void bce_with_logits_backward_f32(float* dx, const float* x, const float* t, const float* dy,
                                                        i64 n, int acc) {
    NR_FOR(i, n) { nr_store(dx, i, dy[i] * (nr_sigmoid(x[i]) - t[i]), acc); }
}
