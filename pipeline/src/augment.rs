//! Data augmentation, seeded: Gaussian-noise jitter, mixup, SMOTE oversampling of minority
//! classes, and image transforms (shifts, small rotations, scaling) for rows that are images.
//!
//! Two uses: [`augment_table`] writes new raw rows (for `neurite data augment`, applied to a
//! training split), and [`Augmenter`] redraws noise or mixup over the preprocessed training
//! matrix every epoch during training.

use neurite_kernels::rng::Rng;

use crate::data::config::{AugmentConfig, ColumnType, DataConfig};
use crate::data::infer::infer_schema;
use crate::data::preprocess::Preprocessor;
use crate::data::stats;
use crate::data::table::{Column, NumberColumn, Table, TextColumn};
use crate::error::{Error, Result};
use crate::task::Task;

/// Gamma(a, 1) by Marsaglia and Tsang (a > 0).
fn gamma(rng: &mut Rng, a: f64) -> f64 {
    if a < 1.0 {
        let u = rng.next_f64().max(f64::MIN_POSITIVE);
        return gamma(rng, a + 1.0) * u.powf(1.0 / a);
    }
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = rng.normal();
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = rng.next_f64();
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// λ ~ Beta(α, α), folded to λ ≥ ½ so the mixed row stays closest to its own.
pub fn mixup_lambda(rng: &mut Rng, alpha: f64) -> f64 {
    let a = gamma(rng, alpha);
    let b = gamma(rng, alpha);
    let l = if a + b > 0.0 { a / (a + b) } else { 0.5 };
    l.max(1.0 - l)
}

/// Per-epoch augmentation of the preprocessed training matrix.
pub struct Augmenter {
    cfg: AugmentConfig,
    continuous: Vec<bool>,
    task: Task,
    rng: Rng,
}

impl Augmenter {
    pub fn new(cfg: &AugmentConfig, pre: &Preprocessor, task: Task, seed: u64) -> Option<Self> {
        if cfg.noise.is_none() && cfg.mixup.is_none() {
            return None;
        }
        Some(Augmenter {
            cfg: cfg.clone(),
            continuous: pre.continuous_mask(),
            task,
            rng: Rng::new(seed).fork(0xA06),
        })
    }

    /// The epoch's inputs and targets: noise on the continuous features (in scaled units) and
    /// mixup of each row with a random partner (labels kept, regression targets mixed).
    pub fn epoch(
        &self,
        x: &[f32],
        y: &[f32],
        nf: usize,
        ycols: usize,
        epoch: u64,
    ) -> (Vec<f32>, Vec<f32>) {
        let mut rng = self.rng.fork(epoch);
        let rows = x.len() / nf.max(1);
        let mut xa = x.to_vec();
        let mut ya = y.to_vec();
        if let Some(alpha) = self.cfg.mixup {
            for r in 0..rows {
                let j = rng.below(rows as u64) as usize;
                let l = mixup_lambda(&mut rng, alpha);
                for f in 0..nf {
                    xa[r * nf + f] =
                        (l * x[r * nf + f] as f64 + (1.0 - l) * x[j * nf + f] as f64) as f32;
                }
                if self.task == Task::Regression {
                    for k in 0..ycols {
                        ya[r * ycols + k] = (l * y[r * ycols + k] as f64
                            + (1.0 - l) * y[j * ycols + k] as f64)
                            as f32;
                    }
                }
            }
        }
        if let Some(sigma) = self.cfg.noise {
            for row in xa.chunks_exact_mut(nf) {
                for (v, &cont) in row.iter_mut().zip(&self.continuous) {
                    if cont {
                        *v += (sigma * rng.normal()) as f32;
                    }
                }
            }
        }
        (xa, ya)
    }
}

/// What `neurite data augment` does.
#[derive(Clone, Debug, PartialEq)]
pub enum Method {
    /// Gaussian jitter: each numeric feature gets noise of `sigma` times its standard deviation.
    Noise { sigma: f64 },
    /// Mixup of random pairs with λ ~ Beta(α, α) folded to λ ≥ ½.
    Mixup { alpha: f64 },
    /// SMOTE: new minority-class rows on segments to one of the `k` nearest same-class rows,
    /// until every class has as many rows as the largest.
    Smote { k: usize },
    /// Image rows (`height × width` numeric features, row-major): random shifts up to
    /// `max_shift` pixels, rotations up to `max_rotate` degrees, scaling within
    /// `[1 − max_scale, 1 + max_scale]`.
    Image {
        height: usize,
        width: usize,
        max_shift: f64,
        max_rotate: f64,
        max_scale: f64,
    },
}

/// New rows for `table` (raw columns, target included). Noise, mixup and image make
/// `factor × rows` new rows; SMOTE makes as many as balancing needs. Returns only the new rows.
pub fn augment_table(
    table: &Table,
    target: &str,
    method: &Method,
    factor: f64,
    seed: u64,
    cfg: &DataConfig,
) -> Result<Table> {
    let tc = table.col_index(target)?;
    let schema = infer_schema(table, cfg, &[target.to_string()])?;
    // Numeric feature columns: the ones augmentation changes.
    let numeric: Vec<usize> = schema
        .columns
        .iter()
        .filter(|c| {
            c.is_feature()
                && matches!(c.ty, ColumnType::Float | ColumnType::Integer)
                && matches!(table.columns[c.index], Column::Number(_))
        })
        .map(|c| c.index)
        .collect();
    if numeric.is_empty() {
        return Err(Error::InvalidData(format!(
            "{}: no numeric feature columns to augment",
            table.path.display()
        )));
    }
    let n = table.n_rows();
    let vals: Vec<Vec<f64>> = numeric
        .iter()
        .map(|&c| match &table.columns[c] {
            Column::Number(col) => col.values.iter().map(|&v| v as f64).collect(),
            Column::Text(_) => Vec::new(),
        })
        .collect();
    let mut rng = Rng::new(seed).fork(0xDA7A);
    let count = ((n as f64) * factor).round().max(0.0) as usize;
    // Each new row: its source row and the new numeric values (in `numeric` order); the
    // target of mixed regression rows too.
    let mut sources: Vec<usize> = Vec::new();
    let mut new_vals: Vec<Vec<f64>> = Vec::new();
    let mut new_target: Option<Vec<f64>> = None;
    match method {
        Method::Noise { sigma } => {
            let sd: Vec<f64> = vals
                .iter()
                .map(|v| stats::variance(&present(v)).sqrt())
                .map(|s| if s.is_finite() { s } else { 0.0 })
                .collect();
            for _ in 0..count {
                let i = rng.below(n as u64) as usize;
                sources.push(i);
                new_vals.push(
                    vals.iter()
                        .zip(&sd)
                        .map(|(v, s)| v[i] + sigma * s * rng.normal())
                        .collect(),
                );
            }
        }
        Method::Mixup { alpha } => {
            let ty = match &table.columns[tc] {
                Column::Number(c) if !c.integral => Some(c),
                _ => None,
            };
            let mut ts = Vec::new();
            for _ in 0..count {
                let i = rng.below(n as u64) as usize;
                let j = rng.below(n as u64) as usize;
                let l = mixup_lambda(&mut rng, *alpha);
                sources.push(i);
                new_vals.push(vals.iter().map(|v| mix(v[i], v[j], l)).collect());
                if let Some(t) = ty {
                    ts.push(mix(t.values[i] as f64, t.values[j] as f64, l));
                }
            }
            if ty.is_some() {
                new_target = Some(ts);
            }
        }
        Method::Smote { k } => {
            let labels: Vec<String> = (0..n).map(|r| table.cell(tc, r).into_owned()).collect();
            let mut classes: Vec<&String> = labels.iter().collect();
            classes.sort();
            classes.dedup();
            if classes.len() < 2 {
                return Err(Error::InvalidData(format!(
                    "{}: SMOTE needs a class target with at least two classes",
                    table.path.display()
                )));
            }
            // Distances on standardized values, missing as the mean (0).
            let z: Vec<Vec<f64>> = vals
                .iter()
                .map(|v| {
                    let p = present(v);
                    let (m, s) = (stats::mean(&p), stats::variance(&p).sqrt());
                    let s = if s > 0.0 { s } else { 1.0 };
                    v.iter()
                        .map(|x| if x.is_nan() { 0.0 } else { (x - m) / s })
                        .collect()
                })
                .collect();
            let max = classes
                .iter()
                .map(|c| labels.iter().filter(|l| l == c).count())
                .max()
                .unwrap_or(0);
            for c in classes {
                let members: Vec<usize> = (0..n).filter(|&r| &labels[r] == c).collect();
                let need = max - members.len();
                for _ in 0..need {
                    let i = members[rng.below(members.len() as u64) as usize];
                    let nn = nearest(&z, &members, i, *k);
                    let j = if nn.is_empty() {
                        i
                    } else {
                        nn[rng.below(nn.len() as u64) as usize]
                    };
                    let u = rng.next_f64();
                    sources.push(i);
                    new_vals.push(vals.iter().map(|v| v[i] + u * (v[j] - v[i])).collect());
                }
            }
        }
        Method::Image {
            height,
            width,
            max_shift,
            max_rotate,
            max_scale,
        } => {
            if height * width != numeric.len() {
                return Err(Error::InvalidData(format!(
                    "{}: an image of {height}x{width} needs {} numeric feature columns, found {}",
                    table.path.display(),
                    height * width,
                    numeric.len()
                )));
            }
            for _ in 0..count {
                let i = rng.below(n as u64) as usize;
                let img: Vec<f64> = vals
                    .iter()
                    .map(|v| if v[i].is_nan() { 0.0 } else { v[i] })
                    .collect();
                let dx = (rng.next_f64() * 2.0 - 1.0) * max_shift;
                let dy = (rng.next_f64() * 2.0 - 1.0) * max_shift;
                let angle = (rng.next_f64() * 2.0 - 1.0) * max_rotate.to_radians();
                let scale = 1.0 + (rng.next_f64() * 2.0 - 1.0) * max_scale;
                sources.push(i);
                new_vals.push(transform_image(
                    &img,
                    *height,
                    *width,
                    dx.round(),
                    dy.round(),
                    angle,
                    scale,
                ));
            }
        }
    }
    // Assemble the new rows: numeric columns from new_vals (integer columns rounded), every
    // other column copied from the source row.
    let mut columns = Vec::with_capacity(table.n_cols());
    for (c, col) in table.columns.iter().enumerate() {
        if let Some(k) = numeric.iter().position(|&x| x == c) {
            let integral = matches!(col, Column::Number(n) if n.integral);
            let values = new_vals
                .iter()
                .map(|v| {
                    let x = v[k];
                    (if integral { x.round() } else { x }) as f32
                })
                .collect();
            columns.push(Column::Number(NumberColumn { values, integral }));
        } else if c == tc && new_target.is_some() {
            let values = new_target
                .as_ref()
                .map(|t| t.iter().map(|&x| x as f32).collect())
                .unwrap_or_default();
            columns.push(Column::Number(NumberColumn {
                values,
                integral: false,
            }));
        } else {
            columns.push(match col {
                Column::Number(nc) => Column::Number(NumberColumn {
                    values: sources.iter().map(|&i| nc.values[i]).collect(),
                    integral: nc.integral,
                }),
                Column::Text(t) => Column::Text(TextColumn {
                    dict: t.dict.clone(),
                    codes: sources.iter().map(|&i| t.codes[i]).collect(),
                }),
            });
        }
    }
    Ok(Table {
        path: table.path.clone(),
        headers: table.headers.clone(),
        columns,
        lines: sources.iter().map(|&i| table.lines[i]).collect(),
        delimiter: b',',
        sha256: None,
    })
}

fn present(v: &[f64]) -> Vec<f64> {
    v.iter().copied().filter(|x| !x.is_nan()).collect()
}

fn mix(a: f64, b: f64, l: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        a
    } else {
        l * a + (1.0 - l) * b
    }
}

