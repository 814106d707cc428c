//! Training flags shared by `train`, `tune` and `config show`; they form the top layer of the
//! configuration (see `neurite_pipeline::config`).

use neurite_pipeline::config::set_path as set;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use neurite_pipeline::config::{self, GlobalConfig, Layered, TrainConfig};
use serde_json::{Map, Value, json};

#[derive(Args, Clone, Default)]
pub struct TrainFlags {
    /// Model configuration file (YAML); see `neurite init`.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Target column, or several comma-separated (multi-output regression, multi-label).
    #[arg(long, short)]
    pub target: Option<String>,
    /// Registry name (default: the data file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Experiment to record the run under (default: the model name).
    #[arg(long)]
    pub experiment: Option<String>,
    /// classification, multilabel or regression (default: inferred from the target).
    #[arg(long)]
    pub task: Option<String>,
    /// Maximum number of epochs (early stopping may end sooner).
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Random seed (splits, initialisation, shuffling, dropout).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Optimizer: sgd, adam, adamw, rmsprop.
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Learning rate.
    #[arg(long)]
    pub lr: Option<f32>,
    #[arg(long)]
    pub weight_decay: Option<f32>,
    /// Hidden layer sizes, e.g. 128,64.
    #[arg(long)]
    pub hidden: Option<String>,
    /// Hidden activation: relu, leaky_relu, elu, gelu, sigmoid, tanh.
    #[arg(long)]
    pub activation: Option<String>,
    /// Dropout rate after each hidden layer.
    #[arg(long)]
    pub dropout: Option<f32>,
    /// Loss: mse, mae, huber, cross_entropy, binary_cross_entropy.
    #[arg(long)]
    pub loss: Option<String>,
    /// Early stopping: auto, val_loss, loss, a metric such as val_accuracy, or none.
    #[arg(long)]
    pub early_stopping: Option<String>,
    #[arg(long)]
    pub patience: Option<usize>,
    /// Class weights: balanced.
    #[arg(long)]
    pub class_weights: Option<String>,
    /// A numeric column of per-row weights.
    #[arg(long)]
    pub sample_weight_column: Option<String>,
    /// Clip gradients to this global norm.
    #[arg(long)]
    pub clip_norm: Option<f32>,
    /// cpu, cuda, cuda:N or auto.
    #[arg(long)]
    pub device: Option<String>,
    /// Data options: reading, types, missing values, scaling, encoding, features, selection,
    /// augmentation (the config's `data:` section).
    #[command(flatten)]
    pub data: super::data_args::DataArgs,
}

/// The keys of `v` that differ from `base` (recursively), so that flags override only what
/// they set.
fn changed(v: &Value, base: &Value) -> Option<Value> {
    match (v, base) {
        (Value::Object(a), Value::Object(b)) => {
            let m: Map<String, Value> = a
                .iter()
                .filter_map(|(k, x)| match b.get(k) {
                    Some(y) => changed(x, y).map(|d| (k.clone(), d)),
                    None => Some((k.clone(), x.clone())),
                })
                .collect();
            (!m.is_empty()).then_some(Value::Object(m))
        }
        _ if v == base => None,
        _ => Some(v.clone()),
    }
}

