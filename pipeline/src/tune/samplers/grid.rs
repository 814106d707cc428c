//! Grid search: the Cartesian product of every parameter's grid values (every choice, every
//! integer when few, else `grid_points` evenly spaced points on the parameter's scale), with
//! conditional parameters taking part only where they exist. Trial `i` takes point
//! `perm[i]` of a seeded permutation, so an interrupted or budget-limited grid still covers
//! the space evenly and `trials = grid size` visits every point exactly once.

use neurite_kernels::rng::Rng;

use super::super::space::{Params, Space};
use crate::error::{Error, Result};

/// Grids larger than this are refused (use random search or TPE instead).
pub const MAX_POINTS: usize = 100_000;

/// Every point of the grid, in enumeration order.
pub fn points(space: &Space, n: usize) -> Result<Vec<Params>> {
    let mut out = Vec::new();
    fn rec(space: &Space, i: usize, cur: &mut Params, n: usize, out: &mut Vec<Params>) -> bool {
        if out.len() > MAX_POINTS {
            return false;
        }
        let Some(p) = space.params.get(i) else {
            out.push(cur.clone());
            return true;
        };
        if !space.active(p, cur) {
            return rec(space, i + 1, cur, n, out);
        }
        for v in p.dist.grid(n) {
            cur.insert(p.name.clone(), v);
            if !rec(space, i + 1, cur, n, out) {
                return false;
            }
        }
        cur.remove(&p.name);
        true
    }
    if !rec(space, 0, &mut Params::new(), n, &mut out) {
        return Err(Error::Config(format!(
            "the grid has more than {MAX_POINTS} points; narrow the space, lower grid_points, or use the random or tpe sampler"
        )));
    }
    Ok(out)
}

/// The grid point of trial `id` (`None` past the end of the grid).
pub fn sample(space: &Space, seed: u64, id: u64, n: usize) -> Result<Option<Params>> {
    let mut pts = points(space, n)?;
    let mut order: Vec<usize> = (0..pts.len()).collect();
    Rng::new(seed).fork(0x6121_D5EE).shuffle(&mut order);
    Ok(order.get(id as usize).map(|&i| std::mem::take(&mut pts[i])))
}

#[cfg(test)]
mod tests {
    use super::super::testing::space;
    use super::*;

    #[test]
    fn covers_the_grid_once() {
        let s = space(
            "lr: {type: log_uniform, low: 1.0e-3, high: 1.0e-1}\n\
             optimizer: {type: choice, values: [adam, sgd]}\n\
             layers: {type: int, low: 1, high: 2}\nunits: {type: choice, values: [8, 16]}",
        );
        // lr 3 × optimizer 2 × (1 layer: 2 units + 2 layers: 2 × 2 units) = 36.
        let all = points(&s, 3).unwrap();
        assert_eq!(all.len(), 36);
        let mut seen: Vec<Params> = (0..36)
            .map(|i| sample(&s, 5, i, 3).unwrap().unwrap())
            .collect();
        assert!(sample(&s, 5, 36, 3).unwrap().is_none());
        seen.sort_by_key(|p| serde_json::to_string(p).unwrap());
        let mut expected = all.clone();
        expected.sort_by_key(|p| serde_json::to_string(p).unwrap());
        assert_eq!(seen, expected, "every grid point exactly once");
        assert!(
            all.iter()
                .all(|p| p.contains_key("units_2") == (p["layers"] == 2))
        );
        let lrs: std::collections::BTreeSet<String> =
            all.iter().map(|p| p["lr"].to_string()).collect();
        assert_eq!(lrs.len(), 3, "{lrs:?}");
        let big =
            space("x.a: {type: uniform, low: 0, high: 1}\nx.b: {type: uniform, low: 0, high: 1}");
        assert_eq!(points(&big, 10).unwrap().len(), 100);
    }
}