/// The `k` nearest rows to `i` among `members` (excluding `i`), by Euclidean distance.
fn nearest(z: &[Vec<f64>], members: &[usize], i: usize, k: usize) -> Vec<usize> {
    let mut d: Vec<(f64, usize)> = members
        .iter()
        .filter(|&&j| j != i)
        .map(|&j| (z.iter().map(|c| (c[i] - c[j]).powi(2)).sum::<f64>(), j))
        .collect();
    d.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    d.into_iter().take(k).map(|x| x.1).collect()
}

/// Resample an image under shift (dx, dy pixels), rotation (radians) and scaling about its
/// centre, bilinear, with 0 outside.
#[allow(clippy::too_many_arguments)]
pub fn transform_image(
    img: &[f64],
    h: usize,
    w: usize,
    dx: f64,
    dy: f64,
    angle: f64,
    scale: f64,
) -> Vec<f64> {
    let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
    let (s, c) = angle.sin_cos();
    let at = |y: isize, x: isize| -> f64 {
        if y < 0 || x < 0 || y >= h as isize || x >= w as isize {
            0.0
        } else {
            img[y as usize * w + x as usize]
        }
    };
    let mut out = vec![0.0; h * w];
    for y in 0..h {
        for x in 0..w {
            // Inverse map: output pixel → source position.
            let (oy, ox) = (y as f64 - cy - dy, x as f64 - cx - dx);
            let sx = (c * ox + s * oy) / scale + cx;
            let sy = (-s * ox + c * oy) / scale + cy;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            out[y * w + x] = at(y0, x0) * (1.0 - fx) * (1.0 - fy)
                + at(y0, x0 + 1) * fx * (1.0 - fy)
                + at(y0 + 1, x0) * (1.0 - fx) * fy
                + at(y0 + 1, x0 + 1) * fx * fy;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn image_transforms() {
        let mut img = vec![0.0; 9];
        img[4] = 1.0;
        // identity
        assert_eq!(transform_image(&img, 3, 3, 0.0, 0.0, 0.0, 1.0), img);
        // shift right by one
        let s = transform_image(&img, 3, 3, 1.0, 0.0, 0.0, 1.0);
        assert_eq!(s[5], 1.0);
        assert_eq!(s[4], 0.0);
        // a 90° rotation keeps the centre
        let r = transform_image(&img, 3, 3, 0.0, 0.0, std::f64::consts::FRAC_PI_2, 1.0);
        assert!((r[4] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn per_epoch_augmentation_touches_only_continuous_features() {
        let mut s = String::from("x,c,y\n");
        for i in 0..40 {
            s.push_str(&format!("{},{},{}\n", i * 3, ["u", "v"][i % 2], i % 2));
        }
        let t = Table::from_bytes(Path::new("t.csv"), s.as_bytes()).unwrap();
        let cfg = DataConfig::default();
        let schema = infer_schema(&t, &cfg, &["y".into()]).unwrap();
        let (pre, _) = Preprocessor::fit(&t, &schema, &cfg, None).unwrap();
        assert_eq!(pre.continuous_mask(), [true, false, false]);
        let x = pre.transform(&t).unwrap();
        let y: Vec<f32> = (0..40).map(|i| (i % 2) as f32).collect();
        let aug = AugmentConfig {
            noise: Some(0.1),
            mixup: None,
        };
        let a = Augmenter::new(&aug, &pre, Task::Classification, 7).unwrap();
        let (x1, y1) = a.epoch(&x, &y, 3, 1, 1);
        let (x2, _) = a.epoch(&x, &y, 3, 1, 2);
        assert_eq!(y1, y);
        assert_ne!(x1, x2, "each epoch draws new noise");
        for r in 0..40 {
            assert_ne!(x1[r * 3], x[r * 3]);
            assert_eq!(&x1[r * 3 + 1..r * 3 + 3], &x[r * 3 + 1..r * 3 + 3]);
        }
        assert_eq!(a.epoch(&x, &y, 3, 1, 1).0, x1, "seeded");
        // Training with it runs end to end.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("aug.csv");
        std::fs::write(&p, s).unwrap();
        let mut o = crate::config::TrainConfig {
            target: vec!["y".into()],
            ..Default::default()
        };
        o.training.epochs = 3;
        o.data.augment = AugmentConfig {
            noise: Some(0.05),
            mixup: Some(0.2),
        };
        let reg = crate::Registry::new(dir.path().join("m"));
        crate::train::train(&p, &o, crate::train::TrainEnv::new(&reg)).unwrap();
    }

    #[test]
    fn methods_make_rows() {
        let mut s = String::from("a,b,c,y\n");
        for i in 0..30 {
            s.push_str(&format!(
                "{},{}.5,{},{}\n",
                i * 3,
                i % 4,
                ["u", "v"][i % 2],
                if i < 24 { "maj" } else { "min" }
            ));
        }
        let t = Table::from_bytes(Path::new("t.csv"), s.as_bytes()).unwrap();
        let cfg = DataConfig::default();
        let out = augment_table(&t, "y", &Method::Noise { sigma: 0.1 }, 1.0, 1, &cfg).unwrap();
        assert_eq!(out.n_rows(), 30);
        assert_eq!(out.headers, t.headers);
        let out = augment_table(&t, "y", &Method::Smote { k: 3 }, 1.0, 1, &cfg).unwrap();
        assert_eq!(out.n_rows(), 18);
        assert!((0..18).all(|r| out.cell(3, r) == "min"));
        // synthetic rows lie within the minority class's range on `a` (72..87)
        let a = out.numeric_column("a").unwrap();
        assert!(a.iter().all(|&v| (72.0..=87.0).contains(&v)), "{a:?}");
        let m = augment_table(&t, "y", &Method::Mixup { alpha: 0.4 }, 0.5, 1, &cfg).unwrap();
        assert_eq!(m.n_rows(), 15);
        let again = augment_table(&t, "y", &Method::Mixup { alpha: 0.4 }, 0.5, 1, &cfg).unwrap();
        assert_eq!(m.columns, again.columns);
        let e = augment_table(
            &t,
            "y",
            &Method::Image {
                height: 8,
                width: 8,
                max_shift: 1.0,
                max_rotate: 10.0,
                max_scale: 0.1,
            },
            1.0,
            1,
            &cfg,
        )
        .unwrap_err();
        assert!(e.to_string().contains("8x8"), "{e}");
    }
}
