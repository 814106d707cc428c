//! Gaussian-process Bayesian optimization with expected improvement, for small continuous
//! spaces: Jones, Schonlau & Welch, "Efficient Global Optimization of Expensive Black-Box
//! Functions" (1998), with the Matérn 5/2 kernel and the fitted hyperparameters recommended by
//! Snoek, Larochelle & Adams, "Practical Bayesian Optimization of Machine Learning Algorithms"
//! (NeurIPS 2012).
//!
//! - Inputs: every parameter mapped to [0, 1] on its own scale (log for log-scaled ones);
//!   a choice becomes its position in the list and an absent conditional parameter 0.5 — an
//!   approximation, which is why TPE is the sampler for spaces with choices and conditions.
//! - Outputs: the objective as a loss (negated when maximizing), standardized.
//! - Kernel: Matérn 5/2 with one length scale per input (ARD) and a noise term. The signal
//!   variance has a closed-form maximum of the marginal likelihood given the rest; length
//!   scales and noise are fitted by maximizing the log marginal likelihood over a grid
//!   (shared length scale × noise), then two rounds of per-input refinement. Everything is
//!   f64 with a hand-written Cholesky factorization (a study has at most a few hundred trials).
//! - Acquisition: expected improvement with ξ = 0.01 over 1,000 uniform candidates plus 250
//!   perturbations of the five best trials; running trials are constant liars at the worst
//!   loss seen.

use neurite_kernels::rng::Rng;

use super::super::space::{Params, Space};
use super::super::study::TrialState;
use super::random::sample as random_sample;
use super::{SampleContext, n_complete, norm_cdf, norm_pdf, ranked};

const XI: f64 = 0.01;
const SALT: u64 = 0x69_0000;

/// A trial's parameters as a point of [0, 1]^d (absent parameters at 0.5).
pub fn encode(space: &Space, p: &Params) -> Vec<f64> {
    space
        .params
        .iter()
        .map(|q| {
            p.get(&q.name)
                .and_then(|v| q.dist.to_unit(v))
                .unwrap_or(0.5)
        })
        .collect()
}

pub fn sample(ctx: &SampleContext, seed: u64, startup: usize) -> Params {
    let space = ctx.space;
    if n_complete(ctx.trials) < startup.max(2) || space.params.is_empty() {
        return random_sample(space, seed, ctx.id);
    }
    let mut x: Vec<Vec<f64>> = Vec::new();
    let mut y: Vec<f64> = Vec::new();
    for (t, loss) in ranked(ctx.trials, ctx.minimize) {
        if let Some(l) = loss {
            x.push(encode(space, &t.params));
            y.push(l);
        }
    }
    let n_obs = y.len();
    let worst = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for t in ctx.trials.iter().filter(|t| t.state == TrialState::Running) {
        x.push(encode(space, &t.params));
        y.push(worst);
    }
    let gp = Gp::fit(&x, &y);
    let best = gp.ys[..n_obs].iter().copied().fold(f64::INFINITY, f64::min);
    let d = space.params.len();
    let mut rng = Rng::new(seed ^ SALT).fork(ctx.id);
    let mut cands: Vec<Vec<f64>> = (0..1000)
        .map(|_| (0..d).map(|_| rng.next_f64()).collect())
        .collect();
    for xi in x.iter().take(5.min(n_obs)) {
        for _ in 0..50 {
            cands.push(
                xi.iter()
                    .map(|&v| (v + 0.05 * rng.normal()).clamp(0.0, 1.0))
                    .collect(),
            );
        }
    }
    let mut top = (f64::NEG_INFINITY, 0usize);
    for (i, c) in cands.iter().enumerate() {
        let (mu, var) = gp.predict(c);
        let ei = expected_improvement(best, mu, var.sqrt());
        if ei > top.0 {
            top = (ei, i);
        }
    }
    let chosen = &cands[top.1];
    space.draw(|p, _| {
        let i = space
            .params
            .iter()
            .position(|q| q.name == p.name)
            .unwrap_or(0);
        p.dist.from_unit(chosen[i])
    })
}

