// Host emulation of neurite's CUDA kernels (see cuda_emu.h): launches every non-trivial kernel
// with the launch configurations kernels/src/cuda/ops.rs uses, on awkward sizes, and checks the
// results against double-precision loops. It catches indexing, tiling, barrier and boundary
// bugs without a GPU; it proves nothing about speed or device math.
// Run: kernels/scripts/emulate-kernels.sh
#include <cstdio>
#include <random>
#include <string>

#include "cuda_emu.h"

#include "../../src/cuda/batchnorm.cu"
#include "../../src/cuda/dropout.cu"
#include "../../src/cuda/elementwise.cu"
#include "../../src/cuda/matmul.cu"
#include "../../src/cuda/reduce.cu"
#include "../../src/cuda/softmax.cu"

static int failures = 0;
static const int SMS = 132;  // H200

static std::vector<float> randn(unsigned seed, size_t n, float scale = 1.0f) {
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = d(g);
    return v;
}

static void check(const std::string& what, const float* got, const std::vector<double>& want, double atol,
                  double rtol) {
    size_t bad = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        double g = got[i], w = want[i];
        bool ok = std::isnan(w) ? std::isnan(g) : std::fabs(g - w) <= atol + rtol * std::fabs(w);
        if (!ok) {
            if (bad < 5) std::printf("  %s: [%zu] got %.9g want %.9g\n", what.c_str(), i, g, w);
            ++bad;
        }
    }
    if (bad) {
        std::printf("FAIL %s: %zu of %zu differ\n", what.c_str(), bad, want.size());
        ++failures;
    }
}

static dim3 grid1(size_t n) {
    size_t b = (n + 255) / 256;
    if (b > (size_t)SMS * 32) b = (size_t)SMS * 32;
    return {(unsigned)(b ? b : 1), 1, 1};
}
static dim3 warp_rows(size_t rows, unsigned warps) { return {(unsigned)((rows + warps - 1) / warps), 1, 1}; }

// ---- GEMM ---------------------------------------------------------------------------------------

typedef void (*GemmKernel)(const GemmParams);
struct TileC {
    const char* name;
    int bm, bn, threads;
    GemmKernel k[4];  // nn, nt, tn, tt
};
#define TILE(NAME, BM, BN, T)                                                                            \
    TileC {                                                                                              \
        #NAME, BM, BN, T, {                                                                              \
            matmul_forward_f32_##NAME##_nn, matmul_forward_f32_##NAME##_nt, matmul_forward_f32_##NAME##_tn, \
                matmul_forward_f32_##NAME##_tt                                                          \
        }                                                                                                \
    }
static const TileC TILES_C[] = {
    TILE(128x128x8, 128, 128, 256),   TILE(128x128x16, 128, 128, 256), TILE(128x64x8, 128, 64, 256),
    TILE(64x64x8, 64, 64, 256),       TILE(32x32x8, 32, 32, 64),       TILE(128x128x8w, 128, 128, 128),
    TILE(128x128x16w, 128, 128, 128),
};

struct Mat {
    const float* p;
    int rows, cols;
    long long rs, cs;
};

// The host logic of ops::matmul_with_tile: layout normalisation, vector flags, grid.
static void gemm(const TileC& t, Mat a, Mat b, float* c, long long ldc, bool acc, const float* bias, int act,
                 float alpha) {
    auto layout = [](Mat m, bool& tr, long long& ld) {
        if (m.cs == 1 || m.cols <= 1) {
            tr = false;
            ld = m.rows <= 1 ? 0 : m.rs;
            return true;
        }
        if (m.rs == 1 || m.rows <= 1) {
            tr = true;
            ld = m.cols <= 1 ? 0 : m.cs;
            return true;
        }
        return false;
    };
    auto al16 = [](const void* p) { return ((uintptr_t)p % 16) == 0; };
    GemmParams P{a.p, b.p, c, bias, a.rs, a.cs, b.rs, b.cs, ldc, a.rows, b.cols, a.cols, acc, act, alpha, 0};
    bool ta, tb;
    long long lda, ldb;
    if (!layout(a, ta, lda) || !layout(b, tb, ldb)) {
        emu::launch({(unsigned)((b.cols + 15) / 16), (unsigned)((a.rows + 15) / 16), 1}, {16, 16, 1},
                    [&] { matmul_forward_f32_generic(P); });
        return;
    }
    if (ta) { P.a_rs = 1; P.a_cs = lda; } else { P.a_rs = lda; P.a_cs = 1; }
    if (tb) { P.b_rs = 1; P.b_cs = ldb; } else { P.b_rs = ldb; P.b_cs = 1; }
    bool cv = al16(c) && ldc % 4 == 0 && (!bias || al16(bias));
    P.flags = (al16(a.p) && lda % 4 == 0) | (al16(b.p) && ldb % 4 == 0) << 1 | cv << 2;
    GemmKernel k = t.k[ta * 2 + tb];
    emu::launch({(unsigned)((b.cols + t.bn - 1) / t.bn), (unsigned)((a.rows + t.bm - 1) / t.bm), 1},
                {(unsigned)t.threads, 1, 1}, [&] { k(P); });
}

