//! `neurite data prepare|augment|synth`

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use neurite_pipeline::augment::{Method, augment_table};
use neurite_pipeline::data::{ReadOptions, Table};
use neurite_pipeline::prepare::{SplitOptions, prepare, write_prepared};
use neurite_pipeline::synth::{SynthSpec, SynthTarget, write_csv};
use neurite_pipeline::task::Task;

use super::data_args::{DataArgs, print_warnings};
use super::split_list;

#[derive(Subcommand)]
pub enum DataCommand {
    /// Clean, split and preprocess a CSV: raw splits in data/splits/<name>/, model-ready
    /// features and the fitted preprocessing in data/processed/<name>/.
    Prepare(Box<PrepareArgs>),
    /// Write augmented rows (noise, mixup, SMOTE, image transforms) to data/augmented/.
    Augment(Box<AugmentArgs>),
    /// Write a seeded synthetic dataset (for scale tests and benchmarks).
    Synth(SynthArgs),
}

pub fn run(c: DataCommand) -> Result<()> {
    match c {
        DataCommand::Prepare(a) => prepare_cmd(*a),
        DataCommand::Augment(a) => augment_cmd(*a),
        DataCommand::Synth(a) => synth_cmd(a),
    }
}

#[derive(Args)]
pub struct PrepareArgs {
    /// CSV file with a header row.
    pub csv: PathBuf,
    /// Target column(s), comma-separated.
    #[arg(long, short)]
    pub target: String,
    /// Dataset name (default: the file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Root of the data folders.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Fraction of the non-test rows held out for validation.
    #[arg(long, default_value_t = 0.1)]
    pub validation_fraction: f64,
    /// Also write k folds (stratified for classification) over the non-test rows.
    #[arg(long)]
    pub folds: Option<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// classification or regression (default: inferred).
    #[arg(long)]
    pub task: Option<String>,
    /// Print the result as JSON on stdout
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data: DataArgs,
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("data")
        .to_string()
}