/// EI of a minimization at a point with posterior mean `mu` and deviation `sigma`.
pub fn expected_improvement(best: f64, mu: f64, sigma: f64) -> f64 {
    let imp = best - mu - XI;
    if sigma < 1e-12 {
        return imp.max(0.0);
    }
    let z = imp / sigma;
    imp * norm_cdf(z) + sigma * norm_pdf(z)
}

fn matern52(a: &[f64], b: &[f64], ls: &[f64]) -> f64 {
    let r2: f64 = a
        .iter()
        .zip(b)
        .zip(ls)
        .map(|((x, y), l)| ((x - y) / l).powi(2))
        .sum();
    let s = (5.0 * r2).sqrt();
    (1.0 + s + s * s / 3.0) * (-s).exp()
}

/// Lower-triangular Cholesky factor of the n×n row-major `a` (None when not positive
/// definite).
pub(crate) fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solve L Lᵀ x = b.
fn chol_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut z = b.to_vec();
    for i in 0..n {
        let mut s = z[i];
        for k in 0..i {
            s -= l[i * n + k] * z[k];
        }
        z[i] = s / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = z[i];
        for k in i + 1..n {
            s -= l[k * n + i] * z[k];
        }
        z[i] = s / l[i * n + i];
    }
    z
}

/// A fitted GP on standardized outputs.
pub(crate) struct Gp {
    x: Vec<Vec<f64>>,
    /// The standardized outputs.
    pub ys: Vec<f64>,
    ls: Vec<f64>,
    /// The fitted noise share (read by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    noise: f64,
    amp: f64,
    chol: Vec<f64>,
    alpha: Vec<f64>,
}

struct Fit {
    lml: f64,
    chol: Vec<f64>,
    alpha: Vec<f64>,
    amp: f64,
}

fn fit_at(x: &[Vec<f64>], y: &[f64], ls: &[f64], noise: f64) -> Option<Fit> {
    let n = x.len();
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v = matern52(&x[i], &x[j], ls);
            k[i * n + j] = v;
            k[j * n + i] = v;
        }
        k[i * n + i] += noise + 1e-9;
    }
    let chol = cholesky(&k, n)?;
    let alpha = chol_solve(&chol, n, y);
    // Profile likelihood: the amplitude that maximizes it is yᵀK⁻¹y / n.
    let amp = (y.iter().zip(&alpha).map(|(a, b)| a * b).sum::<f64>() / n as f64).max(1e-12);
    let logdet: f64 = (0..n).map(|i| chol[i * n + i].ln()).sum::<f64>() * 2.0;
    let lml = -0.5 * n as f64 * amp.ln() - 0.5 * logdet;
    Some(Fit {
        lml,
        chol,
        alpha,
        amp,
    })
}

