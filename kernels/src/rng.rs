//! Counter-based random numbers: value `i` of stream `seed` is a pure function of `(seed, i)`.
//!
//! Why counter-based: dropout masks and weight initialisation must be identical on CPU and GPU
//! and reproducible from a seed and an offset alone (no hidden generator state to checkpoint).
//! The mixer is SplitMix64's finaliser (Steele, Lea, Flood 2014) applied to
//! `seed·K1 ^ (i + 1)·K2` (wrapping products); the CUDA kernels use the same function
//! (`kernels/src/cuda/common.cuh`), and the x86 SIMD tiers compute it 8 or 4 counters at a time
//! for dropout (`simd/x86.rs`, `Simd::dropout_keep`).

pub(crate) const K1: u64 = 0x9E37_79B9_7F4A_7C15;
pub(crate) const K2: u64 = 0xD1B5_4A32_D192_ED03;
/// SplitMix64's two finaliser multipliers (`mix64`).
pub(crate) const M1: u64 = 0xBF58_476D_1CE4_E5B9;
pub(crate) const M2: u64 = 0x94D0_49BB_1331_11EB;

#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(M1);
    z = (z ^ (z >> 27)).wrapping_mul(M2);
    z ^ (z >> 31)
}

/// 64 random bits for counter `i` of stream `seed`.
#[inline(always)]
pub fn bits(seed: u64, i: u64) -> u64 {
    mix64(seed.wrapping_mul(K1) ^ i.wrapping_add(1).wrapping_mul(K2))
}

/// Uniform in [0, 1) with 24 random bits (exactly representable in f32).
#[inline(always)]
pub fn uniform_f32(seed: u64, i: u64) -> f32 {
    (bits(seed, i) >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

/// The integer form of `uniform_f32(seed, i) >= p`: `bits(seed, i) >> 40 >= keep_threshold(p)`.
/// `uniform_f32` is `v·2⁻²⁴` for the integer `v = bits >> 40 < 2²⁴`, exactly, and `p·2²⁴` is
/// exact in `f64`, so `v·2⁻²⁴ ≥ p ⟺ v ≥ ⌈p·2²⁴⌉`. NaN or `p ≥ 1` gives `2²⁴` (never kept, as
/// `u ≥ NaN` is false), `p ≤ 0` gives 0 (always kept). SIMD dropout compares on this.
pub fn keep_threshold(p: f32) -> u64 {
    const ONE: u64 = 1 << 24;
    if p.is_nan() || p >= 1.0 {
        ONE
    } else if p <= 0.0 {
        0
    } else {
        ((p as f64 * ONE as f64).ceil() as u64).min(ONE)
    }
}

/// Uniform in [0, 1) with 53 random bits.
#[inline(always)]
pub fn uniform_f64(seed: u64, i: u64) -> f64 {
    (bits(seed, i) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A sequential generator over the counter stream; its whole state is `(seed, counter)`, so it
/// serialises into checkpoints as two integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    pub seed: u64,
    pub counter: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { seed, counter: 0 }
    }

    /// An independent stream derived from this generator's seed and a label.
    pub fn fork(&self, label: u64) -> Rng {
        Rng::new(mix64(self.seed ^ mix64(label.wrapping_add(K2))))
    }

    pub fn next_u64(&mut self) -> u64 {
        let v = bits(self.seed, self.counter);
        self.counter = self.counter.wrapping_add(1);
        v
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (n > 0), without modulo bias (Lemire's method).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        loop {
            let x = self.next_u64();
            let m = (x as u128) * (n as u128);
            let low = m as u64;
            if low >= n.wrapping_neg() % n {
                return (m >> 64) as u64;
            }
        }
    }

    /// Standard normal by Box-Muller (both values are used, so no draw is wasted across calls).
    pub fn normal(&mut self) -> f64 {
        loop {
            let u1 = self.next_f64();
            let u2 = self.next_f64();
            if u1 > 0.0 {
                return (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            }
        }
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_moments() {
        let n = 200_000u64;
        let mean: f64 = (0..n).map(|i| uniform_f64(7, i)).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        let f: f64 = (0..n).map(|i| uniform_f32(7, i) as f64).sum::<f64>() / n as f64;
        assert!((f - 0.5).abs() < 0.005);
    }

    #[test]
    fn normal_moments_and_determinism() {
        let mut r = Rng::new(42);
        let xs: Vec<f64> = (0..100_000).map(|_| r.normal()).collect();
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64;
        assert!(m.abs() < 0.02 && (v - 1.0).abs() < 0.02, "m {m} v {v}");
        let mut a = Rng::new(5);
        let mut b = Rng::new(5);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(Rng::new(5).next_u64(), Rng::new(6).next_u64());
    }

    #[test]
    fn below_is_in_range_and_shuffle_permutes() {
        let mut r = Rng::new(1);
        for n in [1u64, 2, 3, 10, 1000] {
            for _ in 0..1000 {
                assert!(r.below(n) < n);
            }
        }
        let mut v: Vec<u32> = (0..100).collect();
        r.shuffle(&mut v);
        let mut s = v.clone();
        s.sort();
        assert_eq!(s, (0..100).collect::<Vec<_>>());
        assert_ne!(v, s);
    }
}
