// cuda_emu.h: just enough of CUDA to run neurite's kernel sources on the host, for checking
// their indexing, tiling, barriers and boundary handling without a GPU
// (kernels/scripts/emulate-kernels.sh). One std::thread per CUDA thread, one block at a time;
// __syncthreads is a block barrier, warp shuffles exchange through per-warp barriers, and a
// thread that returns drops out of both (as exited threads do on the GPU). __shared__ becomes
// `static`, which is right because blocks run one after another.
//
// It says nothing about performance, and host math (expf, erff, ...) is not the device's.
#pragma once
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <math.h>
#include <memory>
#include <thread>
#include <vector>

using std::isnan;

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
struct uint3 {
    unsigned x, y, z;
};
struct alignas(16) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}

inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline dim3 blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

namespace emu {
struct Block {
    std::barrier<> all;
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    std::vector<uint64_t> slots;
    explicit Block(int n) : all(n), slots(n) {
        for (int w = 0; w < (n + 31) / 32; ++w) warps.emplace_back(new std::barrier<>(std::min(32, n - 32 * w)));
    }
};
inline thread_local Block* block;
inline thread_local int tid;

// Launch `kernel` (a callable running one thread's body) over grid × block.
inline void launch(dim3 grid, dim3 blk, const std::function<void()>& kernel) {
    gridDim = grid;
    blockDim = blk;
    const int n = blk.x * blk.y * blk.z;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                Block b(n);
                std::vector<std::thread> ts;
                ts.reserve(n);
                for (int t = 0; t < n; ++t) {
                    ts.emplace_back([&, t, bx, by, bz] {
                        block = &b;
                        tid = t;
                        blockIdx = {bx, by, bz};
                        threadIdx = {t % blk.x, (t / blk.x) % blk.y, t / (blk.x * blk.y)};
                        kernel();
                        b.all.arrive_and_drop();
                        b.warps[t / 32]->arrive_and_drop();
                    });
                }
                for (auto& t : ts) t.join();
            }
}
}  // namespace emu

inline void __syncthreads() { emu::block->all.arrive_and_wait(); }

template <class T>
T __shfl_xor_sync(unsigned, T v, int off) {
    static_assert(sizeof(T) <= 8, "shuffle width");
    emu::Block& b = *emu::block;
    const int lane = emu::tid & 31, base = emu::tid - lane;
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    b.slots[emu::tid] = bits;
    b.warps[emu::tid / 32]->arrive_and_wait();
    bits = b.slots[base + (lane ^ off)];
    b.warps[emu::tid / 32]->arrive_and_wait();
    T out;
    std::memcpy(&out, &bits, sizeof(T));
    return out;
}
