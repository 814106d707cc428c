//! `ui_config.yaml`: the page title and which charts a model dashboard shows. The same keys
//! may sit under a `ui:` section of a global config file.
//!
//! ```yaml
//! title: "Churn models"
//! dashboard:
//!   charts: [training_curves, confusion_matrix, roc_curve, pr_curve, predicted_vs_actual, metrics_table]
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, ServeError};

pub const CHARTS: [&str; 6] = [
    "training_curves",
    "confusion_matrix",
    "roc_curve",
    "pr_curve",
    "predicted_vs_actual",
    "metrics_table",
];

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    #[serde(default = "default_title")]
    pub title: String,
    #[serde(default)]
    pub dashboard: Dashboard,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    #[serde(default = "all_charts")]
    pub charts: Vec<String>,
}

fn default_title() -> String {
    "neurite".into()
}

fn all_charts() -> Vec<String> {
    CHARTS.iter().map(|s| s.to_string()).collect()
}

impl Default for Dashboard {
    fn default() -> Self {
        Dashboard {
            charts: all_charts(),
        }
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            title: default_title(),
            dashboard: Dashboard::default(),
        }
    }
}

impl UiConfig {
    pub fn parse(text: &str) -> std::result::Result<UiConfig, String> {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        let v = match v.get("ui") {
            Some(ui) => ui.clone(),
            None if v.is_null() => return Ok(UiConfig::default()),
            None => v,
        };
        let c: UiConfig = serde_yaml_ng::from_value(v).map_err(|e| e.to_string())?;
        for ch in &c.dashboard.charts {
            if !CHARTS.contains(&ch.as_str()) {
                return Err(format!(
                    "unknown chart {ch:?} (charts: {})",
                    CHARTS.join(", ")
                ));
            }
        }
        Ok(c)
    }

    /// The file given, else `ui_config.yaml` in the working folder if present, else defaults.
    pub fn load(path: Option<&Path>) -> Result<UiConfig> {
        let (p, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (Path::new("ui_config.yaml").to_path_buf(), false),
        };
        match std::fs::read_to_string(&p) {
            Ok(t) => {
                UiConfig::parse(&t).map_err(|e| ServeError::Config(format!("{}: {e}", p.display())))
            }
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(UiConfig::default())
            }
            Err(e) => Err(ServeError::Config(format!("{}: {e}", p.display()))),
        }
    }

    pub fn shows(&self, chart: &str) -> bool {
        self.dashboard.charts.iter().any(|c| c == chart)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_sectioned() {
        let c = UiConfig::parse("title: Churn\ndashboard:\n  charts: [roc_curve]\n").unwrap();
        assert_eq!(c.title, "Churn");
        assert!(c.shows("roc_curve") && !c.shows("confusion_matrix"));
        let c = UiConfig::parse("ui:\n  title: X\n").unwrap();
        assert_eq!(c.title, "X");
        assert_eq!(c.dashboard.charts.len(), CHARTS.len());
        assert!(UiConfig::parse("dashboard:\n  charts: [pie]\n").is_err());
        assert!(UiConfig::parse("titel: typo\n").is_err());
        assert_eq!(UiConfig::parse("").unwrap(), UiConfig::default());
    }
}
