//! Predictions → JSON: per row, the label and the probability of each class keyed by class
//! name (classification) or one value per named target (regression). Floats are written with
//! f32's shortest round-trip text.

use neurite_pipeline::Predictions;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// One row: `{"label": "setosa", "probabilities": {"setosa": 0.97, ...}}`,
/// `{"target": 3.5, ...}`, or (multi-label) `{"labels": ["a"], "probabilities": {"a": 0.9, ...}}`.
pub struct RowView<'a> {
    pub p: &'a Predictions,
    pub r: usize,
}

struct ProbaView<'a> {
    labels: &'a [String],
    proba: &'a [f32],
}

impl Serialize for ProbaView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.labels.len()))?;
        for (l, p) in self.labels.iter().zip(self.proba) {
            m.serialize_entry(l, p)?;
        }
        m.end()
    }
}

impl Serialize for RowView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.p {
            Predictions::Classes {
                labels,
                class,
                proba,
            } => {
                let k = labels.len();
                let mut m = s.serialize_map(Some(2))?;
                let label = class.get(self.r).and_then(|&c| labels.get(c));
                m.serialize_entry("label", &label)?;
                let row = proba.get(self.r * k..(self.r + 1) * k).unwrap_or(&[]);
                m.serialize_entry("probabilities", &ProbaView { labels, proba: row })?;
                m.end()
            }
            Predictions::Values { targets, values } => {
                let k = targets.len();
                let row = values.get(self.r * k..(self.r + 1) * k).unwrap_or(&[]);
                let mut m = s.serialize_map(Some(k))?;
                for (t, v) in targets.iter().zip(row) {
                    m.serialize_entry(t, v)?;
                }
                m.end()
            }
            Predictions::Labels {
                names,
                proba,
                decision,
            } => {
                let l = names.len();
                let row = proba.get(self.r * l..(self.r + 1) * l).unwrap_or(&[]);
                let dec = decision.get(self.r * l..(self.r + 1) * l).unwrap_or(&[]);
                let on: Vec<&String> = names
                    .iter()
                    .zip(dec)
                    .filter(|(_, d)| **d)
                    .map(|(n, _)| n)
                    .collect();
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("labels", &on)?;
                m.serialize_entry(
                    "probabilities",
                    &ProbaView {
                        labels: names,
                        proba: row,
                    },
                )?;
                m.end()
            }
        }
    }
}

/// Every row, as a list of [`RowView`] objects.
pub struct RowsView<'a>(pub &'a Predictions);

impl Serialize for RowsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.0.rows();
        let mut seq = s.serialize_seq(Some(n))?;
        for r in 0..n {
            seq.serialize_element(&RowView { p: self.0, r })?;
        }
        seq.end()
    }
}

/// Columnar: `{"label": [...], "probabilities": [{...}, ...]}` or `{"target": [...], ...}`.
pub struct ColumnsView<'a>(pub &'a Predictions);

struct Strided<'a> {
    values: &'a [f32],
    stride: usize,
    offset: usize,
}

impl Serialize for Strided<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for v in self
            .values
            .iter()
            .skip(self.offset)
            .step_by(self.stride.max(1))
        {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

struct LabelsView<'a>(&'a Predictions);

impl Serialize for LabelsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        match self.0 {
            Predictions::Classes { labels, class, .. } => {
                for &c in class {
                    seq.serialize_element(&labels.get(c))?;
                }
            }
            // Multi-label: the labels predicted for each row.
            Predictions::Labels {
                names, decision, ..
            } => {
                for dec in decision.chunks(names.len().max(1)) {
                    let on: Vec<&String> = names
                        .iter()
                        .zip(dec)
                        .filter(|(_, d)| **d)
                        .map(|(n, _)| n)
                        .collect();
                    seq.serialize_element(&on)?;
                }
            }
            Predictions::Values { .. } => {}
        }
        seq.end()
    }
}

struct ProbaRows<'a>(&'a Predictions);

impl Serialize for ProbaRows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        let (labels, proba) = match self.0 {
            Predictions::Classes { labels, proba, .. } => (labels, proba),
            Predictions::Labels { names, proba, .. } => (names, proba),
            Predictions::Values { .. } => return seq.end(),
        };
        for row in proba.chunks(labels.len().max(1)) {
            seq.serialize_element(&ProbaView { labels, proba: row })?;
        }
        seq.end()
    }
}

impl Serialize for ColumnsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Predictions::Classes { .. } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("label", &LabelsView(self.0))?;
                m.serialize_entry("probabilities", &ProbaRows(self.0))?;
                m.end()
            }
            Predictions::Labels { .. } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("labels", &LabelsView(self.0))?;
                m.serialize_entry("probabilities", &ProbaRows(self.0))?;
                m.end()
            }
            Predictions::Values { targets, values } => {
                let mut m = s.serialize_map(Some(targets.len()))?;
                for (i, t) in targets.iter().enumerate() {
                    m.serialize_entry(
                        t,
                        &Strided {
                            values,
                            stride: targets.len(),
                            offset: i,
                        },
                    )?;
                }
                m.end()
            }
        }
    }
}

