//! Instruction-set tiers and the once-per-process choice among them.
//!
//! Tiers, fastest first: AVX-512F, AVX2+FMA (both `core::arch` intrinsics behind
//! `#[target_feature]`, x86-64 only), `portable` (the `wide` crate: SSE2 on baseline x86-64,
//! NEON on aarch64) and `reference` (plain loops). The choice is made at run time, never by
//! `-C target-cpu`, so one binary runs on any x86-64 or aarch64 host.
//!
//! `NEURITE_ISA=reference|portable|avx2|avx512` forces a tier (tests use it to cover every tier on
//! one machine). Asking for a tier this CPU cannot run falls back to the best supported one with
//! a warning on stderr, rather than dying with SIGILL.

use std::fmt;
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    Reference,
    Portable,
    Avx2,
    Avx512,
}

impl Isa {
    pub const ALL: [Isa; 4] = [Isa::Reference, Isa::Portable, Isa::Avx2, Isa::Avx512];

    pub fn name(self) -> &'static str {
        match self {
            Isa::Reference => "reference",
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    pub fn parse(s: &str) -> Option<Isa> {
        match s.trim().to_ascii_lowercase().as_str() {
            "reference" | "scalar" => Some(Isa::Reference),
            "portable" | "wide" | "neon" | "sse2" => Some(Isa::Portable),
            "avx2" => Some(Isa::Avx2),
            "avx512" | "avx512f" => Some(Isa::Avx512),
            _ => None,
        }
    }

    /// Whether this CPU can execute the tier.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Reference | Isa::Portable => true,
            Isa::Avx2 => has_avx2_fma(),
            Isa::Avx512 => has_avx512f(),
        }
    }

    /// Every tier this CPU can run, slowest first.
    pub fn supported() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_supported()).collect()
    }

    /// The fastest tier this CPU supports.
    pub fn best() -> Isa {
        Isa::ALL
            .into_iter()
            .rev()
            .find(|i| i.is_supported())
            .unwrap_or(Isa::Reference)
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}
#[cfg(not(target_arch = "x86_64"))]
fn has_avx2_fma() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn has_avx512f() -> bool {
    std::arch::is_x86_feature_detected!("avx512f") && has_avx2_fma()
}
#[cfg(not(target_arch = "x86_64"))]
fn has_avx512f() -> bool {
    false
}

static ACTIVE: OnceLock<Isa> = OnceLock::new();

/// The tier every dispatching kernel uses in this process (chosen once).
pub fn active() -> Isa {
    *ACTIVE.get_or_init(|| choose(std::env::var("NEURITE_ISA").ok().as_deref()))
}

/// Pure choice logic, separated from the environment so it can be tested.
pub fn choose(requested: Option<&str>) -> Isa {
    match requested.filter(|s| !s.trim().is_empty()) {
        None => Isa::best(),
        Some(s) => match Isa::parse(s) {
            Some(isa) if isa.is_supported() => isa,
            Some(isa) => {
                let best = Isa::best();
                eprintln!("neurite: NEURITE_ISA={isa} is not supported by this CPU; using {best}");
                best
            }
            None => {
                let best = Isa::best();
                eprintln!(
                    "neurite: unknown NEURITE_ISA={s:?} (expected reference|portable|avx2|avx512); using {best}"
                );
                best
            }
        },
    }
}

/// Names of the x86 features relevant to neurite that this CPU has (for `neurite doctor`).
pub fn cpu_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut v: Vec<&'static str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! probe {
            ($($f:tt),*) => {$( if std::arch::is_x86_feature_detected!($f) { v.push($f); } )*};
        }
        probe!(
            "sse2", "sse4.1", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq",
            "avx512vl"
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        v.push("neon");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_choose() {
        assert_eq!(Isa::parse("AVX2"), Some(Isa::Avx2));
        assert_eq!(Isa::parse("bogus"), None);
        assert_eq!(choose(Some("reference")), Isa::Reference);
        assert_eq!(choose(Some("portable")), Isa::Portable);
        assert_eq!(choose(None), Isa::best());
        assert_eq!(choose(Some("nonsense")), Isa::best());
        assert!(choose(Some("avx512")).is_supported());
    }
}