static double act_ref(int act, double alpha, double x) {
    switch (act) {
    case 1: return x > 0 ? x : 0;
    case 2: return x > 0 ? x : alpha * x;
    case 5: return 1.0 / (1.0 + std::exp(-x));
    case 6: return std::tanh(x);
    default: return x;
    }
}

static void test_gemm() {
    struct S { int m, k, n; } shapes[] = {{1, 1, 1}, {5, 3, 7}, {31, 17, 33}, {129, 65, 127},
                                          {130, 8, 130}, {64, 40, 64}, {3, 0, 5}, {200, 33, 7}};
    int launches = 0;
    for (auto s : shapes) {
        const int m = s.m, k = s.k, n = s.n;
        auto A = randn(1, (size_t)m * k), B = randn(2, (size_t)k * n), bias = randn(3, n), C0 = randn(4, (size_t)m * n);
        std::vector<double> prod((size_t)m * n, 0.0), absum((size_t)m * n, 0.0);
        for (int i = 0; i < m; ++i)
            for (int p = 0; p < k; ++p)
                for (int j = 0; j < n; ++j) {
                    double v = (double)A[(size_t)i * k + p] * B[(size_t)p * n + j];
                    prod[(size_t)i * n + j] += v;
                    absum[(size_t)i * n + j] += std::fabs(v);
                }
        for (int lay = 0; lay < 4; ++lay) {
            const bool ta = lay & 2, tb = lay & 1;
            for (int off = 0; off < 2; ++off) {
                // Stored (transposed when asked) after `off` padding elements.
                std::vector<float> sa(off + (size_t)m * k + 1), sb(off + (size_t)k * n + 1), sbias(off + n);
                for (int i = 0; i < m; ++i)
                    for (int p = 0; p < k; ++p)
                        sa[off + (ta ? (size_t)p * m + i : (size_t)i * k + p)] = A[(size_t)i * k + p];
                for (int p = 0; p < k; ++p)
                    for (int j = 0; j < n; ++j)
                        sb[off + (tb ? (size_t)j * k + p : (size_t)p * n + j)] = B[(size_t)p * n + j];
                for (int j = 0; j < n; ++j) sbias[off + j] = bias[j];
                Mat am = ta ? Mat{sa.data() + off, m, k, 1, m} : Mat{sa.data() + off, m, k, k, 1};
                Mat bm = tb ? Mat{sb.data() + off, k, n, 1, k} : Mat{sb.data() + off, k, n, n, 1};
                for (const auto& t : TILES_C) {
                    // Every epilogue on the misaligned copy, the plain product on the aligned one.
                    const int nepi = off ? 4 : 1;
                    for (int e = 0; e < nepi; ++e) {
                        const bool acc = e == 1 || e == 3, with_bias = e >= 2;
                        const int act = e == 2 ? 1 : e == 3 ? 5 : e == 1 ? 6 : 0;
                        std::vector<float> sc(off + (size_t)m * n + 1, NAN);
                        for (size_t i = 0; i < (size_t)m * n; ++i) sc[off + i] = C0[i];
                        gemm(t, am, bm, sc.data() + off, n, acc, with_bias ? sbias.data() + off : nullptr, act, 0.0f);
                        ++launches;
                        std::vector<double> want((size_t)m * n);
                        for (size_t i = 0; i < want.size(); ++i) {
                            double v = prod[i] + (acc ? C0[i] : 0.0) + (with_bias ? bias[i % n] : 0.0);
                            want[i] = act_ref(act, 0.0, v);
                        }
                        std::string what = std::string(t.name) + " " + std::to_string(m) + "x" + std::to_string(k) +
                                           "x" + std::to_string(n) + " ta=" + std::to_string(ta) +
                                           " tb=" + std::to_string(tb) + " off=" + std::to_string(off) +
                                           " epi=" + std::to_string(e);
                        check(what, sc.data() + off, want, 1e-4, 1e-4);
                        if (!std::isnan(sc[off + (size_t)m * n])) {
                            std::printf("FAIL %s: wrote past the end of C\n", what.c_str());
                            ++failures;
                        }
                    }
                }
            }
        }
    }
    // Strided A (neither stride 1): the generic kernel.
    {
        const int m = 9, k = 7, n = 5;
        auto A = randn(5, (size_t)m * k * 2), B = randn(6, (size_t)k * n);
        std::vector<float> c((size_t)m * n);
        gemm(TILES_C[0], Mat{A.data(), m, k, 2 * k, 2}, Mat{B.data(), k, n, n, 1}, c.data(), n, false, nullptr, 0, 0);
        std::vector<double> want((size_t)m * n, 0.0);
        for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j)
                for (int p = 0; p < k; ++p) want[(size_t)i * n + j] += (double)A[(size_t)i * 2 * k + 2 * p] * B[(size_t)p * n + j];
        check("generic strided", c.data(), want, 1e-4, 1e-4);
    }
    std::printf("gemm: %d launches\n", launches);
}

