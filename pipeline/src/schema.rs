//! The input schema of a model: the fields a prediction request must provide, with their kinds.
//! Serving validates requests against it; the data pipeline fills in the kinds it infers.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    /// Any finite number.
    Number,
    /// An integer.
    Integer,
    /// true/false (also accepted: 1/0, yes/no).
    Boolean,
    /// One of `categories`; other values are accepted and counted as unseen.
    Categorical { categories: Vec<String> },
    /// A date or date-time string.
    Datetime,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputField {
    pub name: String,
    #[serde(flatten)]
    pub kind: FieldKind,
    /// Whether a missing value is an error (otherwise it is imputed as in training).
    pub required: bool,
}
