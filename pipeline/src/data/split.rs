//! Seeded train/test splits and k folds (stratified for classification).

use neurite_kernels::rng::Rng;

/// Shuffle `0..n` with `seed` and cut off `test_fraction` for the test set. With `classes`
/// (one class id per row) the cut is made per class, so each class keeps its proportion.
/// With `test_fraction > 0` both parts are non-empty when `n ≥ 2`; with 0 the test part is
/// empty.
pub fn train_test_split(
    n: usize,
    test_fraction: f64,
    seed: u64,
    classes: Option<&[usize]>,
) -> (Vec<usize>, Vec<usize>) {
    if test_fraction <= 0.0 {
        return ((0..n).collect(), Vec::new());
    }
    let mut rng = Rng::new(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    match classes {
        Some(cls) => {
            let k = cls.iter().copied().max().map_or(0, |m| m + 1);
            for c in 0..k {
                let mut idx: Vec<usize> = (0..n).filter(|&i| cls[i] == c).collect();
                rng.shuffle(&mut idx);
                let nt = ((idx.len() as f64) * test_fraction).round() as usize;
                let nt = nt.min(idx.len().saturating_sub(1));
                test.extend_from_slice(&idx[..nt]);
                train.extend_from_slice(&idx[nt..]);
            }
            rng.shuffle(&mut train);
            rng.shuffle(&mut test);
        }
        None => {
            let mut idx: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut idx);
            let nt = ((n as f64) * test_fraction).round() as usize;
            let nt = nt.clamp(usize::from(n >= 2), n.saturating_sub(1));
            test = idx[..nt].to_vec();
            train = idx[nt..].to_vec();
        }
    }
    if test.is_empty() && train.len() >= 2 {
        test.push(train.pop().unwrap_or_default());
    }
    (train, test)
}

/// `k` folds of `0..n`: each row is in exactly one test fold; fold `i` is `(train, test)`.
/// With `classes`, each class is dealt round-robin over the folds after a seeded shuffle, so
/// every fold keeps the class proportions (scikit-learn's `StratifiedKFold(shuffle=True)` in
/// spirit; the exact assignment differs).
pub fn k_fold(
    n: usize,
    k: usize,
    seed: u64,
    classes: Option<&[usize]>,
) -> Vec<(Vec<usize>, Vec<usize>)> {
    let k = k.clamp(1, n.max(1));
    let mut rng = Rng::new(seed);
    let mut fold_of = vec![0usize; n];
    match classes {
        Some(cls) => {
            let nc = cls.iter().copied().max().map_or(0, |m| m + 1);
            // Continue the round-robin across classes so fold sizes stay within one.
            let mut next = 0usize;
            for c in 0..nc {
                let mut idx: Vec<usize> = (0..n).filter(|&i| cls[i] == c).collect();
                rng.shuffle(&mut idx);
                for i in idx {
                    fold_of[i] = next % k;
                    next += 1;
                }
            }
        }
        None => {
            let mut idx: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut idx);
            for (j, i) in idx.into_iter().enumerate() {
                fold_of[i] = j * k / n.max(1);
            }
        }
    }
    (0..k)
        .map(|f| {
            let (test, train): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| fold_of[i] == f);
            (train, test)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_partition_and_stratify() {
        let cls: Vec<usize> = (0..100).map(|i| usize::from(i >= 70)).collect();
        let folds = k_fold(100, 5, 3, Some(&cls));
        assert_eq!(folds.len(), 5);
        let mut seen = vec![0; 100];
        for (tr, te) in &folds {
            assert_eq!(tr.len() + te.len(), 100);
            assert_eq!(te.len(), 20);
            assert_eq!(te.iter().filter(|&&i| cls[i] == 1).count(), 6);
            te.iter().for_each(|&i| seen[i] += 1);
        }
        assert!(seen.iter().all(|&s| s == 1));
        assert_eq!(k_fold(100, 5, 3, Some(&cls)), folds);
        let plain = k_fold(10, 3, 1, None);
        let sizes: Vec<usize> = plain.iter().map(|f| f.1.len()).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 10);
        assert!(sizes.iter().all(|&s| (3..=4).contains(&s)), "{sizes:?}");
    }

    #[test]
    fn split_is_a_partition_and_stratified() {
        let cls: Vec<usize> = (0..100).map(|i| if i < 80 { 0 } else { 1 }).collect();
        let (tr, te) = train_test_split(100, 0.2, 7, Some(&cls));
        let mut all: Vec<usize> = tr.iter().chain(&te).copied().collect();
        all.sort();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(te.len(), 20);
        assert_eq!(te.iter().filter(|&&i| cls[i] == 1).count(), 4);
        assert_eq!(train_test_split(100, 0.2, 7, Some(&cls)), (tr, te));
        let (tr, te) = train_test_split(10, 0.2, 1, None);
        assert_eq!((tr.len(), te.len()), (8, 2));
    }
}