// ---- reductions ------------------------------------------------------------------------------

// The host logic of ops::sum_forward.
static void sum_forward(float* out, const float* x, long long outer, long long n, long long inner, float scale,
                        int acc) {
    if (inner == 1) {
        std::function<void(float*, const float*, long long, long long)> rows = [&](float* o, const float* xx,
                                                                                   long long ou, long long nn) {
            if (nn <= 1024 || ou >= 4 * SMS) {
                emu::launch(warp_rows(ou, 8), {256, 1, 1}, [&] { sum_rows_warp_f32(o, xx, ou, nn, scale, acc); });
            } else if (nn <= (1 << 16) || ou >= SMS) {
                emu::launch({(unsigned)ou, 1, 1}, {256, 1, 1}, [&] { sum_rows_block_f32(o, xx, ou, nn, scale, acc); });
            } else {
                long long parts = (nn + 4095) / 4096;
                if (parts > 1024) parts = 1024;
                long long chunk = (nn + parts - 1) / parts;
                std::vector<float> part(ou * parts);
                emu::launch({(unsigned)parts, (unsigned)ou, 1}, {256, 1, 1},
                            [&] { sum_partial_f32(part.data(), xx, nn, chunk); });
                rows(o, part.data(), ou, parts);
            }
        };
        rows(out, x, outer, n);
        return;
    }
    emu::launch({(unsigned)((inner + 31) / 32), (unsigned)outer, 1}, {32, 8, 1},
                [&] { sum_cols_f32(out, x, n, inner, scale, acc); });
}