impl TrainFlags {
    /// The flags as a configuration layer.
    pub fn layer(&self) -> Result<Value> {
        let mut t = Value::Object(Map::new());
        if let Some(v) = &self.target {
            set(&mut t, &["target"], json!(super::split_list(v)));
        }
        if let Some(v) = &self.name {
            set(&mut t, &["name"], json!(v));
        }
        if let Some(v) = &self.experiment {
            set(&mut t, &["experiment"], json!(v));
        }
        if let Some(v) = &self.task {
            set(&mut t, &["task"], json!(v));
        }
        if let Some(v) = self.epochs {
            set(&mut t, &["training", "epochs"], json!(v));
        }
        if let Some(v) = self.batch_size {
            set(&mut t, &["training", "batch_size"], json!(v));
        }
        if let Some(v) = self.seed {
            set(&mut t, &["training", "seed"], json!(v));
        }
        if let Some(v) = &self.device {
            set(&mut t, &["training", "device"], json!(v));
        }
        if let Some(v) = &self.optimizer {
            set(&mut t, &["optimizer", "type"], json!(v));
        }
        if let Some(v) = self.lr {
            set(&mut t, &["optimizer", "lr"], json!(v));
        }
        if let Some(v) = self.weight_decay {
            set(&mut t, &["optimizer", "weight_decay"], json!(v));
        }
        if let Some(v) = &self.loss {
            set(&mut t, &["loss"], json!(v));
        }
        if let Some(v) = self.clip_norm {
            set(&mut t, &["training", "gradient_clip_norm"], json!(v));
        }
        if let Some(v) = &self.class_weights {
            set(&mut t, &["training", "class_weights"], json!(v));
        }
        if let Some(v) = &self.sample_weight_column {
            set(&mut t, &["training", "sample_weight_column"], json!(v));
        }
        if let Some(h) = &self.hidden {
            let layers = super::split_list(h)
                .iter()
                .map(|s| {
                    s.parse::<usize>()
                        .with_context(|| format!("--hidden: {s:?} is not a layer size"))
                        .map(|u| json!({"units": u}))
                })
                .collect::<Result<Vec<_>>>()?;
            set(&mut t, &["model", "hidden_layers"], Value::Array(layers));
        }
        match self.early_stopping.as_deref() {
            None => {}
            Some("none" | "off" | "false") => set(
                &mut t,
                &["callbacks", "early_stopping", "enabled"],
                json!(false),
            ),
            Some(m) => {
                set(
                    &mut t,
                    &["callbacks", "early_stopping", "enabled"],
                    json!(true),
                );
                set(
                    &mut t,
                    &["callbacks", "early_stopping", "monitor"],
                    json!(m),
                );
            }
        }
        if let Some(p) = self.patience {
            set(
                &mut t,
                &["callbacks", "early_stopping", "patience"],
                json!(p),
            );
        }
        Ok(t)
    }

    /// The data flags (without `--data-config`) as a sparse `data:` layer.
    fn data_layer(&self) -> Result<Option<Value>> {
        let mut only_flags = self.data.clone();
        only_flags.data_config = None;
        let cfg = only_flags.to_config()?;
        let base = serde_json::to_value(neurite_pipeline::data::DataConfig::default())?;
        Ok(changed(&serde_json::to_value(cfg)?, &base))
    }

    /// Merge defaults < neurite.yaml < --config < --data-config < flags.
    pub fn resolve(
        &self,
        global: &GlobalConfig,
        global_path: Option<&std::path::Path>,
    ) -> Result<(TrainConfig, Layered)> {
        let mut flags = self.layer()?;
        if let Some(d) = self.data_layer()? {
            flags["data"] = d;
        }
        let (mut cfg, mut layered) = match &self.data.data_config {
            None => config::load_train_config(global, global_path, self.config.as_deref(), flags)?,
            Some(path) => {
                // `--data-config` is its own layer, between the model config and the flags.
                let (_, mut l) = config::load_train_config(
                    global,
                    global_path,
                    self.config.as_deref(),
                    json!({}),
                )?;
                let tree = config::read_tree(path)?;
                l.push::<TrainConfig>(json!({ "data": tree }), &path.display().to_string())?;
                l.push::<TrainConfig>(flags, "command line")?;
                let c: TrainConfig = l.build("configuration")?;
                c.validate()?;
                (c, l)
            }
        };
        // --activation / --dropout apply to every hidden layer of the merged configuration.
        if self.activation.is_some() || self.dropout.is_some() {
            let mut layers = serde_json::to_value(&cfg.model.hidden_layers)?;
            for l in layers.as_array_mut().into_iter().flatten() {
                if let Some(a) = &self.activation {
                    if neurite_engine::nn::ActivationSpec::parse(a).is_none() {
                        bail!(
                            "--activation: unknown activation {a:?} (relu, leaky_relu, elu, gelu, sigmoid, tanh, linear)"
                        );
                    }
                    l["activation"] = json!({"name": a});
                }
                if let Some(d) = self.dropout {
                    l["dropout"] = json!(d);
                }
            }
            layered
                .push::<TrainConfig>(json!({"model": {"hidden_layers": layers}}), "command line")?;
            cfg = layered.build("configuration")?;
            cfg.validate()?;
        }
        Ok((cfg, layered))
    }
}
