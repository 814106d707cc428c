//! The search space: named hyperparameters with a distribution each, some conditional on
//! others, read from YAML and checked with the key path of every mistake.
//!
//! ```yaml
//! space:
//!   lr: {type: log_uniform, low: 1.0e-4, high: 0.1}
//!   batch_size: {type: choice, values: [16, 32, 64, 128]}
//!   optimizer: {type: choice, values: [adam, adamw, sgd]}
//!   momentum: {type: uniform, low: 0.0, high: 0.99, when: {optimizer: sgd}}
//!   weight_decay: {type: log_uniform, low: 1.0e-6, high: 1.0e-2}
//!   dropout: {type: uniform, low: 0.0, high: 0.5}
//!   layers: {type: int, low: 1, high: 3}
//!   units: {type: choice, values: [32, 64, 128, 256]}
//!   activation: {type: choice, values: [relu, gelu, tanh]}
//!   patience: {type: int, low: 5, high: 30}
//! ```
//!
//! Distributions: `uniform` and `log_uniform` (`low`, `high`), `int` (`low`, `high`, `step`,
//! `log`), `choice` (`values`: numbers, strings or booleans).
//!
//! Names: `lr` (or `learning_rate`), `optimizer`, `weight_decay`, `momentum` → the optimizer;
//! `batch_size`, `epochs` → training; `patience` → early stopping; `layers` (hidden layer
//! count), `units` (units of every hidden layer, drawn per layer), `units_<k>` (layer k alone),
//! `dropout`, `activation`, `batch_norm` → every hidden layer. Any dotted path of the training
//! configuration (`training.gradient_clip_norm`, `data.scaler`) is a hyperparameter too.
//!
//! Conditions: `when: {PARAM: VALUE}` or `{PARAM: [VALUES]}` (one of), or
//! `{PARAM: {min: K}}` (at least). `units` expands to `units_1 … units_<max layers>`, and
//! `units_k` exists only when `layers ≥ k` — the tree structure TPE was designed for.
//!
//! Every value a hyperparameter can take (both bounds, every choice) is applied to the base
//! configuration and validated when the space is read, so a bad value fails before the first
//! trial with the key that holds it. Combinations are checked when a trial builds its
//! configuration (a failing one is recorded as a failed trial).

use crate::config::set_path as set;
use std::collections::{BTreeMap, BTreeSet};

use neurite_engine::nn::ActivationSpec;
use neurite_kernels::rng::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::config::{HiddenLayer, Layered, TrainConfig, explain};
use crate::error::{Error, Result};

/// A trial's hyperparameters: name → value (only the active ones).
pub type Params = BTreeMap<String, Value>;

/// Hyperparameter names with a fixed meaning (besides `units_<k>` and dotted paths).
pub const KNOWN: [&str; 13] = [
    "lr",
    "learning_rate",
    "optimizer",
    "weight_decay",
    "momentum",
    "batch_size",
    "epochs",
    "patience",
    "layers",
    "units",
    "dropout",
    "activation",
    "batch_norm",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    Uniform {
        low: f64,
        high: f64,
    },
    LogUniform {
        low: f64,
        high: f64,
    },
    Int {
        low: i64,
        high: i64,
        #[serde(default = "one")]
        step: i64,
        #[serde(default)]
        log: bool,
    },
    Choice {
        values: Vec<Value>,
    },
}

fn one() -> i64 {
    1
}

/// A condition on an earlier-drawn hyperparameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// `PARAM ≥ min` (numeric).
    AtLeast { param: String, min: f64 },
    /// `PARAM` is one of `values`.
    OneOf { param: String, values: Vec<Value> },
}

impl Condition {
    pub fn param(&self) -> &str {
        match self {
            Condition::AtLeast { param, .. } | Condition::OneOf { param, .. } => param,
        }
    }

    fn holds(&self, params: &Params) -> bool {
        match self {
            Condition::AtLeast { param, min } => params
                .get(param)
                .and_then(Value::as_f64)
                .is_some_and(|v| v >= *min),
            Condition::OneOf { param, values } => params
                .get(param)
                .is_some_and(|v| values.iter().any(|w| same(v, w))),
        }
    }

    fn to_json(&self) -> (String, Value) {
        match self {
            Condition::AtLeast { param, min } => (param.clone(), json!({"min": min})),
            Condition::OneOf { param, values } => (param.clone(), json!(values)),
        }
    }
}

/// Equal values, with 64 and 64.0 the same.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub dist: Dist,
    /// All must hold for the parameter to exist in a trial.
    pub when: Vec<Condition>,
}

