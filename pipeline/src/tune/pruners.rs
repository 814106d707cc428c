//! Pruners stop hopeless trials early, from the monitored validation quantity per epoch.
//!
//! - `median` (Optuna's `MedianPruner`): after `warmup_epochs`, and once `startup_trials`
//!   trials have completed, a trial stops when its best value so far is worse than the median
//!   of the completed trials' best values up to the same epoch. (Best-so-far rather than the
//!   value at that epoch, because early stopping ends trials at different epochs.)
//! - `successive_halving`: asynchronous successive halving (ASHA; Li et al., "A System for
//!   Massively Parallel Hyperparameter Tuning", MLSys 2020): rungs at
//!   `min_epochs · η^k` epochs; at a rung a trial continues only if its best value so far is in
//!   the top 1/η of the values recorded at that rung by any trial (the first trials to reach
//!   a rung must be the best so far, as in Optuna, since a stopped trial cannot be resumed).
//! - `hyperband` (Li et al., "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
//!   Optimization", JMLR 2017): several successive-halving brackets, from aggressive (first
//!   rung at `min_epochs`) to none, each trial assigned to one by a seeded draw weighted by
//!   Hyperband's bracket sizes; trials compete within their bracket.
//! - `none`.
//!
//! The monitor is `val_loss` unless set (`pruner.monitor`: any per-epoch validation quantity,
//! `val_accuracy`, `val_r2` …): it exists for every task and moves smoothly, where the
//! accuracy of a small validation split moves in coarse steps. With cross-validation only the
//! first fold is pruned on (its curves are comparable across trials).

use serde::{Deserialize, Serialize};

use super::study::{TrialRecord, TrialState};
use crate::error::{Error, Result};

pub const KINDS: [&str; 4] = ["median", "successive_halving", "hyperband", "none"];

/// The `pruner:` settings (each kind reads the fields it needs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrunerSettings {
    /// `median`, `successive_halving`, `hyperband` or `none`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The per-epoch quantity compared: `auto` (`val_loss`) or a logged validation metric.
    pub monitor: String,
    /// `min` or `max` for the monitor (`auto`: max for accuracy-like metrics and R²).
    pub mode: String,
    /// median: epochs before any pruning.
    pub warmup_epochs: usize,
    /// median: completed trials needed before pruning.
    pub startup_trials: usize,
    /// successive halving, hyperband: epochs of the first rung.
    pub min_epochs: usize,
    /// successive halving, hyperband: η, the inverse of the share promoted at each rung.
    pub reduction_factor: usize,
}

impl Default for PrunerSettings {
    fn default() -> Self {
        PrunerSettings {
            kind: "median".into(),
            monitor: "auto".into(),
            mode: "auto".into(),
            warmup_epochs: 10,
            startup_trials: 5,
            min_epochs: 5,
            reduction_factor: 3,
        }
    }
}

impl PrunerSettings {
    pub fn validate(&self, at: &str) -> Result<()> {
        let bad = |m: String| Err(Error::Config(format!("{at}: {m}")));
        if !KINDS.contains(&self.kind.as_str()) {
            return bad(format!(
                "type: unknown pruner {:?} ({})",
                self.kind,
                KINDS.join(", ")
            ));
        }
        if !["auto", "min", "max"].contains(&self.mode.as_str()) {
            return bad(format!(
                "mode: expected auto, min or max, got {:?}",
                self.mode
            ));
        }
        if self.reduction_factor < 2 {
            return bad(format!(
                "reduction_factor must be at least 2, got {}",
                self.reduction_factor
            ));
        }
        if self.min_epochs < 1 {
            return bad("min_epochs must be at least 1".into());
        }
        Ok(())
    }

    /// The monitored quantity.
    pub fn monitor(&self) -> String {
        if self.monitor == "auto" {
            "val_loss".into()
        } else {
            self.monitor.clone()
        }
    }
}

/// A pruner for one study.
pub struct Pruner {
    pub settings: PrunerSettings,
    /// Whether smaller monitored values are better.
    pub minimize: bool,
    /// The epoch budget of a trial (the last rung is below it).
    pub max_epochs: usize,
    pub seed: u64,
}