/// Open Inference Protocol output tensors: classification → `label` (BYTES `[N]`) and
/// `probabilities` (FP32 `[N, k]`, class names in `parameters.classes`); regression → one FP32
/// `[N]` tensor per target. `wanted` filters by name (empty: all).
pub struct V2Outputs<'a> {
    pub p: &'a Predictions,
    pub wanted: &'a [String],
}

struct Tensor<'a, T: Serialize> {
    name: &'a str,
    datatype: &'static str,
    shape: Vec<usize>,
    data: T,
    classes: Option<&'a [String]>,
}

impl<T: Serialize> Serialize for Tensor<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", self.name)?;
        m.serialize_entry("datatype", self.datatype)?;
        m.serialize_entry("shape", &self.shape)?;
        m.serialize_entry("data", &self.data)?;
        if let Some(c) = self.classes {
            m.serialize_entry("parameters", &serde_json::json!({ "classes": c }))?;
        }
        m.end()
    }
}

impl Serialize for V2Outputs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let want = |n: &str| self.wanted.is_empty() || self.wanted.iter().any(|w| w == n);
        let n = self.p.rows();
        let mut seq = s.serialize_seq(None)?;
        match self.p {
            Predictions::Labels {
                names,
                proba,
                decision,
            } => {
                if want("labels") {
                    seq.serialize_element(&Tensor {
                        name: "labels",
                        datatype: "BOOL",
                        shape: vec![n, names.len()],
                        data: decision,
                        classes: Some(names),
                    })?;
                }
                if want("probabilities") {
                    seq.serialize_element(&Tensor {
                        name: "probabilities",
                        datatype: "FP32",
                        shape: vec![n, names.len()],
                        data: proba,
                        classes: Some(names),
                    })?;
                }
            }
            Predictions::Classes { labels, proba, .. } => {
                if want("label") {
                    seq.serialize_element(&Tensor {
                        name: "label",
                        datatype: "BYTES",
                        shape: vec![n],
                        data: LabelsView(self.p),
                        classes: None,
                    })?;
                }
                if want("probabilities") {
                    seq.serialize_element(&Tensor {
                        name: "probabilities",
                        datatype: "FP32",
                        shape: vec![n, labels.len()],
                        data: proba,
                        classes: Some(labels),
                    })?;
                }
            }
            Predictions::Values { targets, values } => {
                for (i, t) in targets.iter().enumerate() {
                    if want(t) {
                        seq.serialize_element(&Tensor {
                            name: t,
                            datatype: "FP32",
                            shape: vec![n],
                            data: Strided {
                                values,
                                stride: targets.len(),
                                offset: i,
                            },
                            classes: None,
                        })?;
                    }
                }
            }
        }
        seq.end()
    }
}

/// Output names a model offers (for metadata and for checking `outputs` in V2 requests).
pub fn output_names(
    p_classes: Option<&[String]>,
    multilabel: bool,
    targets: &[String],
) -> Vec<String> {
    match (p_classes, multilabel) {
        (_, true) => vec!["labels".into(), "probabilities".into()],
        (Some(_), false) => vec!["label".into(), "probabilities".into()],
        (None, false) => targets.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        let p = Predictions::Classes {
            labels: vec!["a".into(), "b".into()],
            class: vec![1, 0],
            proba: vec![0.25, 0.75, 0.5, 0.5],
        };
        let rows = serde_json::to_value(RowsView(&p)).unwrap();
        assert_eq!(
            rows,
            json!([{"label": "b", "probabilities": {"a": 0.25, "b": 0.75}},
                   {"label": "a", "probabilities": {"a": 0.5, "b": 0.5}}])
        );
        let cols = serde_json::to_value(ColumnsView(&p)).unwrap();
        assert_eq!(cols["label"], json!(["b", "a"]));
        let v2 = serde_json::to_value(V2Outputs { p: &p, wanted: &[] }).unwrap();
        assert_eq!(v2[1]["shape"], json!([2, 2]));
        assert_eq!(v2[1]["parameters"]["classes"], json!(["a", "b"]));
        let r = Predictions::Values {
            targets: vec!["x".into(), "y".into()],
            values: vec![1.0, 2.0, 3.0, 4.0],
        };
        assert_eq!(
            serde_json::to_value(RowsView(&r)).unwrap(),
            json!([{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}])
        );
        assert_eq!(
            serde_json::to_value(ColumnsView(&r)).unwrap(),
            json!({"x": [1.0, 3.0], "y": [2.0, 4.0]})
        );
        let wanted = ["y".to_string()];
        let v2 = serde_json::to_value(V2Outputs {
            p: &r,
            wanted: &wanted,
        })
        .unwrap();
        assert_eq!(
            v2,
            json!([{"name": "y", "datatype": "FP32", "shape": [2], "data": [2.0, 4.0]}])
        );
    }
}