/// The search space, parents before the parameters conditional on them.
#[derive(Clone, Debug, PartialEq)]
pub struct Space {
    pub params: Vec<Param>,
}

// ---- distributions --------------------------------------------------------------------------

impl Dist {
    /// Bounds of the internal coordinate: the value itself, its logarithm for log scales, and
    /// for integers half a step beyond each end so that rounding gives every integer the same
    /// share.
    pub fn internal_bounds(&self) -> (f64, f64) {
        match self {
            Dist::Uniform { low, high } => (*low, *high),
            Dist::LogUniform { low, high } => (low.ln(), high.ln()),
            Dist::Int {
                low,
                high,
                step,
                log,
            } => {
                let h = *step as f64 / 2.0;
                if *log {
                    ((*low as f64 - 0.5).ln(), (*high as f64 + 0.5).ln())
                } else {
                    (*low as f64 - h, *high as f64 + h)
                }
            }
            Dist::Choice { values } => (0.0, values.len() as f64),
        }
    }

    /// The internal coordinate of a value (`None` when the value is not of this
    /// distribution).
    pub fn to_internal(&self, v: &Value) -> Option<f64> {
        match self {
            Dist::Uniform { .. } => v.as_f64(),
            Dist::LogUniform { .. } => v.as_f64().filter(|x| *x > 0.0).map(f64::ln),
            Dist::Int { log, .. } => {
                let x = v.as_f64()?;
                if *log {
                    (x > 0.0).then(|| x.ln())
                } else {
                    Some(x)
                }
            }
            Dist::Choice { values } => values
                .iter()
                .position(|w| same(v, w))
                .map(|i| i as f64 + 0.5),
        }
    }

    /// The value at an internal coordinate (clamped into range; integers rounded to the step).
    pub fn from_internal(&self, x: f64) -> Value {
        let (lo, hi) = self.internal_bounds();
        let x = if x.is_finite() {
            x.clamp(lo, hi)
        } else {
            (lo + hi) / 2.0
        };
        match self {
            Dist::Uniform { low, high } => json!(x.clamp(*low, *high)),
            Dist::LogUniform { low, high } => json!(x.exp().clamp(*low, *high)),
            Dist::Int {
                low,
                high,
                step,
                log,
            } => {
                let raw = if *log { x.exp() } else { x };
                let k = ((raw - *low as f64) / *step as f64).round().max(0.0) as i64;
                let v = (low + k * step).min(*high);
                // The top value on the step grid (high itself when it lies on it).
                let top = low + (high - low) / step * step;
                json!(v.min(top))
            }
            Dist::Choice { values } => {
                let i = (x.floor().max(0.0) as usize).min(values.len().saturating_sub(1));
                values.get(i).cloned().unwrap_or(Value::Null)
            }
        }
    }

    /// The value's position in [0, 1] (for the GP, importances and the parallel-coordinates
    /// chart).
    pub fn to_unit(&self, v: &Value) -> Option<f64> {
        let (lo, hi) = self.internal_bounds();
        let x = self.to_internal(v)?;
        Some(if hi > lo {
            ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
        } else {
            0.5
        })
    }

    pub fn from_unit(&self, u: f64) -> Value {
        let (lo, hi) = self.internal_bounds();
        self.from_internal(lo + u.clamp(0.0, 1.0) * (hi - lo))
    }

    /// A value drawn from the prior: uniform on the internal coordinate (log-uniform for log
    /// scales, every integer step and every choice equally likely).
    pub fn sample(&self, rng: &mut Rng) -> Value {
        match self {
            Dist::Int {
                low,
                high,
                step,
                log: false,
            } => {
                let n = ((high - low) / step) as u64 + 1;
                json!(low + rng.below(n) as i64 * step)
            }
            Dist::Choice { values } => values
                .get(rng.below(values.len().max(1) as u64) as usize)
                .cloned()
                .unwrap_or(Value::Null),
            _ => {
                let (lo, hi) = self.internal_bounds();
                self.from_internal(lo + rng.next_f64() * (hi - lo))
            }
        }
    }

