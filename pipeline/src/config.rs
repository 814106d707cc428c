//! Training configuration: typed, with defaults, read in layers.
//!
//! Layers, lowest first: built-in defaults < the global `neurite.yaml` (its `train:` section;
//! its `paths:` section sets the data, models, logs and experiments folders) < the model
//! config (`model_config.yaml`, `--config`) < command-line flags. Each layer is a YAML/JSON
//! tree; they are merged key by key and every value remembers the layer it came from
//! (`neurite config show`). Unknown keys are errors naming the file, the key's path and the
//! closest known key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use neurite_engine::OptimizerSpec;
use neurite_engine::nn::{ActivationSpec, BiasInit, Init};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data::config::DataConfig;
use crate::error::{Error, Result};

/// The whole training configuration (the model config file has exactly these keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// `auto`, `classification`, `multilabel` or `regression`.
    pub task: String,
    /// Target column(s).
    pub target: Vec<String>,
    /// Registry name (default: the data file's stem).
    pub name: Option<String>,
    /// Experiment the run is recorded under (default: the model name).
    pub experiment: Option<String>,
    pub model: ModelConfig,
    /// `auto` (cross-entropy / binary cross-entropy / MSE by task) or a loss name: `mse`,
    /// `mae`, `huber`, `cross_entropy`, `binary_cross_entropy`.
    pub loss: String,
    /// Huber's δ when `loss: huber`.
    pub huber_delta: f32,
    pub optimizer: OptimizerSpec,
    pub training: TrainingConfig,
    pub callbacks: CallbacksConfig,
    /// Reading, column types, missing values, scaling, encoding, feature engineering and
    /// selection, augmentation, and the splits.
    pub data: DataConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            task: "auto".into(),
            target: Vec::new(),
            name: None,
            experiment: None,
            model: ModelConfig::default(),
            loss: "auto".into(),
            huber_delta: 1.0,
            optimizer: OptimizerSpec::adam(1e-3),
            training: TrainingConfig::default(),
            callbacks: CallbacksConfig::default(),
            data: DataConfig::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    pub hidden_layers: Vec<HiddenLayer>,
    /// `auto` (softmax for multi-class, sigmoid for binary and multi-label, linear for
    /// regression), or `softmax`, `sigmoid`, `linear`.
    pub output_activation: String,
    pub init: Init,
    /// `xavier_uniform` (scikit-learn's MLP: the weights' Glorot range) or `zeros` (Keras).
    pub bias_init: BiasInit,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            // scikit-learn's MLP default; on the shipped datasets it matches or beats deeper
            // stacks (benches/RESULTS.md, training quality).
            hidden_layers: vec![HiddenLayer::new(100)],
            output_activation: "auto".into(),
            // Glorot uniform, as Keras' Dense and scikit-learn's MLP: on the shipped datasets
            // it beats He for ReLU (`auto`) by up to 4.8 R² points (diabetes) and 0.55
            // accuracy points (wine), 10 splits each (benches/RESULTS.md, training quality).
            init: Init::XavierUniform,
            // scikit-learn's: on linnerud (16 training rows per fold, 200 splits) zero biases
            // score 4.2 ± 1.0 R² points below scikit-learn's MLP, these 0.0 ± 1.1
            // (benches/RESULTS.md, training quality).
            bias_init: BiasInit::XavierUniform,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HiddenLayer {
    pub units: usize,
    pub activation: ActivationSpec,
    pub dropout: f32,
    pub batch_norm: bool,
}

impl HiddenLayer {
    pub fn new(units: usize) -> Self {
        HiddenLayer {
            units,
            activation: ActivationSpec::Relu,
            dropout: 0.0,
            batch_norm: false,
        }
    }
}

