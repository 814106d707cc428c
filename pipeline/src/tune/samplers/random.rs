//! Random search (Bergstra & Bengio 2012, "Random Search for Hyper-Parameter Optimization"):
//! every parameter drawn independently from its prior. Each trial's values are a function of
//! the study seed, the trial id and the parameter's name alone, so a study gives the same
//! trials however many workers run it and in whatever order.

use neurite_kernels::rng::Rng;

use super::super::space::{Params, Space};
use super::name_hash;

/// The random stream of one parameter of one trial.
pub(crate) fn param_rng(seed: u64, salt: u64, id: u64, name: &str) -> Rng {
    Rng::new(seed ^ salt).fork(id).fork(name_hash(name))
}

pub fn sample(space: &Space, seed: u64, id: u64) -> Params {
    space.draw(|p, _| p.dist.sample(&mut param_rng(seed, 0, id, &p.name)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{best_of, num, space};
    use super::*;

    #[test]
    fn seeded_and_independent_of_order() {
        let s = space(
            "lr: {type: log_uniform, low: 1.0e-4, high: 1.0}\n\
             batch_size: {type: choice, values: [16, 32, 64]}\n\
             layers: {type: int, low: 1, high: 3}\nunits: {type: int, low: 8, high: 64}",
        );
        let a: Vec<Params> = (0..20).map(|i| sample(&s, 7, i)).collect();
        let b: Vec<Params> = (0..20).rev().map(|i| sample(&s, 7, i)).collect();
        assert!(a.iter().eq(b.iter().rev()), "same trials in any order");
        let c: Vec<Params> = (0..20).map(|i| sample(&s, 8, i)).collect();
        assert_ne!(a, c, "another seed gives other trials");
        let lrs: Vec<f64> = a.iter().map(|p| num(p, "lr")).collect();
        assert!(lrs.iter().all(|&x| (1e-4..=1.0).contains(&x)));
        // Log-uniform: about half the draws below 1e-2 (the geometric middle).
        let many: Vec<f64> = (0..2000).map(|i| num(&sample(&s, 1, i), "lr")).collect();
        let below = many.iter().filter(|&&x| x < 1e-2).count();
        assert!((850..1150).contains(&below), "{below}");
        // Sanity for the synthetic harness: random search improves with more trials.
        let f = |p: &Params| (num(p, "lr").log10() + 2.0).powi(2);
        assert!(best_of("random", &s, &f, 40, 3) <= best_of("random", &s, &f, 4, 3));
    }
}