    /// Grid values: every choice, every integer when there are at most `n`, else `n` evenly
    /// spaced points on the internal coordinate (both bounds included).
    pub fn grid(&self, n: usize) -> Vec<Value> {
        let n = n.max(1);
        let mut out: Vec<Value> = match self {
            Dist::Choice { values } => values.clone(),
            Dist::Int {
                low, high, step, ..
            } if (((high - low) / step) as usize) < n => (0..=(high - low) / step)
                .map(|k| json!(low + k * step))
                .collect(),
            _ => {
                // The exact bounds, not the integer half-step margins.
                let (lo, hi) = match self {
                    Dist::Uniform { low, high } => (*low, *high),
                    Dist::LogUniform { low, high } => (low.ln(), high.ln()),
                    Dist::Int { low, high, log, .. } => {
                        if *log {
                            ((*low as f64).ln(), (*high as f64).ln())
                        } else {
                            (*low as f64, *high as f64)
                        }
                    }
                    Dist::Choice { .. } => (0.0, 0.0),
                };
                (0..n)
                    .map(|i| {
                        let t = if n == 1 {
                            0.5
                        } else {
                            i as f64 / (n - 1) as f64
                        };
                        let x = lo + t * (hi - lo);
                        match self {
                            // Land exactly on the bounds (no exp(ln(x)) round-off).
                            Dist::LogUniform { low, high } if i == 0 || i + 1 == n => {
                                json!(if i == 0 { *low } else { *high })
                            }
                            Dist::LogUniform { .. } => json!(x.exp()),
                            Dist::Int { log: true, .. } => self.from_internal(x.exp().ln()),
                            _ => self.from_internal(x),
                        }
                    })
                    .collect()
            }
        };
        let mut seen: Vec<Value> = Vec::new();
        out.retain(|v| {
            let new = !seen.iter().any(|s| same(s, v));
            if new {
                seen.push(v.clone());
            }
            new
        });
        out
    }

    /// Whether the values are numbers on a continuous scale (the GP's home ground).
    pub fn is_continuous(&self) -> bool {
        matches!(self, Dist::Uniform { .. } | Dist::LogUniform { .. })
    }

    /// The values worth trying on the base configuration when the space is read.
    fn probes(&self) -> Vec<Value> {
        match self {
            Dist::Uniform { low, high } | Dist::LogUniform { low, high } => {
                vec![json!(low), json!(high)]
            }
            Dist::Int { low, high, .. } => vec![json!(low), json!(high)],
            Dist::Choice { values } => values.clone(),
        }
    }

    /// The smallest and largest numeric value (for `layers`).
    fn numeric_range(&self) -> Option<(f64, f64)> {
        match self {
            Dist::Uniform { low, high } | Dist::LogUniform { low, high } => Some((*low, *high)),
            Dist::Int { low, high, .. } => Some((*low as f64, *high as f64)),
            Dist::Choice { values } => {
                let nums: Vec<f64> = values.iter().filter_map(Value::as_f64).collect();
                (!nums.is_empty() && nums.len() == values.len()).then(|| {
                    nums.iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                            (a.min(v), b.max(v))
                        })
                })
            }
        }
    }
}

// ---- parsing --------------------------------------------------------------------------------

fn cfg_err(origin: &str, path: &str, msg: impl std::fmt::Display) -> Error {
    Error::Config(format!("{origin}: {path}: {msg}"))
}

/// The closest of `known` to `name`, if close enough to suggest.
fn suggest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (strsim::jaro_winkler(name, k), k))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(s, _)| *s > 0.75)
        .map(|(_, k)| k)
}

fn units_layer(name: &str) -> Option<usize> {
    name.strip_prefix("units_")
        .and_then(|k| k.parse().ok())
        .filter(|&k| k >= 1)
}