impl Default for HiddenLayer {
    fn default() -> Self {
        HiddenLayer::new(64)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    /// `cpu`, `cuda`, `cuda:N` or `auto`.
    pub device: String,
    /// Clip gradients to this global L2 norm.
    pub gradient_clip_norm: Option<f32>,
    /// `balanced` or a map from class label to weight.
    pub class_weights: Option<ClassWeights>,
    /// A numeric column holding per-row weights (excluded from the features).
    pub sample_weight_column: Option<String>,
    pub lr_schedule: Option<LrSchedule>,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        TrainingConfig {
            epochs: 200,
            batch_size: 32,
            seed: 42,
            device: "cpu".into(),
            gradient_clip_norm: None,
            class_weights: None,
            sample_weight_column: None,
            lr_schedule: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassWeights {
    /// `balanced`: `n_samples / (n_classes · count(class))`, as scikit-learn.
    Named(String),
    Map(BTreeMap<String, f64>),
}

/// Learning-rate schedules, applied at the start of each epoch (PyTorch's `StepLR`,
/// `ExponentialLR`, `CosineAnnealingLR`, and a linear warm-up in front of any of them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    Constant {
        #[serde(default)]
        warmup_epochs: usize,
    },
    Step {
        step_size: usize,
        #[serde(default = "gamma_step")]
        gamma: f32,
        #[serde(default)]
        warmup_epochs: usize,
    },
    Exponential {
        gamma: f32,
        #[serde(default)]
        warmup_epochs: usize,
    },
    Cosine {
        /// Epochs of one half period (default: the number of epochs).
        t_max: Option<usize>,
        #[serde(default)]
        eta_min: f32,
        #[serde(default)]
        warmup_epochs: usize,
    },
}

fn gamma_step() -> f32 {
    0.1
}

impl LrSchedule {
    /// The learning rate for 0-based `epoch` of `epochs`, from the base rate.
    pub fn lr_at(&self, base: f32, epoch: usize, epochs: usize) -> f32 {
        let warm = match self {
            LrSchedule::Constant { warmup_epochs }
            | LrSchedule::Step { warmup_epochs, .. }
            | LrSchedule::Exponential { warmup_epochs, .. }
            | LrSchedule::Cosine { warmup_epochs, .. } => *warmup_epochs,
        };
        if epoch < warm {
            return base * (epoch + 1) as f32 / (warm + 1) as f32;
        }
        let e = epoch - warm;
        match *self {
            LrSchedule::Constant { .. } => base,
            LrSchedule::Step {
                step_size, gamma, ..
            } => base * gamma.powi((e / step_size.max(1)) as i32),
            LrSchedule::Exponential { gamma, .. } => base * gamma.powi(e as i32),
            LrSchedule::Cosine { t_max, eta_min, .. } => {
                let t = t_max.unwrap_or(epochs.saturating_sub(warm)).max(1) as f32;
                eta_min
                    + (base - eta_min) * (1.0 + (std::f32::consts::PI * e as f32 / t).cos()) / 2.0
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallbacksConfig {
    pub early_stopping: EarlyStoppingConfig,
    pub model_checkpoint: CheckpointConfig,
    pub reduce_lr_on_plateau: Option<ReduceLrConfig>,
    pub terminate_on_nan: bool,
    /// Write every epoch to `logs/<run>.csv` and `logs/<run>.jsonl`.
    pub log_epochs: bool,
}

impl Default for CallbacksConfig {
    fn default() -> Self {
        CallbacksConfig {
            early_stopping: EarlyStoppingConfig::default(),
            model_checkpoint: CheckpointConfig::default(),
            reduce_lr_on_plateau: None,
            terminate_on_nan: true,
            log_epochs: true,
        }
    }
}

/// Keras `EarlyStopping`. `monitor: auto` watches `val_loss` when the validation split has at
/// least 30 rows and `loss` otherwise (a few validation rows make their loss too noisy to pick
/// an epoch by; `data.min_validation_rows` then trains on them instead); `patience: null` is
/// 20 for `val_*` and 10 for `loss`; `min_delta: null` is 0 for `val_*` and 1e-4 for `loss`
/// (scikit-learn's `tol`); `restore_best_weights: null` is
/// false, as in Keras (measured: keeping the last weights scores better on the shipped
/// datasets' test splits than restoring the epoch picked on a few dozen validation rows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EarlyStoppingConfig {
    pub enabled: bool,
    pub monitor: String,
    /// `auto` (max for accuracy-like metrics and R², else min), `min` or `max`.
    pub mode: String,
    pub patience: Option<usize>,
    pub min_delta: Option<f64>,
    /// Restore the best weights at the end, also when the epoch limit ends training.
    /// `null`: no (Keras' default).
    pub restore_best_weights: Option<bool>,
}

impl Default for EarlyStoppingConfig {
    fn default() -> Self {
        EarlyStoppingConfig {
            enabled: true,
            monitor: "auto".into(),
            mode: "auto".into(),
            patience: None,
            min_delta: None,
            restore_best_weights: None,
        }
    }
}

/// Keras `ModelCheckpoint`, into `models/<name>/v<k>/checkpoints/`. Every checkpoint holds the
/// full training state, so any of them can be resumed from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckpointConfig {
    pub enabled: bool,
    pub monitor: String,
    pub mode: String,
    pub save_best_only: bool,
    pub every_n_epochs: usize,
    /// Keep at most this many epoch checkpoints (the resume checkpoint `last` is extra).
    pub keep_last: usize,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            enabled: true,
            monitor: "auto".into(),
            mode: "auto".into(),
            save_best_only: true,
            every_n_epochs: 1,
            keep_last: 3,
        }
    }
}

/// Keras `ReduceLROnPlateau`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReduceLrConfig {
    pub monitor: String,
    pub mode: String,
    pub factor: f32,
    pub patience: usize,
    pub min_delta: f64,
    pub cooldown: usize,
    pub min_lr: f32,
}