impl Gp {
    /// Fit to points `x` in [0, 1]^d and losses `y`.
    pub fn fit(x: &[Vec<f64>], y: &[f64]) -> Gp {
        let d = x.first().map_or(0, Vec::len);
        let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
        let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / y.len().max(1) as f64)
            .sqrt()
            .max(1e-12);
        let ys: Vec<f64> = y.iter().map(|v| (v - mean) / sd).collect();
        let mut best: Option<(Fit, Vec<f64>, f64)> = None;
        let consider = |ls: Vec<f64>, noise: f64, best: &mut Option<(Fit, Vec<f64>, f64)>| {
            if let Some(f) = fit_at(x, &ys, &ls, noise)
                && best.as_ref().is_none_or(|b| f.lml > b.0.lml)
            {
                *best = Some((f, ls, noise));
            }
        };
        for l in [0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 2.0] {
            for noise in [1e-6, 1e-4, 1e-3, 1e-2, 0.1, 0.3] {
                consider(vec![l; d], noise, &mut best);
            }
        }
        for _ in 0..2 {
            for j in 0..d {
                let Some((_, ls, noise)) = best.as_ref().map(|b| (0, b.1.clone(), b.2)) else {
                    break;
                };
                for m in [0.3, 0.6, 1.6, 3.0, 10.0] {
                    let mut l2 = ls.clone();
                    l2[j] = (l2[j] * m).clamp(0.02, 50.0);
                    consider(l2, noise, &mut best);
                }
            }
        }
        match best {
            Some((f, ls, noise)) => Gp {
                x: x.to_vec(),
                ys,
                ls,
                noise,
                amp: f.amp,
                chol: f.chol,
                alpha: f.alpha,
            },
            // Not even the noisiest kernel factorized (duplicate points with NaNs): a flat
            // prior that makes EI uniform.
            None => Gp {
                x: Vec::new(),
                ys,
                ls: vec![1.0; d],
                noise: 1.0,
                amp: 1.0,
                chol: Vec::new(),
                alpha: Vec::new(),
            },
        }
    }

    /// Posterior mean and variance of the latent function (standardized units).
    pub fn predict(&self, p: &[f64]) -> (f64, f64) {
        let n = self.x.len();
        if n == 0 {
            return (0.0, 1.0);
        }
        let k: Vec<f64> = self.x.iter().map(|xi| matern52(xi, p, &self.ls)).collect();
        let mu = k.iter().zip(&self.alpha).map(|(a, b)| a * b).sum();
        // v = L⁻¹ k; var = amp (1 − vᵀv).
        let mut v = k.clone();
        for i in 0..n {
            let row = &self.chol[i * n..i * n + i];
            let s = v[i] - row.iter().zip(&v[..i]).map(|(a, b)| a * b).sum::<f64>();
            v[i] = s / self.chol[i * n + i];
        }
        let var = self.amp * (1.0 - v.iter().map(|a| a * a).sum::<f64>()).max(1e-12);
        (mu, var)
    }

    /// The fitted noise share (for tests).
    #[cfg(test)]
    fn noise(&self) -> f64 {
        self.noise
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{best_of, num, space};
    use super::*;

    #[test]
    fn cholesky_solves() {
        let a = [4.0, 2.0, 0.6, 2.0, 5.0, 1.0, 0.6, 1.0, 3.0];
        let l = cholesky(&a, 3).unwrap();
        let x = chol_solve(&l, 3, &[1.0, 2.0, 3.0]);
        for i in 0..3 {
            let r: f64 = (0..3).map(|j| a[i * 3 + j] * x[j]).sum();
            assert!((r - [1.0, 2.0, 3.0][i]).abs() < 1e-12);
        }
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }

    #[test]
    fn posterior_interpolates_and_is_uncertain_far_away() {
        let x: Vec<Vec<f64>> = (0..8).map(|i| vec![i as f64 / 7.0]).collect();
        let y: Vec<f64> = x.iter().map(|p| (6.0 * p[0]).sin()).collect();
        let gp = Gp::fit(&x, &y);
        assert!(gp.noise() < 0.05, "noise-free data fits a small noise");
        let (mu, var) = gp.predict(&[3.0 / 7.0]);
        assert!((mu - gp.ys[3]).abs() < 0.05 && var < 0.05, "{mu} {var}");
        let (_, far) = gp.predict(&[0.5 / 7.0]);
        assert!(far > var);
    }

    #[test]
    fn beats_random_search_on_a_small_continuous_space() {
        let s = space(
            "x.a: {type: uniform, low: -5.0, high: 10.0}\n\
             x.b: {type: uniform, low: 0.0, high: 15.0}\n\
             lr: {type: log_uniform, low: 1.0e-5, high: 1.0}",
        );
        let f = |p: &Params| {
            let (x, y) = (num(p, "x.a"), num(p, "x.b"));
            let pi = std::f64::consts::PI;
            (y - 5.1 / (4.0 * pi * pi) * x * x + 5.0 / pi * x - 6.0).powi(2)
                + 10.0 * (1.0 - 1.0 / (8.0 * pi)) * x.cos()
                + 10.0
                + 5.0 * (num(p, "lr").log10() + 2.0).powi(2)
        };
        let seeds = 10;
        let mut wins = 0;
        for seed in 0..seeds {
            wins +=
                usize::from(best_of("gp", &s, &f, 30, seed) <= best_of("random", &s, &f, 30, seed));
        }
        assert!(wins >= 8, "GP won {wins}/{seeds}");
    }
}
