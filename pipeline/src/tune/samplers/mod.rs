//! Samplers: how the next trial's hyperparameters are chosen.
//!
//! - [`grid`]: every combination of a discretized space, in a seeded order.
//! - [`random`]: independent draws from the priors, a function of (seed, trial id) only.
//! - [`tpe`]: the tree-structured Parzen estimator (Bergstra et al. 2011).
//! - [`gp`]: Gaussian-process regression with expected improvement (Jones et al. 1998,
//!   Snoek et al. 2012), for small continuous spaces.
//!
//! The model-based samplers start with `startup_trials` random trials. They see finished
//! trials and, so that parallel workers do not all propose the same point, running ones as
//! "constant liars" with the worst value seen (Ginsbourger et al. 2010).

pub mod gp;
pub mod grid;
pub mod random;
pub mod tpe;

use serde::{Deserialize, Serialize};

use super::space::{Params, Space};
use super::study::{TrialRecord, TrialState};
use crate::error::{Error, Result};

pub const KINDS: [&str; 4] = ["grid", "random", "tpe", "gp"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplerSettings {
    /// `grid`, `random`, `tpe` or `gp`.
    pub kind: String,
    pub seed: u64,
    /// Random trials before a model-based sampler takes over.
    pub startup_trials: usize,
    /// Points per continuous axis of the grid.
    pub grid_points: usize,
}

/// What a sampler sees: the space, the trials so far, the id to propose for, and whether
/// smaller objective values are better.
pub struct SampleContext<'a> {
    pub space: &'a Space,
    pub trials: &'a [TrialRecord],
    pub id: u64,
    pub minimize: bool,
}

/// The parameters of trial `ctx.id`.
pub fn sample(s: &SamplerSettings, ctx: &SampleContext) -> Result<Params> {
    match s.kind.as_str() {
        "random" => Ok(random::sample(ctx.space, s.seed, ctx.id)),
        "grid" => grid::sample(ctx.space, s.seed, ctx.id, s.grid_points)?.ok_or_else(|| {
            Error::Config(format!("trial {} is beyond the end of the grid", ctx.id))
        }),
        "tpe" => Ok(tpe::sample(ctx, s.seed, s.startup_trials)),
        "gp" => Ok(gp::sample(ctx, s.seed, s.startup_trials)),
        k => Err(Error::Config(format!(
            "unknown sampler {k:?} ({})",
            KINDS.join(", ")
        ))),
    }
}

/// Trials ordered best first for a model: completed ones by value, then pruned ones (those
/// that got further first), then running ones (the constant liar), then failed ones. Each
/// comes with its loss (the value, negated when maximizing) when it has one.
pub(crate) fn ranked(trials: &[TrialRecord], minimize: bool) -> Vec<(&TrialRecord, Option<f64>)> {
    let loss = |t: &TrialRecord| {
        t.value
            .filter(|v| v.is_finite())
            .map(|v| if minimize { v } else { -v })
    };
    let mut out: Vec<(u8, f64, &TrialRecord, Option<f64>)> = trials
        .iter()
        .map(|t| {
            let l = loss(t);
            let (group, key) = match (t.state, l) {
                (TrialState::Complete, Some(l)) => (0, l),
                (TrialState::Pruned, _) => (1, -(t.epochs_run as f64)),
                (TrialState::Running, _) => (2, 0.0),
                _ => (3, 0.0),
            };
            (group, key, t, l.filter(|_| group == 0))
        })
        .collect();
    out.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.id.cmp(&b.2.id))
    });
    out.into_iter().map(|(_, _, t, l)| (t, l)).collect()
}

/// Completed trials with a finite value.
pub(crate) fn n_complete(trials: &[TrialRecord]) -> usize {
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.value.is_some_and(f64::is_finite))
        .count()
}

/// FNV-1a, to give each parameter name its own random stream.
pub(crate) fn name_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Standard normal CDF (via erfc; Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
pub(crate) fn norm_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Standard normal density.
pub(crate) fn norm_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

#[cfg(test)]
pub(crate) mod testing {
    //! Cheap synthetic objectives to compare samplers without training anything.

    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::super::space::{Params, Space};
    use super::super::study::{TrialRecord, TrialState};
    use super::{SampleContext, SamplerSettings, sample};
    use crate::config::TrainConfig;

    pub fn space(yaml: &str) -> Space {
        let tree: BTreeMap<String, Value> = serde_yaml_ng::from_str(yaml).unwrap();
        Space::parse(&tree, "test", "space", &TrainConfig::default()).unwrap()
    }

    /// Run `n` trials of `kind` on `f` (minimized); the best value found.
    pub fn best_of(
        kind: &str,
        space: &Space,
        f: &dyn Fn(&Params) -> f64,
        n: usize,
        seed: u64,
    ) -> f64 {
        let s = SamplerSettings {
            kind: kind.into(),
            seed,
            startup_trials: 8,
            grid_points: 5,
        };
        let mut trials: Vec<TrialRecord> = Vec::new();
        for id in 0..n as u64 {
            let ctx = SampleContext {
                space,
                trials: &trials,
                id,
                minimize: true,
            };
            let p = sample(&s, &ctx).unwrap();
            let v = f(&p);
            let mut t = TrialRecord::new(id, p);
            t.state = TrialState::Complete;
            t.value = Some(v);
            trials.push(t);
        }
        trials
            .iter()
            .filter_map(|t| t.value)
            .fold(f64::INFINITY, f64::min)
    }

    pub fn num(p: &Params, k: &str) -> f64 {
        p.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf() {
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((norm_cdf(1.96) - 0.975_002_1).abs() < 1e-6);
        assert!((norm_cdf(-3.0) - 0.001_349_898).abs() < 1e-7);
    }
}
