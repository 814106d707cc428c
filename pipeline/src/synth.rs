//! Seeded synthetic datasets for scale tests and benchmarks: Gaussian classes around random
//! centres (classification) or a noisy linear map (regression), written as CSV in parallel
//! blocks and streamed to disk, so a million rows never sit in memory as text.

use std::io::Write;
use std::path::Path;

use neurite_kernels::rng::Rng;
use rayon::prelude::*;

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthTarget {
    /// A `label` column with this many classes (`c0`, `c1`, …).
    Classes(usize),
    /// This many regression targets `y0`, `y1`, ….
    Targets(usize),
}

#[derive(Clone, Copy, Debug)]
pub struct SynthSpec {
    pub rows: usize,
    pub features: usize,
    pub target: SynthTarget,
    pub seed: u64,
}

/// Rows generated and formatted per parallel block.
const BLOCK_ROWS: usize = 8192;
/// Features that carry signal; the rest are noise.
const INFORMATIVE: usize = 10;

impl SynthSpec {
    pub fn validate(&self) -> Result<()> {
        if self.rows == 0 || self.features == 0 {
            return Err(Error::Config("rows and features must be at least 1".into()));
        }
        match self.target {
            SynthTarget::Classes(c) if c < 2 => {
                Err(Error::Config("--classes must be at least 2".into()))
            }
            SynthTarget::Targets(0) => Err(Error::Config("--targets must be at least 1".into())),
            _ => Ok(()),
        }
    }

    pub fn header(&self) -> Vec<String> {
        let mut h: Vec<String> = (0..self.features).map(|j| format!("f{j}")).collect();
        match self.target {
            SynthTarget::Classes(_) => h.push("label".into()),
            SynthTarget::Targets(k) => h.extend((0..k).map(|j| format!("y{j}"))),
        }
        h
    }

    /// Class centres (`classes × informative`) or regression weights (`targets × informative`).
    fn params(&self) -> Vec<f64> {
        let mut rng = Rng::new(self.seed).fork(1);
        let k = match self.target {
            SynthTarget::Classes(c) => c,
            SynthTarget::Targets(t) => t,
        };
        let scale = match self.target {
            SynthTarget::Classes(_) => 1.5,
            SynthTarget::Targets(_) => 1.0,
        };
        (0..k * self.features.min(INFORMATIVE))
            .map(|_| scale * rng.normal())
            .collect()
    }

    /// The CSV text of rows `start..start + n`.
    fn block(&self, params: &[f64], start: usize, n: usize) -> Vec<u8> {
        let inf = self.features.min(INFORMATIVE);
        let mut rng = Rng::new(self.seed).fork(2 + start as u64);
        let mut out = Vec::with_capacity(n * (self.features + 1) * 11);
        let mut x = vec![0.0f64; self.features];
        for _ in 0..n {
            match self.target {
                SynthTarget::Classes(c) => {
                    let y = rng.below(c as u64) as usize;
                    for (j, v) in x.iter_mut().enumerate() {
                        let centre = if j < inf { params[y * inf + j] } else { 0.0 };
                        *v = centre + rng.normal();
                    }
                    write_row(&mut out, &x);
                    let _ = writeln!(out, ",c{y}");
                }
                SynthTarget::Targets(k) => {
                    for v in x.iter_mut() {
                        *v = rng.normal();
                    }
                    write_row(&mut out, &x);
                    for t in 0..k {
                        let y: f64 = (0..inf).map(|j| params[t * inf + j] * x[j]).sum::<f64>()
                            + 0.1 * rng.normal();
                        let _ = write!(out, ",{:.6}", y as f32);
                    }
                    out.push(b'\n');
                }
            }
        }
        out
    }
}

fn write_row(out: &mut Vec<u8>, x: &[f64]) {
    for (j, v) in x.iter().enumerate() {
        if j > 0 {
            out.push(b',');
        }
        let _ = write!(out, "{:.6}", *v as f32);
    }
}

/// Write the dataset to `path` (through a temporary file renamed into place).
pub fn write_csv(spec: &SynthSpec, path: &Path) -> Result<()> {
    spec.validate()?;
    let params = spec.params();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let f = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        writeln!(w, "{}", spec.header().join(","))?;
        let starts: Vec<usize> = (0..spec.rows).step_by(BLOCK_ROWS).collect();
        // A batch of blocks at a time: parallel formatting, ordered writes, bounded memory.
        for batch in starts.chunks(4 * rayon::current_num_threads().max(1)) {
            let texts: Vec<Vec<u8>> = batch
                .par_iter()
                .map(|&s| spec.block(&params, s, BLOCK_ROWS.min(spec.rows - s)))
                .collect();
            for t in texts {
                w.write_all(&t)?;
            }
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Table;

    #[test]
    fn seeded_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        let spec = SynthSpec {
            rows: 20_000,
            features: 12,
            target: SynthTarget::Classes(3),
            seed: 5,
        };
        let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
        write_csv(&spec, &a).unwrap();
        write_csv(&spec, &b).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        let t = Table::read_csv(&a).unwrap();
        assert_eq!((t.n_rows(), t.n_cols()), (20_000, 13));
        assert_eq!(t.headers[12], "label");
        let r = SynthSpec {
            target: SynthTarget::Targets(2),
            ..spec
        };
        write_csv(&r, &a).unwrap();
        let t = Table::read_csv(&a).unwrap();
        assert_eq!(t.headers[12..], ["y0", "y1"]);
        assert!(
            write_csv(
                &SynthSpec {
                    target: SynthTarget::Classes(1),
                    ..spec
                },
                &a
            )
            .is_err()
        );
    }
}
