//! CPU kernels, one folder per family. Each family has `reference.rs` (plain generic loops, the
//! oracle, generic over `f32`/`f64`), `simd.rs` (where it has SIMD tiers: one generic body over
//! [`crate::simd::Simd`]) and `mod.rs` (the `f32` entry points: `<op>` dispatches through a
//! function table chosen once per process in a `OnceLock` from [`crate::isa::active`];
//! `<op>_isa` takes an explicit tier, for tests and benchmarks).

/// Instantiate a generic SIMD body `$($body)::+::<S>` for every tier as `#[target_feature]`
/// wrappers, in a module `$name` with `pick(isa)` returning the tier's entry point.
macro_rules! simd_tiers {
    ($name:ident: fn($($a:ident: $t:ty),* $(,)?) $(-> $r:ty)? => $($body:ident)::+) => {
        #[allow(non_camel_case_types, clippy::too_many_arguments)]
        pub(crate) mod $name {
            #[allow(unused_imports)]
            use super::*;
            pub(crate) type F = unsafe fn($($t),*) $(-> $r)?;
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx2,fma")]
            unsafe fn avx512($($a: $t),*) $(-> $r)? {
                unsafe { $($body)::+::<crate::simd::x86::Avx512>($($a),*) }
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2($($a: $t),*) $(-> $r)? {
                unsafe { $($body)::+::<crate::simd::x86::Avx2>($($a),*) }
            }
            unsafe fn portable($($a: $t),*) $(-> $r)? {
                unsafe { $($body)::+::<crate::simd::portable::Portable>($($a),*) }
            }
            /// The entry point of a SIMD tier (`Reference` maps to portable; callers handle it).
            pub(crate) fn pick(isa: crate::isa::Isa) -> F {
                match isa {
                    #[cfg(target_arch = "x86_64")]
                    crate::isa::Isa::Avx512 => avx512,
                    #[cfg(target_arch = "x86_64")]
                    crate::isa::Isa::Avx2 => avx2,
                    _ => portable,
                }
            }
        }
    };
}

/// Panic unless this CPU can run `isa` (the SIMD entry points are only sound on it).
#[inline]
pub(crate) fn check_isa(isa: crate::isa::Isa) {
    assert!(
        isa.is_supported(),
        "ISA tier {isa} is not supported by this CPU"
    );
}

pub mod activation;
pub mod batchnorm;
pub mod dropout;
pub mod elementwise;
pub mod loss;
pub mod matmul;
pub mod optim;
pub mod reduce;
pub mod softmax;

pub use activation::Activation;