static void test_reduce() {
    struct S { long long outer, n, inner; } shapes[] = {{1, 1, 1},   {1, 100003, 1}, {3, 5000, 1}, {1000, 10, 1},
                                                     {1, 128, 70}, {7, 33, 65},     {2, 3, 301},  {5, 70000, 1}};
    for (auto s : shapes) {
        const long long outer = s.outer, n = s.n, inner = s.inner;
        auto x = randn(7, outer * n * inner);
        for (int acc = 0; acc < 2; ++acc) {
            auto o0 = randn(8, outer * inner);
            std::vector<float> out = o0;
            sum_forward(out.data(), x.data(), outer, n, inner, 0.5f, acc);
            std::vector<double> want(outer * inner);
            for (long long o = 0; o < outer; ++o)
                for (long long i = 0; i < inner; ++i) {
                    double t = 0;
                    for (long long kk = 0; kk < n; ++kk) t += x[(o * n + kk) * inner + i];
                    want[o * inner + i] = (acc ? o0[o * inner + i] : 0.0) + 0.5 * t;
                }
            check("sum " + std::to_string(outer) + "x" + std::to_string(n) + "x" + std::to_string(inner), out.data(),
                  want, 1e-6 * std::sqrt((double)n) + 1e-5, 1e-5);
        }
        // max with ties and a NaN
        std::vector<float> xq(x.size());
        for (size_t i = 0; i < x.size(); ++i) xq[i] = std::round(x[i] * 2);
        if (xq.size() > 10) xq[xq.size() / 2] = NAN;
        std::vector<float> out(outer * inner), am(outer * inner);
        if (inner == 1 && n >= 64)
            emu::launch(warp_rows(outer, 8), {256, 1, 1}, [&] { max_rows_warp_f32(out.data(), am.data(), xq.data(), outer, n); });
        else
            emu::launch(grid1(outer * inner), {256, 1, 1},
                        [&] { max_forward_f32(out.data(), am.data(), xq.data(), outer, n, inner); });
        std::vector<double> wv(outer * inner), wa(outer * inner);
        for (long long o = 0; o < outer; ++o)
            for (long long i = 0; i < inner; ++i) {
                float best = xq[o * n * inner + i];
                long long arg = 0;
                for (long long kk = 1; kk < n; ++kk) {
                    float v = xq[(o * n + kk) * inner + i];
                    if (v > best || (std::isnan(v) && !std::isnan(best))) { best = v; arg = kk; }
                }
                wv[o * inner + i] = best;
                wa[o * inner + i] = (double)arg;
            }
        std::string what = std::to_string(outer) + "x" + std::to_string(n) + "x" + std::to_string(inner);
        check("max " + what, out.data(), wv, 0, 0);
        check("argmax " + what, am.data(), wa, 0, 0);
    }
    // sum of squares (double)
    for (long long n : {1LL, 31LL, 100003LL}) {
        auto x = randn(9, n);
        dim3 g = grid1(n);
        std::vector<double> part(g.x + 1);
        emu::launch(g, {256, 1, 1}, [&] { sum_squares_partial_f32(part.data(), x.data(), n); });
        emu::launch({1, 1, 1}, {1024, 1, 1}, [&] { sum_squares_finish_f64(part.data() + g.x, part.data(), g.x); });
        double want = 0;
        for (float v : x) want += (double)v * v;
        std::vector<float> got{(float)part[g.x]};
        check("sum_squares " + std::to_string(n), got.data(), {want}, 0, 1e-6);
    }
}

// ---- softmax family --------------------------------------------------------------------------

static void test_softmax() {
    struct S { long long rows, cols; } shapes[] = {{1, 1}, {3, 7}, {33, 65}, {128, 10}, {5, 1000}};
    for (auto s : shapes) {
        const long long rows = s.rows, cols = s.cols, n = rows * cols;
        auto x = randn(11, n, 3.0f);
        std::vector<float> t(rows);
        for (long long r = 0; r < rows; ++r) t[r] = (float)((r * 7) % cols);
        std::vector<float> y(n), ly(n), loss(rows), probs(n);
        dim3 g = warp_rows(rows, 4), b = {128, 1, 1};
        emu::launch(g, b, [&] { softmax_forward_f32(y.data(), x.data(), rows, cols); });
        emu::launch(g, b, [&] { log_softmax_forward_f32(ly.data(), x.data(), rows, cols); });
        emu::launch(g, b, [&] { softmax_xent_forward_f32(loss.data(), probs.data(), x.data(), t.data(), rows, cols); });
        std::vector<double> wy(n), wly(n), wl(rows);
        for (long long r = 0; r < rows; ++r) {
            double m = -INFINITY, sum = 0;
            for (long long j = 0; j < cols; ++j) m = std::max(m, (double)x[r * cols + j]);
            for (long long j = 0; j < cols; ++j) sum += std::exp(x[r * cols + j] - m);
            for (long long j = 0; j < cols; ++j) {
                wy[r * cols + j] = std::exp(x[r * cols + j] - m) / sum;
                wly[r * cols + j] = x[r * cols + j] - m - std::log(sum);
            }
            wl[r] = m + std::log(sum) - x[r * cols + (long long)t[r]];
        }
        std::string what = std::to_string(rows) + "x" + std::to_string(cols);
        check("softmax " + what, y.data(), wy, 1e-7, 1e-5);
        check("log_softmax " + what, ly.data(), wly, 1e-5, 1e-5);
        check("xent probs " + what, probs.data(), wy, 1e-7, 1e-5);
        check("xent loss " + what, loss.data(), wl, 1e-5, 1e-5);
        auto dy = randn(12, n);
        std::vector<float> dx(n), dxl(n), dxe(n);
        emu::launch(g, b, [&] { softmax_backward_f32(dx.data(), y.data(), dy.data(), rows, cols, 0); });
        emu::launch(g, b, [&] { log_softmax_backward_f32(dxl.data(), ly.data(), dy.data(), rows, cols, 0); });
        auto dl = randn(13, rows);
        emu::launch(g, b, [&] { softmax_xent_backward_f32(dxe.data(), probs.data(), t.data(), dl.data(), rows, cols, 0); });
        std::vector<double> w1(n), w2(n), w3(n);
        for (long long r = 0; r < rows; ++r) {
            double dot = 0, s2 = 0;
            for (long long j = 0; j < cols; ++j) {
                dot += (double)y[r * cols + j] * dy[r * cols + j];
                s2 += dy[r * cols + j];
            }
            for (long long j = 0; j < cols; ++j) {
                long long k = r * cols + j;
                w1[k] = y[k] * (dy[k] - dot);
                w2[k] = dy[k] - std::exp((double)ly[k]) * s2;
                w3[k] = dl[r] * (probs[k] - (j == (long long)t[r] ? 1.0 : 0.0));
            }
        }
        check("softmax_backward " + what, dx.data(), w1, 1e-5, 1e-5);
        check("log_softmax_backward " + what, dxl.data(), w2, 1e-5 * std::sqrt((double)cols), 1e-5);
        check("xent_backward " + what, dxe.data(), w3, 1e-6, 1e-6);
    }
}