/// The best value of `curve` up to `epoch` (None before its first point).
pub fn best_at(curve: &[(usize, f64)], epoch: usize, minimize: bool) -> Option<f64> {
    curve
        .iter()
        .filter(|(e, v)| *e <= epoch && v.is_finite())
        .map(|(_, v)| *v)
        .reduce(|a, b| if minimize { a.min(b) } else { a.max(b) })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

impl Pruner {
    pub fn new(settings: &PrunerSettings, max_epochs: usize, seed: u64) -> Pruner {
        let monitor = settings.monitor();
        let minimize = match settings.mode.as_str() {
            "min" => true,
            "max" => false,
            _ => !crate::train::callbacks::resolve_mode("auto", &monitor),
        };
        Pruner {
            settings: settings.clone(),
            minimize,
            max_epochs: max_epochs.max(1),
            seed,
        }
    }

    pub fn enabled(&self) -> bool {
        self.settings.kind != "none"
    }

    /// Hyperband's number of brackets − 1: ⌊log_η(max / min)⌋.
    fn s_max(&self) -> usize {
        let eta = self.settings.reduction_factor as f64;
        let ratio = self.max_epochs as f64 / self.settings.min_epochs as f64;
        if ratio < 1.0 {
            0
        } else {
            (ratio.ln() / eta.ln() + 1e-9).floor() as usize
        }
    }

    /// How many rungs a trial skips: 0 for successive halving; the trial's bracket for
    /// Hyperband (bracket s of Hyperband first stops trials after `min · η^s` epochs).
    pub fn bracket(&self, id: u64) -> usize {
        if self.settings.kind != "hyperband" {
            return 0;
        }
        let s_max = self.s_max();
        let eta = self.settings.reduction_factor as f64;
        // Bracket s (fewest rungs skipped = most aggressive) gets Hyperband's n_s trials.
        let weights: Vec<f64> = (0..=s_max)
            .map(|skip| {
                let s = s_max - skip;
                ((s_max + 1) as f64 / (s + 1) as f64 * eta.powi(s as i32)).ceil()
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let u = neurite_kernels::rng::uniform_f64(self.seed ^ 0x4B_0000, id) * total;
        let mut acc = 0.0;
        for (skip, w) in weights.iter().enumerate() {
            acc += w;
            if u < acc {
                return skip;
            }
        }
        s_max
    }

    /// The rung epochs of a trial.
    fn rungs(&self, id: u64) -> Vec<usize> {
        let eta = self.settings.reduction_factor;
        let mut r = self.settings.min_epochs;
        for _ in 0..self.bracket(id) {
            r = r.saturating_mul(eta);
        }
        let mut out = Vec::new();
        while r < self.max_epochs {
            out.push(r);
            r = r.saturating_mul(eta);
        }
        out
    }

    /// Whether `epoch` is a rung of trial `id` (its progress must then be published).
    pub fn is_rung(&self, id: u64, epoch: usize) -> bool {
        matches!(
            self.settings.kind.as_str(),
            "successive_halving" | "hyperband"
        ) && self.rungs(id).contains(&epoch)
    }

    /// Whether the pruner decides anything at this epoch (to avoid reading the study for
    /// nothing).
    pub fn due(&self, id: u64, epoch: usize) -> bool {
        match self.settings.kind.as_str() {
            "median" => epoch > self.settings.warmup_epochs,
            "successive_halving" | "hyperband" => self.is_rung(id, epoch),
            _ => false,
        }
    }

    /// Why trial `id` should stop after `epoch`, given its curve and the other trials.
    pub fn prune(
        &self,
        id: u64,
        epoch: usize,
        curve: &[(usize, f64)],
        others: &[TrialRecord],
    ) -> Option<String> {
        if !self.due(id, epoch) {
            return None;
        }
        let min = self.minimize;
        let mine = best_at(curve, epoch, min)?;
        let monitor = self.settings.monitor();
        match self.settings.kind.as_str() {
            "median" => {
                let done: Vec<f64> = others
                    .iter()
                    .filter(|t| t.id != id && t.state == TrialState::Complete)
                    .filter_map(|t| best_at(&t.intermediate, epoch, min))
                    .collect();
                if done.len() < self.settings.startup_trials.max(1) {
                    return None;
                }
                let m = median(done);
                let worse = if min { mine > m } else { mine < m };
                worse.then(|| {
                    format!("median pruner: best {monitor} {mine:.5} by epoch {epoch} is worse than the median {m:.5} of completed trials")
                })
            }
            _ => {
                let bracket = self.bracket(id);
                let mut vals: Vec<f64> = others
                    .iter()
                    .filter(|t| t.id != id && t.state != TrialState::Failed)
                    .filter(|t| self.bracket(t.id) == bracket)
                    .filter(|t| t.intermediate.last().is_some_and(|(e, _)| *e >= epoch))
                    .filter_map(|t| best_at(&t.intermediate, epoch, min))
                    .collect();
                vals.push(mine);
                let eta = self.settings.reduction_factor;
                // Optuna's rule: promote the top ⌊n/η⌋ (at least the single best).
                let k = (vals.len() / eta).max(1);
                vals.sort_by(|a, b| if min { a.total_cmp(b) } else { b.total_cmp(a) });
                let cut = vals[k - 1];
                let promoted = if min { mine <= cut } else { mine >= cut };
                (!promoted).then(|| {
                    format!(
                        "{} pruner: best {monitor} {mine:.5} at the epoch-{epoch} rung is not in the top {k} of {}",
                        self.settings.kind.replace('_', " "),
                        vals.len()
                    )
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::space::Params;

    fn trial(id: u64, state: TrialState, curve: Vec<(usize, f64)>) -> TrialRecord {
        let mut t = TrialRecord::new(id, Params::new());
        t.state = state;
        t.epochs_run = curve.last().map_or(0, |c| c.0);
        t.intermediate = curve;
        t
    }

    fn loss_curve(start: f64, rate: f64, epochs: usize) -> Vec<(usize, f64)> {
        (1..=epochs)
            .map(|e| (e, start * (-rate * e as f64).exp()))
            .collect()
    }

    #[test]
    fn median_prunes_a_trial_worse_than_the_median() {
        let p = Pruner::new(&PrunerSettings::default(), 100, 1);
        assert!(p.minimize, "val_loss is minimized");
        let done: Vec<TrialRecord> = (0..5)
            .map(|i| {
                trial(
                    i,
                    TrialState::Complete,
                    loss_curve(1.0, 0.05 + 0.01 * i as f64, 60),
                )
            })
            .collect();
        let bad = loss_curve(3.0, 0.01, 20);
        let good = loss_curve(0.8, 0.07, 20);
        assert!(p.prune(9, 5, &bad, &done).is_none(), "warm-up");
        assert!(p.prune(9, 11, &bad, &done).is_some());
        assert!(p.prune(9, 11, &good, &done).is_none());
        assert!(
            p.prune(9, 11, &bad, &done[..4]).is_none(),
            "too few completed trials"
        );
        // A completed trial that stopped early still counts with its best value.
        let stopped: Vec<TrialRecord> = (0..5)
            .map(|i| trial(i, TrialState::Complete, loss_curve(0.1, 0.0, 12)))
            .collect();
        assert!(p.prune(9, 40, &good, &stopped).is_some());
    }

    #[test]
    fn successive_halving_keeps_the_top_third_at_each_rung() {
        let s = PrunerSettings {
            kind: "successive_halving".into(),
            min_epochs: 2,
            ..Default::default()
        };
        let p = Pruner::new(&s, 100, 1);
        assert_eq!(p.rungs(0), vec![2, 6, 18, 54]);
        let others: Vec<TrialRecord> = (0..8)
            .map(|i| {
                trial(
                    i,
                    TrialState::Running,
                    vec![(1, 1.0), (2, 0.1 * (i + 1) as f64)],
                )
            })
            .collect();
        // 9 values at rung 2: the top 3 continue.
        assert!(p.prune(20, 2, &[(2, 0.25)], &others).is_none());
        assert!(p.prune(20, 2, &[(2, 0.35)], &others).is_some());
        assert!(p.prune(20, 3, &[(3, 9.0)], &others).is_none(), "not a rung");
        // The first trial at a rung continues.
        assert!(p.prune(20, 6, &[(6, 9.0)], &others).is_none());
    }

    #[test]
    fn hyperband_spreads_trials_over_brackets() {
        let s = PrunerSettings {
            kind: "hyperband".into(),
            min_epochs: 1,
            ..Default::default()
        };
        let p = Pruner::new(&s, 81, 3);
        assert_eq!(p.s_max(), 4);
        let mut counts = [0usize; 5];
        for id in 0..2000 {
            counts[p.bracket(id)] += 1;
        }
        // Hyperband's n_s for η = 3, s_max = 4: 81, 34, 15, 8, 5 (most trials in the most
        // aggressive bracket).
        assert!(
            counts[0] > counts[1] && counts[1] > counts[2] && counts[2] > counts[4],
            "{counts:?}"
        );
        assert!(p.rungs(0).len() > p.rungs(1).len() || p.bracket(0) != 0);
        let last = (0..100).find(|&id| p.bracket(id) == 4).unwrap();
        assert!(p.rungs(last).is_empty(), "the last bracket never prunes");
    }
}