fn prepare_cmd(a: PrepareArgs) -> Result<()> {
    let cfg = a.data.to_config()?;
    let targets = split_list(&a.target);
    let task = match &a.task {
        Some(t) => Some(Task::parse(t).with_context(|| format!("--task: {t:?}"))?),
        None => None,
    };
    if !(0.0..0.9).contains(&a.test_fraction) || !(0.0..0.9).contains(&a.validation_fraction) {
        bail!("test and validation fractions must be in [0, 0.9)");
    }
    let split = SplitOptions {
        test_fraction: a.test_fraction,
        validation_fraction: a.validation_fraction,
        // Asked for by a flag and written to files: held out whatever its size.
        min_validation_rows: 0,
        seed: a.seed,
    };
    let prep = prepare(&a.csv, &targets, task, &cfg, &split)?;
    let name = a.name.clone().unwrap_or_else(|| stem(&a.csv));
    let s = write_prepared(&prep, &cfg, &split, &name, &a.data_dir, a.folds)?;
    print_warnings(&s.warnings);
    if a.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "prepared {name} ({:?}): {} train, {} validation, {} test rows; {} features",
            s.task, s.rows.train, s.rows.validation, s.rows.test, s.features
        );
        println!("  raw splits:      {}/{{train,val,test}}.csv", s.splits_dir);
        println!(
            "  model-ready:     {}/{{train,val,test}}.csv, preprocessor.json",
            s.processed_dir
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct AugmentArgs {
    /// CSV file to augment (usually a training split, data/splits/<name>/train.csv).
    pub csv: PathBuf,
    /// Target column (labels are kept; SMOTE balances its classes).
    #[arg(long, short)]
    pub target: String,
    /// noise, mixup, smote or image.
    #[arg(long)]
    pub method: String,
    /// New rows per input row (noise, mixup, image).
    #[arg(long, default_value_t = 1.0)]
    pub factor: f64,
    /// noise: standard deviation as a fraction of each column's.
    #[arg(long, default_value_t = 0.05)]
    pub sigma: f64,
    /// mixup: Beta(α, α).
    #[arg(long, default_value_t = 0.2)]
    pub alpha: f64,
    /// smote: neighbours.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// image: HEIGHTxWIDTH of the rows' pixels (the digits dataset is 8x8).
    #[arg(long)]
    pub image_shape: Option<String>,
    /// image: largest shift in pixels.
    #[arg(long, default_value_t = 1.0)]
    pub max_shift: f64,
    /// image: largest rotation in degrees.
    #[arg(long, default_value_t = 10.0)]
    pub max_rotate: f64,
    /// image: largest relative change of scale.
    #[arg(long, default_value_t = 0.1)]
    pub max_scale: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output file (default data/augmented/<stem>_<method>.csv).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Write only the new rows (default: the input rows followed by the new ones).
    #[arg(long)]
    pub new_only: bool,
    #[command(flatten)]
    pub data: DataArgs,
}

fn augment_cmd(a: AugmentArgs) -> Result<()> {
    let cfg = a.data.to_config()?;
    let method = match a.method.as_str() {
        "noise" | "jitter" => Method::Noise { sigma: a.sigma },
        "mixup" => Method::Mixup { alpha: a.alpha },
        "smote" => Method::Smote { k: a.k.max(1) },
        "image" => {
            let shape = a
                .image_shape
                .as_deref()
                .context("--method image needs --image-shape HxW (e.g. 8x8)")?;
            let (h, w) = shape
                .split_once(['x', 'X'])
                .and_then(|(h, w)| Some((h.trim().parse().ok()?, w.trim().parse().ok()?)))
                .with_context(|| format!("--image-shape: expected HxW, got {shape:?}"))?;
            Method::Image {
                height: h,
                width: w,
                max_shift: a.max_shift,
                max_rotate: a.max_rotate,
                max_scale: a.max_scale,
            }
        }
        m => bail!("--method: expected noise, mixup, smote or image, got {m:?}"),
    };
    if !(a.factor.is_finite() && a.factor >= 0.0) || a.sigma < 0.0 || a.alpha <= 0.0 {
        bail!("--factor and --sigma must be non-negative, --alpha positive");
    }
    let opts = ReadOptions {
        delimiter: cfg.delimiter_byte()?,
        text_columns: cfg.text_columns(),
        sha256: false,
    };
    let table = Table::read_csv_with(&a.csv, &opts)?;
    let new = augment_table(&table, &a.target, &method, a.factor, a.seed, &cfg)?;
    let out = a.output.clone().unwrap_or_else(|| {
        PathBuf::from("data/augmented").join(format!("{}_{}.csv", stem(&a.csv), a.method))
    });
    let mut bytes = if a.new_only {
        Vec::new()
    } else {
        table.to_csv_bytes()
    };
    let new_bytes = new.to_csv_bytes();
    if a.new_only {
        bytes = new_bytes;
    } else {
        // Append the new rows without their header line.
        let body = new_bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(&[][..], |p| &new_bytes[p + 1..]);
        bytes.extend_from_slice(body);
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    neurite_engine::io::atomic_write(&out, &bytes)?;
    println!(
        "{}: {} new rows ({}){} -> {}",
        a.csv.display(),
        new.n_rows(),
        a.method,
        if a.new_only {
            String::new()
        } else {
            format!(" after the {} input rows", table.n_rows())
        },
        out.display()
    );
    Ok(())
}

#[derive(Args)]
pub struct SynthArgs {
    #[arg(long)]
    pub rows: usize,
    #[arg(long)]
    pub features: usize,
    /// Classes of the `label` target.
    #[arg(long, conflicts_with = "targets")]
    pub classes: Option<usize>,
    /// Regression targets y0, y1, ….
    #[arg(long)]
    pub targets: Option<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output file (default data/raw/synth_<rows>x<features>.csv).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

fn synth_cmd(a: SynthArgs) -> Result<()> {
    let target = match (a.classes, a.targets) {
        (Some(c), None) => SynthTarget::Classes(c),
        (None, Some(t)) => SynthTarget::Targets(t),
        _ => bail!("give --classes C (classification) or --targets K (regression)"),
    };
    let spec = SynthSpec {
        rows: a.rows,
        features: a.features,
        target,
        seed: a.seed,
    };
    let out = a.output.unwrap_or_else(|| {
        PathBuf::from("data/raw").join(format!("synth_{}x{}.csv", a.rows, a.features))
    });
    let t = std::time::Instant::now();
    write_csv(&spec, &out)?;
    println!(
        "wrote {} rows x {} features to {} in {:.2}s",
        a.rows,
        a.features,
        out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