// ---- batch norm, broadcast reductions, transpose, gather, dropout ------------------------------

static void test_misc() {
    struct S { long long rows, cols; } shapes[] = {{2, 1}, {3, 7}, {257, 65}, {1000, 3}};
    for (auto s : shapes) {
        const long long rows = s.rows, cols = s.cols, n = rows * cols;
        auto x = randn(21, n, 2.0f), gamma = randn(22, cols), beta = randn(23, cols), dy = randn(24, n);
        std::vector<float> y(n), mean(cols), var(cols);
        dim3 g = {(unsigned)((cols + 31) / 32), 1, 1}, b = {32, 8, 1};
        emu::launch(g, b, [&] {
            batchnorm_forward_train_f32(y.data(), mean.data(), var.data(), x.data(), gamma.data(), beta.data(), rows, cols,
                                        1e-5f);
        });
        std::vector<double> wm(cols), wv(cols), wy(n), wdx(n), wdg(cols), wdb(cols);
        for (long long j = 0; j < cols; ++j) {
            double mu = 0, v = 0;
            for (long long i = 0; i < rows; ++i) mu += x[i * cols + j];
            mu /= rows;
            for (long long i = 0; i < rows; ++i) v += (x[i * cols + j] - mu) * (x[i * cols + j] - mu);
            v /= rows;
            wm[j] = mu;
            wv[j] = v;
            double inv = 1 / std::sqrt(v + 1e-5), sdy = 0, sdyx = 0;
            for (long long i = 0; i < rows; ++i) {
                double xh = (x[i * cols + j] - mu) * inv;
                wy[i * cols + j] = gamma[j] * xh + beta[j];
                sdy += dy[i * cols + j];
                sdyx += dy[i * cols + j] * xh;
            }
            wdb[j] = sdy;
            wdg[j] = sdyx;
            for (long long i = 0; i < rows; ++i) {
                double xh = (x[i * cols + j] - mu) * inv;
                wdx[i * cols + j] = gamma[j] * inv / rows * (rows * dy[i * cols + j] - sdy - xh * sdyx);
            }
        }
        std::string what = std::to_string(rows) + "x" + std::to_string(cols);
        check("bn mean " + what, mean.data(), wm, 1e-5, 1e-5);
        check("bn var " + what, var.data(), wv, 1e-5, 1e-4);
        check("bn y " + what, y.data(), wy, 1e-4, 1e-4);
        std::vector<float> dx(n), dg(cols), db(cols);
        emu::launch(g, b, [&] {
            batchnorm_backward_f32(dx.data(), dg.data(), db.data(), x.data(), mean.data(), var.data(), gamma.data(),
                                   dy.data(), rows, cols, 1e-5f, 0, 0, 0);
        });
        check("bn dx " + what, dx.data(), wdx, 1e-3, 1e-3);
        check("bn dgamma " + what, dg.data(), wdg, 1e-3, 1e-4);
        check("bn dbeta " + what, db.data(), wdb, 1e-4, 1e-5);
        // d(a·b)/db with b broadcast along rows (Row), columns (Col) and as a scalar.
        auto a = randn(25, n), brow = randn(26, cols), bcol = randn(27, rows), bs = randn(28, 1);
        std::vector<float> dbr(cols), dbc(rows), dba(1);
        emu::launch(g, b, [&] { binary_backward_b_row_f32(dbr.data(), a.data(), brow.data(), dy.data(), rows, cols, 2, 0); });
        emu::launch(warp_rows(rows, 8), {256, 1, 1},
                    [&] { binary_backward_b_col_f32(dbc.data(), a.data(), bcol.data(), dy.data(), rows, cols, 2, 0); });
        emu::launch({1, 1, 1}, {1024, 1, 1}, [&] { binary_backward_b_all_f32(dba.data(), a.data(), bs.data(), dy.data(), n, 2, 0); });
        std::vector<double> wr(cols, 0.0), wc(rows, 0.0), wa(1, 0.0);
        for (long long i = 0; i < rows; ++i)
            for (long long j = 0; j < cols; ++j) {
                double v = (double)dy[i * cols + j] * a[i * cols + j];
                wr[j] += v;
                wc[i] += v;
                wa[0] += v;
            }
        check("db row " + what, dbr.data(), wr, 1e-4, 1e-5);
        check("db col " + what, dbc.data(), wc, 1e-4, 1e-5);
        check("db all " + what, dba.data(), wa, 1e-3, 1e-5);
        // transpose and gather
        std::vector<float> tr(n);
        emu::launch({(unsigned)((cols + 31) / 32), (unsigned)((rows + 31) / 32), 1}, {32, 8, 1},
                    [&] { transpose_forward_f32(tr.data(), x.data(), rows, cols); });
        std::vector<double> wt(n);
        for (long long i = 0; i < rows; ++i)
            for (long long j = 0; j < cols; ++j) wt[j * rows + i] = x[i * cols + j];
        check("transpose " + what, tr.data(), wt, 0, 0);
        std::vector<float> idx = {(float)(rows - 1), 0.0f, (float)(rows / 2), (float)rows, -1.0f};
        std::vector<float> gout(idx.size() * cols);
        emu::launch(grid1(gout.size()), {256, 1, 1},
                    [&] { gather_rows_forward_f32(gout.data(), x.data(), idx.data(), idx.size(), cols, rows); });
        std::vector<double> wg(gout.size());
        for (size_t r = 0; r < idx.size(); ++r)
            for (long long j = 0; j < cols; ++j)
                wg[r * cols + j] = idx[r] >= 0 && idx[r] < rows ? x[(long long)idx[r] * cols + j] : NAN;
        check("gather " + what, gout.data(), wg, 0, 0);
    }
    // The counter RNG against values computed independently (Python, and kernels/tests/
    // nvrtc_compile.rs checks the same values against kernels/src/rng.rs).
    const unsigned long long want[3] = {0xa12392ab8d8b263dULL, 0xf062a853731c222fULL, 0xa78c1b821387e72dULL};
    const unsigned long long got[3] = {nr_bits(7, 0), nr_bits(7, 1), nr_bits(123456789, 987654321)};
    for (int i = 0; i < 3; ++i)
        if (got[i] != want[i]) {
            std::printf("FAIL rng: nr_bits case %d = %016llx, want %016llx\n", i, got[i], want[i]);
            ++failures;
        }
    // Dropout: keep rate and scale.
    const long long n = 20000;
    std::vector<float> x(n, 1.0f), y(n), mask(n);
    emu::launch(grid1(n), {256, 1, 1}, [&] { dropout_forward_f32(y.data(), mask.data(), x.data(), n, 0.3f, 1.0f / 0.7f, 42, 5); });
    long long kept = 0;
    for (long long i = 0; i < n; ++i) {
        bool keep = nr_uniform_f32(42, 5 + i) >= 0.3f;
        kept += keep;
        if (mask[i] != (keep ? 1.0f / 0.7f : 0.0f) || y[i] != mask[i]) {
            std::printf("FAIL dropout element %lld\n", i);
            ++failures;
            break;
        }
    }
    if (std::fabs(kept / (double)n - 0.7) > 0.02) {
        std::printf("FAIL dropout keep rate %f\n", kept / (double)n);
        ++failures;
    }
}

int main(int argc, char** argv) {
    std::string only = argc > 1 ? argv[1] : "";
    if (only.empty() || only == "gemm") test_gemm();
    if (only.empty() || only == "reduce") test_reduce();
    if (only.empty() || only == "softmax") test_softmax();
    if (only.empty() || only == "misc") test_misc();
    std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "ok", failures);
    return failures ? 1 : 0;
}