impl Default for ReduceLrConfig {
    fn default() -> Self {
        ReduceLrConfig {
            monitor: "auto".into(),
            mode: "auto".into(),
            factor: 0.1,
            patience: 10,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
        }
    }
}

/// Folders, from the global config's `paths:` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Paths {
    pub data: PathBuf,
    pub models: PathBuf,
    pub logs: PathBuf,
    pub experiments: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            data: "data".into(),
            models: "models".into(),
            logs: "logs".into(),
            experiments: "experiments".into(),
        }
    }
}

/// The global `neurite.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalConfig {
    pub paths: Paths,
    /// Defaults for every training run (same keys as a model config).
    pub train: Option<Value>,
    /// Web UI settings (read by `neurite serve`).
    pub ui: Option<Value>,
}

// ---- layering -------------------------------------------------------------------------------

/// A configuration tree with the source of every leaf.
#[derive(Clone, Debug)]
pub struct Layered {
    pub value: Value,
    /// Dotted key path → source name (`default`, a file path, `command line`).
    pub sources: BTreeMap<String, String>,
}

impl Layered {
    pub fn new(defaults: &impl Serialize) -> Result<Layered> {
        let value = serde_json::to_value(defaults).map_err(|e| Error::Config(e.to_string()))?;
        let mut sources = BTreeMap::new();
        leaves("", &value, &mut |p| {
            sources.insert(p, "default".to_string());
        });
        Ok(Layered { value, sources })
    }

    /// Merge `layer` on top (objects key by key; anything else replaces), after checking that
    /// it names only known keys (`T` is the typed config it must fit).
    pub fn push<T: DeserializeOwned + Serialize>(
        &mut self,
        layer: Value,
        source: &str,
    ) -> Result<()> {
        // Validate the layer as merged onto what is below it (a layer may set one field of
        // a tagged section, e.g. `optimizer: {lr: 0.01}`), attributing errors to it.
        let mut value = self.value.clone();
        let mut sources = self.sources.clone();
        merge(&mut value, &layer, "", source, &mut sources);
        check_keys::<T>(&value, &layer, source)?;
        self.value = value;
        self.sources = sources;
        Ok(())
    }

    pub fn build<T: DeserializeOwned>(&self, source: &str) -> Result<T> {
        let de = self.value.clone();
        serde_path_to_error::deserialize(de)
            .map_err(|e| Error::Config(format!("{source}: {}: {}", e.path(), e.inner())))
    }