fn parse_dist(spec: &Value, origin: &str, path: &str) -> Result<(Dist, Option<Value>)> {
    let Value::Object(m) = spec else {
        return Err(cfg_err(
            origin,
            path,
            "expected a mapping such as {type: uniform, low: 0.0, high: 0.5}",
        ));
    };
    let mut m = m.clone();
    let when = m.remove("when");
    let de = serde_path_to_error::deserialize::<_, Dist>(Value::Object(m));
    let dist = de.map_err(|e| {
        let inner = e.inner().to_string();
        let sub = e.path().to_string();
        let unknown = inner
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next());
        let at = match (sub.is_empty() || sub == ".", unknown) {
            // Tagged enums hide the field's path: it sits right under the parameter.
            (true, Some(u)) => format!("{path}.{u}"),
            (true, None) => path.to_string(),
            (false, _) => format!("{path}.{sub}"),
        };
        if let Some(rest) = inner.strip_prefix("unknown variant `") {
            let bad = rest.split('`').next().unwrap_or("");
            let kinds = ["uniform", "log_uniform", "int", "choice"];
            let hint = suggest(bad, kinds.into_iter())
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            return cfg_err(
                origin,
                &format!("{path}.type"),
                format!("unknown distribution `{bad}`{hint} (uniform, log_uniform, int, choice)"),
            );
        }
        if inner.starts_with("missing field `type`") {
            return cfg_err(
                origin,
                path,
                "missing `type` (uniform, log_uniform, int or choice)",
            );
        }
        // `explain` turns "unknown field" into the full key path with a suggestion.
        Error::Config(format!("{origin}: {}", explain(&at, &inner)))
    })?;
    let bad = |m: String| Err(cfg_err(origin, path, m));
    match &dist {
        Dist::Uniform { low, high } | Dist::LogUniform { low, high } => {
            if !low.is_finite() || !high.is_finite() {
                return bad(format!("low and high must be finite, got {low} and {high}"));
            }
            if low > high {
                return bad(format!("low ({low}) is greater than high ({high})"));
            }
            if matches!(dist, Dist::LogUniform { .. }) && *low <= 0.0 {
                return bad(format!(
                    "a log scale needs positive bounds, got low = {low}{}",
                    if *high <= 0.0 {
                        format!(" and high = {high}")
                    } else {
                        String::new()
                    }
                ));
            }
        }
        Dist::Int {
            low,
            high,
            step,
            log,
        } => {
            if low > high {
                return bad(format!("low ({low}) is greater than high ({high})"));
            }
            if *step < 1 {
                return bad(format!("step must be at least 1, got {step}"));
            }
            if *log && *low < 1 {
                return bad(format!(
                    "a log scale needs positive bounds, got low = {low}"
                ));
            }
            if *log && *step != 1 {
                return bad("step and log cannot be combined".into());
            }
        }
        Dist::Choice { values } => {
            if values.is_empty() {
                return Err(cfg_err(
                    origin,
                    &format!("{path}.values"),
                    "the choice list is empty",
                ));
            }
            for (i, v) in values.iter().enumerate() {
                if !(v.is_number() || v.is_string() || v.is_boolean()) {
                    return Err(cfg_err(
                        origin,
                        &format!("{path}.values[{i}]"),
                        format!("a choice is a number, a string or a boolean, got {v}"),
                    ));
                }
                if values[..i].iter().any(|w| same(v, w)) {
                    return Err(cfg_err(
                        origin,
                        &format!("{path}.values[{i}]"),
                        format!("{v} is listed twice"),
                    ));
                }
            }
        }
    }
    Ok((dist, when))
}

fn parse_when(
    when: &Value,
    origin: &str,
    path: &str,
    specs: &BTreeMap<String, Dist>,
) -> Result<Vec<Condition>> {
    let Value::Object(m) = when else {
        return Err(cfg_err(
            origin,
            path,
            "expected a mapping such as {optimizer: sgd} or {layers: {min: 2}}",
        ));
    };
    let mut out = Vec::new();
    for (param, cond) in m {
        let at = format!("{path}.{param}");
        let Some(dist) = specs.get(param) else {
            let hint = suggest(param, specs.keys().map(String::as_str))
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_default();
            return Err(cfg_err(
                origin,
                &at,
                format!("no hyperparameter `{param}` in the space{hint}"),
            ));
        };
        let c = match cond {
            Value::Object(o) => {
                let min = o.get("min").and_then(Value::as_f64);
                match (min, o.len()) {
                    (Some(min), 1) => Condition::AtLeast {
                        param: param.clone(),
                        min,
                    },
                    _ => {
                        return Err(cfg_err(
                            origin,
                            &at,
                            "expected a value, a list of values or {min: NUMBER}",
                        ));
                    }
                }
            }
            Value::Array(vals) => Condition::OneOf {
                param: param.clone(),
                values: vals.clone(),
            },
            v => Condition::OneOf {
                param: param.clone(),
                values: vec![v.clone()],
            },
        };
        if let (Condition::OneOf { values, .. }, Dist::Choice { values: allowed }) = (&c, dist) {
            for v in values {
                if !allowed.iter().any(|w| same(v, w)) {
                    return Err(cfg_err(
                        origin,
                        &at,
                        format!("{v} is not one of the choices of `{param}`"),
                    ));
                }
            }
        }
        out.push(c);
    }
    Ok(out)
}

