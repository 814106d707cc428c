//! Hyperparameter importances: permutation importance on a surrogate model (Breiman's
//! permutation importance, applied as in Hutter, Hoos & Leyton-Brown's analyses of
//! configuration spaces, with a Gaussian process as the surrogate instead of a random forest).
//!
//! A GP (the one of the GP sampler: Matérn 5/2, one length scale per parameter) is fitted to
//! the completed trials; a parameter's importance is how much the surrogate's squared error
//! on those trials grows when that parameter's column is shuffled (mean of 20 shuffles),
//! normalized to sum to 1. A parameter the objective does not depend on gets a long length
//! scale, so shuffling it changes nothing. Needs at least 5 completed trials.

use neurite_kernels::rng::Rng;

use super::samplers::gp::{Gp, encode};
use super::space::Space;
use super::study::{TrialRecord, TrialState};

pub const MIN_TRIALS: usize = 5;

/// (parameter, importance) for the parameters that vary, largest first.
pub fn importances(
    space: &Space,
    trials: &[TrialRecord],
    minimize: bool,
    seed: u64,
) -> Vec<(String, f64)> {
    let done: Vec<&TrialRecord> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.value.is_some_and(f64::is_finite))
        .collect();
    if done.len() < MIN_TRIALS {
        return Vec::new();
    }
    let x: Vec<Vec<f64>> = done.iter().map(|t| encode(space, &t.params)).collect();
    let y: Vec<f64> = done
        .iter()
        .map(|t| {
            let v = t.value.unwrap_or(0.0);
            if minimize { v } else { -v }
        })
        .collect();
    let gp = Gp::fit(&x, &y);
    let mse = |xs: &[Vec<f64>]| -> f64 {
        xs.iter()
            .zip(&gp.ys)
            .map(|(p, t)| (gp.predict(p).0 - t).powi(2))
            .sum::<f64>()
            / xs.len() as f64
    };
    let base = mse(&x);
    let mut rng = Rng::new(seed).fork(0x1A9);
    let mut out = Vec::new();
    for (j, p) in space.params.iter().enumerate() {
        let first = x[0][j];
        if x.iter().all(|r| r[j] == first) {
            continue;
        }
        let mut total = 0.0;
        for _ in 0..20 {
            let mut col: Vec<f64> = x.iter().map(|r| r[j]).collect();
            rng.shuffle(&mut col);
            let xs: Vec<Vec<f64>> = x
                .iter()
                .zip(&col)
                .map(|(r, &c)| {
                    let mut r = r.clone();
                    r[j] = c;
                    r
                })
                .collect();
            total += mse(&xs);
        }
        out.push((p.name.clone(), (total / 20.0 - base).max(0.0)));
    }
    let sum: f64 = out.iter().map(|x| x.1).sum();
    if sum > 0.0 {
        out.iter_mut().for_each(|x| x.1 /= sum);
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::super::samplers::random;
    use super::super::samplers::testing::{num, space};
    use super::*;

    #[test]
    fn the_parameter_that_matters_ranks_first() {
        let s = space(
            "lr: {type: log_uniform, low: 1.0e-4, high: 1.0}\n\
             dropout: {type: uniform, low: 0.0, high: 0.5}\n\
             x.noise: {type: uniform, low: 0.0, high: 1.0}",
        );
        let trials: Vec<TrialRecord> = (0..40)
            .map(|i| {
                let p = random::sample(&s, 4, i);
                let v = (num(&p, "lr").log10() + 2.0).powi(2) + 0.2 * num(&p, "dropout");
                let mut t = TrialRecord::new(i, p);
                t.state = TrialState::Complete;
                t.value = Some(v);
                t
            })
            .collect();
        let imp = importances(&s, &trials, true, 1);
        assert_eq!(imp[0].0, "lr", "{imp:?}");
        let get = |n: &str| imp.iter().find(|x| x.0 == n).unwrap().1;
        assert!(get("lr") > 0.6 && get("x.noise") < 0.1, "{imp:?}");
        assert!((imp.iter().map(|x| x.1).sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(importances(&s, &trials[..4], true, 1).is_empty());
    }
}