    /// `key = value  (source)` lines, sorted by key.
    pub fn describe(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        leaves_with_values("", &self.value, &mut |p, v| {
            let src = self
                .sources
                .get(&p)
                .cloned()
                .unwrap_or_else(|| "default".into());
            out.push((p, v, src));
        });
        out
    }
}

/// Set `tree[path[0]][path[1]]... = v`, creating the objects on the way (replacing non-objects).
pub fn set_path(tree: &mut Value, path: &[&str], v: Value) {
    let mut cur = tree;
    for (i, key) in path.iter().enumerate() {
        if i + 1 == path.len() {
            cur[*key] = v;
            return;
        }
        if !cur.get(*key).is_some_and(Value::is_object) {
            cur[*key] = Value::Object(serde_json::Map::new());
        }
        cur = &mut cur[*key];
    }
}

fn leaves(prefix: &str, v: &Value, f: &mut dyn FnMut(String)) {
    leaves_with_values(prefix, v, &mut |p, _| f(p));
}

fn leaves_with_values(prefix: &str, v: &Value, f: &mut dyn FnMut(String, String)) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves_with_values(&p, x, f);
            }
        }
        other => f(prefix.to_string(), tidy_floats(other).to_string()),
    }
}

/// Settings are f32; widened to f64 for JSON they print as `0.8999999761581421`. Print the
/// shortest decimal that reads back as the same f32 instead (`0.9`).
pub fn tidy_floats(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            let short = x as f32;
            if f64::from(short) == x
                && let Some(m) = format!("{short}")
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
            {
                return Value::Number(m);
            }
            v.clone()
        }
        Value::Array(a) => Value::Array(a.iter().map(tidy_floats).collect()),
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, x)| (k.clone(), tidy_floats(x))).collect())
        }
        other => other.clone(),
    }
}

/// Sections that are internally tagged enums, with their tag key.
const TAGGED: [(&str, &str); 2] = [("optimizer", "type"), ("training.lr_schedule", "type")];

fn merge(
    base: &mut Value,
    layer: &Value,
    prefix: &str,
    source: &str,
    sources: &mut BTreeMap<String, String>,
) {
    match (base, layer) {
        (Value::Object(b), Value::Object(l)) => {
            // A tagged section whose variant changes (`optimizer: {type: sgd}` over adam) is
            // replaced whole: the old variant's fields would not fit the new one.
            let tag_changed = TAGGED.iter().any(|(path, tag)| {
                *path == prefix
                    && match (b.get(*tag), l.get(*tag)) {
                        (Some(x), Some(y)) => x != y,
                        _ => false,
                    }
            });
            if tag_changed {
                b.clear();
                sources.retain(|k, _| !k.starts_with(&format!("{prefix}.")));
            }
            for (k, v) in l {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => {
                        merge(slot, v, &p, source, sources)
                    }
                    _ => {
                        b.insert(k.clone(), v.clone());
                        sources.retain(|key, _| key != &p && !key.starts_with(&format!("{p}.")));
                        leaves(&p, v, &mut |leaf| {
                            sources.insert(leaf, source.to_string());
                        });
                    }
                }
            }
        }
        (b, l) => {
            *b = l.clone();
            sources.insert(prefix.to_string(), source.to_string());
        }
    }
}

/// Deserialize the merged tree to find unknown keys and bad values brought in by `layer`,
/// reporting the file, the key path and the closest known key.
fn check_keys<T: DeserializeOwned + Serialize>(
    merged: &Value,
    layer: &Value,
    source: &str,
) -> Result<()> {
    let r: std::result::Result<T, _> = serde_path_to_error::deserialize(merged.clone());
    match r {
        Ok(_) => Ok(()),
        Err(e) => {
            let mut path = e.path().to_string();
            let msg = e.inner().to_string();
            // Internally tagged enums (`optimizer: {type: …}`) hide the path from serde;
            // find the offending key in the tree itself.
            if let Some(unknown) = msg
                .strip_prefix("unknown field `")
                .and_then(|r| r.split('`').next())
                && let Some(found) = find_key(layer, unknown, "")
            {
                path = found;
            }
            Err(Error::Config(format!("{source}: {}", explain(&path, &msg))))
        }
    }
}