impl Space {
    /// Parse the `space:` mapping. `origin` is the file and `at` the mapping's key path (for
    /// messages); `base` is the configuration the trials start from (its hidden layer count
    /// sizes `units` when `layers` is not tuned).
    pub fn parse(
        tree: &BTreeMap<String, Value>,
        origin: &str,
        at: &str,
        base: &TrainConfig,
    ) -> Result<Space> {
        if tree.is_empty() {
            return Err(cfg_err(origin, at, "the search space is empty"));
        }
        let mut specs: BTreeMap<String, Dist> = BTreeMap::new();
        let mut whens: BTreeMap<String, Value> = BTreeMap::new();
        for (name, spec) in tree {
            let path = format!("{at}.{name}");
            let known = KNOWN.contains(&name.as_str()) || units_layer(name).is_some();
            if !known && !name.contains('.') {
                let hint = suggest(name, KNOWN.into_iter())
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                return Err(cfg_err(
                    origin,
                    &path,
                    format!(
                        "unknown hyperparameter `{name}`{hint} (known: {}, units_<k>, or a dotted configuration path such as optimizer.momentum)",
                        KNOWN.join(", ")
                    ),
                ));
            }
            if name == "learning_rate" && tree.contains_key("lr") {
                return Err(cfg_err(
                    origin,
                    &path,
                    "`lr` and `learning_rate` are the same",
                ));
            }
            let (dist, when) = parse_dist(spec, origin, &path)?;
            specs.insert(name.clone(), dist);
            if let Some(w) = when {
                whens.insert(name.clone(), w);
            }
        }
        let mut conds: BTreeMap<String, Vec<Condition>> = BTreeMap::new();
        for (name, w) in &whens {
            let c = parse_when(w, origin, &format!("{at}.{name}.when"), &specs)?;
            conds.insert(name.clone(), c);
        }

        // `units` → units_1 … units_<max layers>, each existing only with enough layers.
        let layers = specs.get("layers").cloned();
        let (min_layers, max_layers) = match &layers {
            Some(d) => {
                let (lo, hi) = d.numeric_range().ok_or_else(|| {
                    cfg_err(origin, &format!("{at}.layers"), "expected whole numbers")
                })?;
                if lo < 0.0 || lo.fract() != 0.0 || hi.fract() != 0.0 {
                    return Err(cfg_err(
                        origin,
                        &format!("{at}.layers"),
                        format!("layer counts are whole numbers ≥ 0, got {lo} to {hi}"),
                    ));
                }
                (lo as usize, hi as usize)
            }
            None => (
                base.model.hidden_layers.len(),
                base.model.hidden_layers.len(),
            ),
        };
        for name in specs.keys() {
            if let Some(k) = units_layer(name)
                && k > max_layers
            {
                return Err(cfg_err(
                    origin,
                    &format!("{at}.{name}"),
                    format!("the networks of this space have at most {max_layers} hidden layers"),
                ));
            }
        }
        if let Some(template) = specs.remove("units") {
            let template_when = conds.remove("units").unwrap_or_default();
            for k in 1..=max_layers {
                let n = format!("units_{k}");
                if !specs.contains_key(&n) {
                    specs.insert(n.clone(), template.clone());
                    conds.insert(n, template_when.clone());
                }
            }
        }
        if layers.is_some() {
            for k in min_layers + 1..=max_layers {
                let n = format!("units_{k}");
                if specs.contains_key(&n) {
                    let c = conds.entry(n).or_default();
                    if !c.iter().any(|c| c.param() == "layers") {
                        c.push(Condition::AtLeast {
                            param: "layers".into(),
                            min: k as f64,
                        });
                    }
                }
            }
        }

        // Parents first (a cycle is an error).
        let mut order: Vec<Param> = Vec::new();
        let mut placed: BTreeSet<String> = BTreeSet::new();
        while placed.len() < specs.len() {
            let ready: Vec<String> = specs
                .keys()
                .filter(|n| !placed.contains(*n))
                .filter(|n| {
                    conds
                        .get(*n)
                        .into_iter()
                        .flatten()
                        .all(|c| placed.contains(c.param()))
                })
                .cloned()
                .collect();
            if ready.is_empty() {
                let stuck: Vec<String> = specs
                    .keys()
                    .filter(|n| !placed.contains(*n))
                    .cloned()
                    .collect();
                return Err(cfg_err(
                    origin,
                    at,
                    format!("the `when` conditions of {} form a cycle", stuck.join(", ")),
                ));
            }
            for n in ready {
                order.push(Param {
                    name: n.clone(),
                    dist: specs[&n].clone(),
                    when: conds.get(&n).cloned().unwrap_or_default(),
                });
                placed.insert(n);
            }
        }
        Ok(Space { params: order })
    }