/// The dotted path of the first key named `key` in `v`.
fn find_key(v: &Value, key: &str, prefix: &str) -> Option<String> {
    let Value::Object(m) = v else { return None };
    for (k, x) in m {
        let p = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if k == key {
            return Some(p);
        }
        if let Some(found) = find_key(x, key, &p) {
            return Some(found);
        }
    }
    None
}

/// Turn serde's "unknown field `x`, expected one of `a`, `b`" into a message with the full key
/// path and a "did you mean" suggestion.
pub fn explain(path: &str, msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let unknown = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        let full = if path.ends_with(unknown) {
            path.to_string()
        } else {
            let parent = path.rsplit_once('.').map(|(p, _)| p).unwrap_or("");
            if parent.is_empty() || path == "." {
                unknown.to_string()
            } else {
                format!("{parent}.{unknown}")
            }
        };
        let best = expected
            .iter()
            .map(|k| (strsim::jaro_winkler(unknown, k), *k))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(s, _)| *s > 0.75);
        let hint = match best {
            Some((_, k)) => format!("; did you mean `{k}`?"),
            None => String::new(),
        };
        return format!(
            "unknown key `{full}`{hint} (known here: {})",
            expected.join(", ")
        );
    }
    if path.is_empty() || path == "." {
        msg.to_string()
    } else {
        format!("{path}: {msg}")
    }
}

/// Read a YAML (or JSON) file as a tree.
pub fn read_tree(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let v: Value = serde_yaml_ng::from_str(&text)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    match v {
        Value::Object(_) => Ok(v),
        Value::Null => Ok(Value::Object(Default::default())),
        _ => Err(Error::Config(format!(
            "{}: expected a mapping of keys at the top level",
            path.display()
        ))),
    }
}

/// Where the global config lives: `$NEURITE_CONFIG`, else `./neurite.yaml` if present.
pub fn global_config_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("NEURITE_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from("neurite.yaml");
    p.exists().then_some(p)
}

/// Load the global config (defaults when there is none).
pub fn load_global(path: Option<&Path>) -> Result<GlobalConfig> {
    let Some(p) = path else {
        return Ok(GlobalConfig::default());
    };
    let tree = read_tree(p)?;
    let mut l = Layered::new(&GlobalConfig::default())?;
    l.push::<GlobalConfig>(tree, &p.display().to_string())?;
    l.build(&p.display().to_string())
}

/// The model config's section read by `neurite tune` (and skipped by training).
pub const TUNE_SECTION: &str = "tune";

/// The merged training configuration: defaults < global `train:` < model config < flags.
pub fn load_train_config(
    global: &GlobalConfig,
    global_src: Option<&Path>,
    model_config: Option<&Path>,
    flags: Value,
) -> Result<(TrainConfig, Layered)> {
    let mut l = Layered::new(&TrainConfig::default())?;
    if let Some(t) = &global.train {
        let src = global_src
            .map(|p| format!("{} (train:)", p.display()))
            .unwrap_or_else(|| "neurite.yaml (train:)".into());
        l.push::<TrainConfig>(t.clone(), &src)?;
    }
    if let Some(p) = model_config {
        let mut tree = read_tree(p)?;
        // The `tune:` section belongs to `neurite tune` (the search space and study settings);
        // it is not a training setting.
        if let Value::Object(m) = &mut tree {
            m.remove(TUNE_SECTION);
        }
        l.push::<TrainConfig>(tree, &p.display().to_string())?;
    }
    l.push::<TrainConfig>(flags, "command line")?;
    let cfg: TrainConfig = l.build("configuration")?;
    cfg.validate()?;
    Ok((cfg, l))
}

impl TrainConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if !["auto", "classification", "multilabel", "regression"].contains(&self.task.as_str()) {
            return bad(format!(
                "task: expected auto, classification, multilabel or regression, got {:?}",
                self.task
            ));
        }
        if ![
            "auto",
            "mse",
            "mae",
            "huber",
            "cross_entropy",
            "binary_cross_entropy",
        ]
        .contains(&self.loss.as_str())
        {
            return bad(format!(
                "loss: unknown loss {:?} (mse, mae, huber, cross_entropy, binary_cross_entropy or auto)",
                self.loss
            ));
        }
        if !["auto", "softmax", "sigmoid", "linear"]
            .contains(&self.model.output_activation.as_str())
        {
            return bad(format!(
                "model.output_activation: expected auto, softmax, sigmoid or linear, got {:?}",
                self.model.output_activation
            ));
        }
        if self.training.epochs == 0 {
            return bad("training.epochs must be at least 1".into());
        }
        if self.training.batch_size == 0 {
            return bad("training.batch_size must be at least 1".into());
        }
        for (i, h) in self.model.hidden_layers.iter().enumerate() {
            if h.units == 0 {
                return bad(format!("model.hidden_layers[{i}].units must be at least 1"));
            }
            if !(0.0..1.0).contains(&h.dropout) {
                return bad(format!(
                    "model.hidden_layers[{i}].dropout must be in [0, 1)"
                ));
            }
        }
        self.data.validate()?;
        if let Some(c) = self.training.gradient_clip_norm
            && (c.is_nan() || c <= 0.0)
        {
            return bad(format!("training.gradient_clip_norm must be > 0, got {c}"));
        }
        if let Some(ClassWeights::Named(n)) = &self.training.class_weights
            && n != "balanced"
        {
            return bad(format!(
                "training.class_weights: expected `balanced` or a map of label: weight, got {n:?}"
            ));
        }
        for (name, mode) in [
            (
                "callbacks.early_stopping.mode",
                &self.callbacks.early_stopping.mode,
            ),
            (
                "callbacks.model_checkpoint.mode",
                &self.callbacks.model_checkpoint.mode,
            ),
        ] {
            if !["auto", "min", "max"].contains(&mode.as_str()) {
                return bad(format!("{name}: expected auto, min or max, got {mode:?}"));
            }
        }
        if let Some(r) = &self.callbacks.reduce_lr_on_plateau
            && !(r.factor > 0.0 && r.factor < 1.0)
        {
            return bad(format!(
                "callbacks.reduce_lr_on_plateau.factor must be in (0, 1), got {}",
                r.factor
            ));
        }
        if matches!(
            self.training.lr_schedule,
            Some(LrSchedule::Step { step_size: 0, .. })
        ) {
            return bad("training.lr_schedule.step_size must be at least 1".into());
        }
        self.optimizer.validate()?;
        Ok(())
    }
}