    /// Read back [`Space::to_json`].
    pub fn from_json(v: &Value, base: &TrainConfig) -> Result<Space> {
        let tree: BTreeMap<String, Value> = match v {
            Value::Object(m) => m.clone().into_iter().collect(),
            _ => return Err(Error::Config("study space: expected a mapping".into())),
        };
        Space::parse(&tree, "study.json", "space", base)
    }

    /// The canonical form stored in `study.json` (`units` expanded, conditions explicit).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for p in &self.params {
            let mut v = serde_json::to_value(&p.dist).unwrap_or(Value::Null);
            if !p.when.is_empty() {
                let w: Map<String, Value> = p.when.iter().map(Condition::to_json).collect();
                v["when"] = Value::Object(w);
            }
            m.insert(p.name.clone(), v);
        }
        Value::Object(m)
    }

    pub fn get(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Whether `p` exists given the values drawn so far.
    pub fn active(&self, p: &Param, drawn: &Params) -> bool {
        p.when.iter().all(|c| c.holds(drawn))
    }

    /// Draw every active parameter in order with `draw(param, drawn so far)`.
    pub fn draw(&self, mut draw: impl FnMut(&Param, &Params) -> Value) -> Params {
        let mut out = Params::new();
        for p in &self.params {
            if self.active(p, &out) {
                let v = draw(p, &out);
                out.insert(p.name.clone(), v);
            }
        }
        out
    }

    /// The configuration layer that sets `params` on top of `base`.
    pub fn layer(&self, params: &Params, base: &TrainConfig) -> Result<Value> {
        let mut t = Value::Object(Map::new());
        let mut hidden = false;
        for (name, v) in params {
            let path: Vec<&str> = match name.as_str() {
                "lr" | "learning_rate" => vec!["optimizer", "lr"],
                "optimizer" => vec!["optimizer", "type"],
                "weight_decay" => vec!["optimizer", "weight_decay"],
                "momentum" => vec!["optimizer", "momentum"],
                "batch_size" => vec!["training", "batch_size"],
                "epochs" => vec!["training", "epochs"],
                "patience" => vec!["callbacks", "early_stopping", "patience"],
                "layers" | "dropout" | "activation" | "batch_norm" => {
                    hidden = true;
                    continue;
                }
                n if units_layer(n).is_some() => {
                    hidden = true;
                    continue;
                }
                path => path.split('.').collect(),
            };
            set(&mut t, &path, v.clone());
        }
        if hidden {
            let layers = hidden_layers(params, &base.model.hidden_layers)?;
            set(
                &mut t,
                &["model", "hidden_layers"],
                serde_json::to_value(layers).map_err(|e| Error::Config(e.to_string()))?,
            );
        }
        Ok(t)
    }

    /// The training configuration of a trial: `base` with `params` applied, validated.
    pub fn config(&self, params: &Params, base: &Layered, source: &str) -> Result<TrainConfig> {
        let cfg0: TrainConfig = base.build("base configuration")?;
        let layer = self.layer(params, &cfg0)?;
        let mut l = base.clone();
        l.push::<TrainConfig>(layer, source)?;
        let cfg: TrainConfig = l.build(source)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Apply every value each hyperparameter can take (with its parents set so that it
    /// exists) to the base configuration, so a value that does not fit fails now, with its key.
    pub fn check(&self, base: &Layered, origin: &str, at: &str) -> Result<()> {
        for p in &self.params {
            let mut parents = Params::new();
            self.satisfy(p, &mut parents);
            for v in p.dist.probes() {
                let mut params = parents.clone();
                params.insert(p.name.clone(), v.clone());
                if let Err(e) = self.config(&params, base, "value") {
                    let msg = e.to_string();
                    let msg = msg
                        .strip_prefix("invalid configuration: ")
                        .unwrap_or(&msg)
                        .trim_start_matches("value: ");
                    return Err(cfg_err(
                        origin,
                        &format!("{at}.{}", p.name),
                        format!("the value {v} does not fit the training configuration: {msg}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Values of `p`'s ancestors under which `p` exists.
    fn satisfy(&self, p: &Param, out: &mut Params) {
        for c in &p.when {
            if let Some(parent) = self.get(c.param()) {
                self.satisfy(parent, out);
                let v = match c {
                    Condition::AtLeast { min, .. } => parent
                        .dist
                        .probes()
                        .into_iter()
                        .chain(parent.dist.grid(50))
                        .filter(|v| v.as_f64().is_some_and(|x| x >= *min))
                        .min_by(|a, b| {
                            a.as_f64()
                                .unwrap_or(0.0)
                                .total_cmp(&b.as_f64().unwrap_or(0.0))
                        })
                        .unwrap_or(json!(min)),
                    Condition::OneOf { values, .. } => {
                        values.first().cloned().unwrap_or(Value::Null)
                    }
                };
                out.insert(parent.name.clone(), v);
            }
        }
    }

    /// Whether every parameter is continuous and unconditional (where the GP sampler works
    /// best).
    pub fn is_small_continuous(&self) -> bool {
        self.params.len() <= 8
            && self
                .params
                .iter()
                .all(|p| p.dist.is_continuous() && p.when.is_empty())
    }
}

fn whole(name: &str, v: &Value) -> Result<usize> {
    v.as_f64()
        .filter(|x| *x >= 0.0 && x.fract() == 0.0)
        .map(|x| x as usize)
        .ok_or_else(|| Error::Config(format!("{name}: expected a whole number ≥ 0, got {v}")))
}

/// Hidden layers for a trial: the count from `layers` (else the base's), each layer starting
/// from the base's layer at that depth (or its last one), with `units_<k>`, `dropout`,
/// `activation` and `batch_norm` applied.
fn hidden_layers(params: &Params, base: &[HiddenLayer]) -> Result<Vec<HiddenLayer>> {
    let n = match params.get("layers") {
        Some(v) => whole("layers", v)?,
        None => base.len(),
    };
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let mut h = base.get(k).or(base.last()).cloned().unwrap_or_default();
        if let Some(v) = params.get(&format!("units_{}", k + 1)) {
            h.units = whole(&format!("units_{}", k + 1), v)?;
        }
        if let Some(v) = params.get("dropout") {
            h.dropout = v
                .as_f64()
                .ok_or_else(|| Error::Config(format!("dropout: expected a number, got {v}")))?
                as f32;
        }
        if let Some(v) = params.get("activation") {
            let name = v.as_str().unwrap_or_default();
            h.activation = ActivationSpec::parse(name).ok_or_else(|| {
                Error::Config(format!(
                    "activation: unknown activation {v} (relu, leaky_relu, elu, gelu, sigmoid, tanh, linear)"
                ))
            })?;
        }
        if let Some(v) = params.get("batch_norm") {
            h.batch_norm = v.as_bool().ok_or_else(|| {
                Error::Config(format!("batch_norm: expected true or false, got {v}"))
            })?;
        }
        out.push(h);
    }
    Ok(out)
}

/// The space used when none is given: the usual suspects of an MLP on tabular data.
pub fn default_space() -> BTreeMap<String, Value> {
    let yaml = r#"
lr: {type: log_uniform, low: 1.0e-4, high: 3.0e-2}
batch_size: {type: choice, values: [16, 32, 64, 128]}
optimizer: {type: choice, values: [adam, adamw]}
weight_decay: {type: log_uniform, low: 1.0e-6, high: 1.0e-2}
dropout: {type: uniform, low: 0.0, high: 0.5}
layers: {type: int, low: 1, high: 3}
units: {type: choice, values: [16, 32, 64, 128, 256]}
activation: {type: choice, values: [relu, gelu, tanh]}
"#;
    serde_yaml_ng::from_str(yaml).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(yaml: &str) -> Result<Space> {
        let tree: BTreeMap<String, Value> = serde_yaml_ng::from_str(yaml).unwrap();
        let base = TrainConfig::default();
        let s = Space::parse(&tree, "tune.yaml", "space", &base)?;
        s.check(&Layered::new(&base)?, "tune.yaml", "space")?;
        Ok(s)
    }

    fn err(yaml: &str) -> String {
        space(yaml).unwrap_err().to_string()
    }

    #[test]
    fn invalid_spaces_name_the_key() {
        let e = err("lr: {type: log_uniform, low: 0.1, high: 0.001}");
        assert!(
            e.contains("tune.yaml: space.lr: low (0.1) is greater than high (0.001)"),
            "{e}"
        );
        let e = err("lr: {type: log_uniform, low: 0.0, high: 0.1}");
        assert!(
            e.contains("space.lr: a log scale needs positive bounds"),
            "{e}"
        );
        let e = err("layers: {type: int, low: 0, high: 3, log: true}");
        assert!(
            e.contains("space.layers: a log scale needs positive bounds"),
            "{e}"
        );
        let e = err("learning_rat: {type: uniform, low: 0.1, high: 0.2}");
        assert!(
            e.contains("space.learning_rat: unknown hyperparameter")
                && e.contains("did you mean `learning_rate`"),
            "{e}"
        );
        let e = err("optimizer: {type: choice, values: []}");
        assert!(
            e.contains("space.optimizer.values: the choice list is empty"),
            "{e}"
        );
        let e = err("lr: {type: log_uniform, low: 0.01, hgh: 0.1}");
        assert!(
            e.contains("space.lr.hgh") && e.contains("did you mean `high`"),
            "{e}"
        );
        let e = err("lr: {type: loguniform, low: 0.01, high: 0.1}");
        assert!(
            e.contains("space.lr.type") && e.contains("`log_uniform`"),
            "{e}"
        );
        let e = err("optimizer.betaa: {type: uniform, low: 0.8, high: 0.9}");
        assert!(
            e.contains("space.optimizer.betaa") && e.contains("beta1"),
            "{e}"
        );
        let e = err("optimizer: {type: choice, values: [adam, adamm]}");
        assert!(e.contains("space.optimizer") && e.contains("adamm"), "{e}");
        let e = err("batch_size: {type: int, low: 0, high: 64}");
        assert!(
            e.contains("space.batch_size") && e.contains("batch_size"),
            "{e}"
        );
        let e = err("momentum: {type: uniform, low: 0, high: 0.9, when: {optimizr: sgd}}");
        assert!(e.contains("space.momentum.when.optimizr"), "{e}");
        let e = err("layers: {type: int, low: 1, high: 2}\nunits_3: {type: int, low: 8, high: 9}");
        assert!(
            e.contains("space.units_3") && e.contains("at most 2"),
            "{e}"
        );
    }

    #[test]
    fn units_are_conditional_on_layers() {
        let s = space(
            "layers: {type: int, low: 1, high: 3}\nunits: {type: choice, values: [8, 16]}\n\
             optimizer: {type: choice, values: [adam, sgd]}\n\
             momentum: {type: uniform, low: 0.0, high: 0.9, when: {optimizer: sgd}}",
        )
        .unwrap();
        let names: Vec<&str> = s.params.iter().map(|p| p.name.as_str()).collect();
        assert!(
            names.contains(&"units_3") && !names.contains(&"units"),
            "{names:?}"
        );
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(pos("layers") < pos("units_3") && pos("optimizer") < pos("momentum"));
        let mut rng = Rng::new(1);
        for _ in 0..50 {
            let p = s.draw(|p, _| p.dist.sample(&mut rng));
            let layers = p["layers"].as_u64().unwrap() as usize;
            for k in 1..=3 {
                assert_eq!(p.contains_key(&format!("units_{k}")), k <= layers, "{p:?}");
            }
            assert_eq!(p.contains_key("momentum"), p["optimizer"] == "sgd");
            let cfg = s
                .config(&p, &Layered::new(&TrainConfig::default()).unwrap(), "t")
                .unwrap();
            assert_eq!(cfg.model.hidden_layers.len(), layers);
            assert_eq!(
                cfg.model.hidden_layers[layers - 1].units as u64,
                p[&format!("units_{layers}")].as_u64().unwrap()
            );
        }
        // The canonical form reads back to the same space.
        let back = Space::from_json(&s.to_json(), &TrainConfig::default()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn distributions_round_trip_and_grid() {
        let d = Dist::Int {
            low: 1,
            high: 10,
            step: 3,
            log: false,
        };
        assert_eq!(d.grid(10), vec![json!(1), json!(4), json!(7), json!(10)]);
        let l = Dist::LogUniform {
            low: 1e-4,
            high: 1e-1,
        };
        let g = l.grid(4);
        assert_eq!(g.len(), 4);
        assert!((g[1].as_f64().unwrap() - 1e-3).abs() < 1e-12, "{g:?}");
        assert_eq!(g[3], json!(0.1));
        for u in [0.0, 0.3, 0.99] {
            let v = l.from_unit(u);
            assert!((l.to_unit(&v).unwrap() - u).abs() < 1e-9);
        }
        let c = Dist::Choice {
            values: vec![json!("a"), json!("b"), json!("c")],
        };
        assert_eq!(c.from_unit(c.to_unit(&json!("b")).unwrap()), json!("b"));
        let mut rng = Rng::new(3);
        let mut hits = [0; 4];
        for _ in 0..4000 {
            let v = d.sample(&mut rng).as_i64().unwrap();
            hits[((v - 1) / 3) as usize] += 1;
        }
        assert!(hits.iter().all(|&h| h > 850), "{hits:?}");
    }
}