/// The commented starter config `neurite init` writes; it parses to the defaults.
pub const STARTER_CONFIG: &str = include_str!("config_template.yaml");

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layers_merge_with_provenance() {
        let mut l = Layered::new(&TrainConfig::default()).unwrap();
        l.push::<TrainConfig>(
            json!({"training": {"epochs": 5}, "optimizer": {"type": "sgd", "momentum": 0.9}}),
            "m.yaml",
        )
        .unwrap();
        l.push::<TrainConfig>(json!({"training": {"batch_size": 8}}), "command line")
            .unwrap();
        let c: TrainConfig = l.build("x").unwrap();
        assert_eq!(c.training.epochs, 5);
        assert_eq!(c.training.batch_size, 8);
        assert_eq!(c.training.seed, 42);
        assert!(
            matches!(c.optimizer, OptimizerSpec::Sgd { momentum, lr, .. } if momentum == 0.9 && lr == 0.01)
        );
        assert_eq!(l.sources["training.epochs"], "m.yaml");
        assert_eq!(l.sources["training.batch_size"], "command line");
        assert_eq!(l.sources["training.seed"], "default");
        assert_eq!(l.sources["optimizer.type"], "m.yaml");
        assert!(
            !l.sources.contains_key("optimizer.beta1"),
            "adam keys dropped when the type changes"
        );
    }

    #[test]
    fn a_model_name_does_not_reset_other_settings() {
        // Regression: `name` (the model's name) was taken for an enum tag and wiped the tree.
        let mut l = Layered::new(&TrainConfig::default()).unwrap();
        l.push::<TrainConfig>(
            json!({"data": {"test_fraction": 0.0}, "optimizer": {"type": "adamw"}}),
            "c.yaml",
        )
        .unwrap();
        l.push::<TrainConfig>(
            json!({"name": "m", "training": {"lr_schedule": {"type": "step", "step_size": 3}}}),
            "command line",
        )
        .unwrap();
        l.push::<TrainConfig>(
            json!({"training": {"lr_schedule": {"type": "exponential", "gamma": 0.5}}}),
            "command line",
        )
        .unwrap();
        let c: TrainConfig = l.build("x").unwrap();
        assert_eq!(c.name.as_deref(), Some("m"));
        assert_eq!(c.data.test_fraction, 0.0);
        assert!(matches!(c.optimizer, OptimizerSpec::AdamW { .. }));
        assert!(
            matches!(c.training.lr_schedule, Some(LrSchedule::Exponential { gamma, .. }) if gamma == 0.5)
        );
    }

    #[test]
    fn unknown_keys_name_path_and_suggest() {
        let mut l = Layered::new(&TrainConfig::default()).unwrap();
        let e = l
            .push::<TrainConfig>(json!({"training": {"epoch": 5}}), "model_config.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("model_config.yaml")
                && e.contains("training.epoch")
                && e.contains("did you mean `epochs`"),
            "{e}"
        );
        let e = l
            .push::<TrainConfig>(json!({"modle": {}}), "m.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`modle`") && e.contains("did you mean `model`"),
            "{e}"
        );
        let e = l
            .push::<TrainConfig>(
                json!({"optimizer": {"type": "adam", "beta": 0.9}}),
                "m.yaml",
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("optimizer.beta") && e.contains("beta1"), "{e}");
        let e = l
            .push::<TrainConfig>(json!({"training": {"epochs": "many"}}), "m.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("training.epochs"), "{e}");
    }

    #[test]
    fn a_tune_section_is_not_a_training_setting() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.yaml");
        std::fs::write(
            &p,
            "training: {epochs: 4}\ntune: {sampler: tpe, space: {}}\n",
        )
        .unwrap();
        let (c, _) =
            load_train_config(&GlobalConfig::default(), None, Some(&p), json!({})).unwrap();
        assert_eq!(c.training.epochs, 4);
    }

    #[test]
    fn starter_config_is_the_defaults() {
        let v: Value = serde_yaml_ng::from_str(STARTER_CONFIG).unwrap();
        let mut l = Layered::new(&TrainConfig::default()).unwrap();
        l.push::<TrainConfig>(v, "starter").unwrap();
        let c: TrainConfig = l.build("starter").unwrap();
        assert_eq!(c, TrainConfig::default());
    }

    #[test]
    fn schedules() {
        let s = LrSchedule::Step {
            step_size: 2,
            gamma: 0.5,
            warmup_epochs: 0,
        };
        assert_eq!(
            [0, 1, 2, 3, 4].map(|e| s.lr_at(1.0, e, 10)),
            [1.0, 1.0, 0.5, 0.5, 0.25]
        );
        let c = LrSchedule::Cosine {
            t_max: Some(4),
            eta_min: 0.0,
            warmup_epochs: 0,
        };
        assert!((c.lr_at(1.0, 2, 4) - 0.5).abs() < 1e-6 && (c.lr_at(1.0, 4, 4)).abs() < 1e-6);
        let w = LrSchedule::Constant { warmup_epochs: 3 };
        assert_eq!(
            [0, 1, 2, 3].map(|e| w.lr_at(1.0, e, 10)),
            [0.25, 0.5, 0.75, 1.0]
        );
        let x = LrSchedule::Exponential {
            gamma: 0.5,
            warmup_epochs: 1,
        };
        assert_eq!([0, 1, 2].map(|e| x.lr_at(1.0, e, 10)), [0.5, 1.0, 0.5]);
    }
}
