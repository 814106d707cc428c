//! `neurite report --study NAME`: one self-contained HTML page per study, with the charts of
//! [`crate::charts`]: the objective of every trial and the best so far, the pruning monitor
//! per epoch (where pruned trials stop), hyperparameter importances, parallel coordinates,
//! and the trials ranked.

use serde_json::Value;

use super::importance::{MIN_TRIALS, importances};
use super::space::Space;
use super::study::{Study, TrialRecord, TrialState};
use crate::charts::{self, Series, XyOptions, esc};
use crate::config::TrainConfig;
use crate::error::Result;
use crate::report::{chart_div, kv_table, page};

/// A parameter value for tables and tick labels.
pub fn show(v: &Value) -> String {
    match v {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(x)) if x != 0.0 && (x.abs() < 1e-2 || x.abs() >= 1e5) => format!("{x:.2e}"),
            (None, Some(x)) => format!("{:.4}", x)
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string(),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn params_text(t: &TrialRecord) -> String {
    t.params
        .iter()
        .map(|(k, v)| format!("{k}={}", show(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into())
}

/// The HTML report of a study.
pub fn study_report(study: &Study) -> Result<String> {
    let m = &study.meta;
    let trials = study.trials()?;
    let best = study.best(&trials);
    let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
    let mut base = crate::config::Layered::new(&TrainConfig::default())?;
    base.push::<TrainConfig>(m.base_config.clone(), "study.json")?;
    let base_cfg: TrainConfig = base.build("study.json")?;
    let space = Space::from_json(&m.space, &base_cfg)?;
    let minimize = m.direction.minimize();

    let mut body = format!("<h1>Study {}</h1>", esc(&m.name));
    let model = study
        .final_model()
        .map(|f| {
            format!(
                "{}@v{} (trial {}) — {}",
                esc(&f.name),
                f.version,
                f.trial,
                esc(&f.path)
            )
        })
        .unwrap_or_else(|| "-".into());
    body.push_str(&kv_table(&[
        (
            "data",
            format!(
                "{} ({} rows; sha256 {})",
                esc(&m.data_path),
                m.rows,
                esc(&m.data_sha256[..m.data_sha256.len().min(16)])
            ),
        ),
        ("target", esc(&m.target.join(", "))),
        (
            "objective",
            format!(
                "{} validation {} ({:?}){}",
                match m.direction {
                    super::study::Direction::Minimize => "minimize",
                    _ => "maximize",
                },
                esc(&m.metric),
                m.task,
                m.cv.map(|k| format!(", {k}-fold cross-validation"))
                    .unwrap_or_default()
            ),
        ),
        (
            "sampler",
            format!(
                "{} (seed {}, {} random startup trials)",
                esc(&m.sampler.kind),
                m.sampler.seed,
                m.sampler.startup_trials
            ),
        ),
        (
            "pruner",
            format!("{} on {}", esc(&m.pruner.kind), esc(&m.pruner.monitor())),
        ),
        (
            "trials",
            format!(
                "{} of {}: {} complete, {} pruned, {} failed, {} running",
                trials
                    .iter()
                    .filter(|t| t.state != TrialState::Running)
                    .count(),
                m.trials,
                count(TrialState::Complete),
                count(TrialState::Pruned),
                count(TrialState::Failed),
                count(TrialState::Running)
            ),
        ),
        (
            "best",
            best.as_ref()
                .map(|b| {
                    format!(
                        "trial {}: {} = {:.4} ({})",
                        b.id,
                        esc(&m.metric),
                        b.value.unwrap_or(f64::NAN),
                        esc(&params_text(b))
                    )
                })
                .unwrap_or_else(|| "-".into()),
        ),
        ("registered model", model),
    ]));

    // History and best so far.
    body.push_str("<h2>Optimization history</h2><div class=\"grid\">");
    let done: Vec<&TrialRecord> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.value.is_some_and(f64::is_finite))
        .collect();
    let pts: Vec<(f64, f64)> = done
        .iter()
        .map(|t| (t.id as f64, t.value.unwrap_or(0.0)))
        .collect();
    body.push_str(&chart_div(charts::xy(
        &format!("{} of each trial", m.metric),
        &[Series {
            name: "complete".into(),
            points: pts.clone(),
        }],
        &XyOptions {
            x_label: "trial".into(),
            y_label: m.metric.clone(),
            scatter: true,
            ..Default::default()
        },
    )));
    let mut best_line = Vec::new();
    let mut cur: Option<f64> = None;
    for (x, y) in &pts {
        if cur.is_none_or(|c| m.direction.better(*y, c)) {
            cur = Some(*y);
        }
        best_line.push((*x, cur.unwrap_or(*y)));
    }
    body.push_str(&chart_div(charts::xy(
        "best so far",
        &[Series {
            name: String::new(),
            points: best_line,
        }],
        &XyOptions {
            x_label: "trial".into(),
            y_label: m.metric.clone(),
            ..Default::default()
        },
    )));
    let monitor = m.pruner.monitor();
    let curves: Vec<Series> = trials
        .iter()
        .filter(|t| !t.intermediate.is_empty())
        .map(|t| Series {
            name: format!("{}", t.id),
            points: t
                .intermediate
                .iter()
                .map(|(e, v)| (*e as f64, *v))
                .collect(),
        })
        .collect();
    if !curves.is_empty() {
        body.push_str(&chart_div(charts::xy(
            &format!("{monitor} per epoch (pruned trials end early)"),
            &curves,
            &XyOptions {
                x_label: "epoch".into(),
                y_label: monitor.clone(),
                hide_legend: true,
                ..Default::default()
            },
        )));
    }
    body.push_str("</div>");

    // Importances and parallel coordinates.
    body.push_str("<h2>Hyperparameters</h2><div class=\"grid\">");
    let imp = importances(&space, &trials, minimize, m.sampler.seed);
    if imp.is_empty() {
        body.push_str(&format!(
            "<div class=\"muted\">importances need at least {MIN_TRIALS} completed trials</div>"
        ));
    } else {
        let (names, vals): (Vec<String>, Vec<f64>) = imp.iter().cloned().unzip();
        body.push_str(&chart_div(charts::bars(
            "importance (permutation on a GP surrogate)",
            "share",
            &names,
            &vals,
        )));
    }
    if !done.is_empty() {
        let mut axes: Vec<String> = space.params.iter().map(|p| p.name.clone()).collect();
        let mut ticks: Vec<(String, String)> = space
            .params
            .iter()
            .map(|p| (show(&p.dist.from_unit(0.0)), show(&p.dist.from_unit(1.0))))
            .collect();
        let vals: Vec<f64> = done.iter().filter_map(|t| t.value).collect();
        let (lo, hi) = vals
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        axes.push(m.metric.clone());
        ticks.push((format!("{lo:.4}"), format!("{hi:.4}")));
        let rows: Vec<(Vec<f64>, f64)> = done
            .iter()
            .map(|t| {
                let v = t.value.unwrap_or(lo);
                let norm = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                let shade = if minimize { 1.0 - norm } else { norm };
                let mut r: Vec<f64> = space
                    .params
                    .iter()
                    .map(|p| {
                        t.params
                            .get(&p.name)
                            .and_then(|v| p.dist.to_unit(v))
                            .unwrap_or(f64::NAN)
                    })
                    .collect();
                r.push(norm);
                (r, shade)
            })
            .collect();
        body.push_str(&chart_div(charts::parallel(
            "parallel coordinates (darker = better)",
            &axes,
            &ticks,
            &rows,
        )));
    }
    body.push_str("</div>");

    // Trials, best first.
    let mut ranked: Vec<&TrialRecord> = trials.iter().collect();
    ranked.sort_by(|a, b| {
        let key = |t: &TrialRecord| match (t.state, t.value) {
            (TrialState::Complete, Some(v)) if v.is_finite() => (0, if minimize { v } else { -v }),
            (TrialState::Running, _) => (1, 0.0),
            (TrialState::Pruned, _) => (2, -(t.epochs_run as f64)),
            _ => (3, 0.0),
        };
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(a.id.cmp(&b.id))
    });
    body.push_str(&format!(
        "<h2>Trials</h2><table><tr><th>trial</th><th>state</th><th>{}</th><th>test {}</th><th>epochs</th><th>seconds</th><th>hyperparameters</th><th>note</th></tr>",
        esc(&m.metric),
        esc(&m.metric)
    ));
    for t in ranked {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
            t.id,
            t.state,
            num(t.value),
            num(t.test_value),
            t.epochs_run,
            t.duration_secs,
            esc(&params_text(t)),
            esc(t.message.as_deref().unwrap_or(""))
        ));
    }
    body.push_str("</table>");
    body.push_str(&format!(
        "<h2>Search space</h2><pre>{}</pre>",
        esc(&serde_json::to_string_pretty(&m.space).unwrap_or_default())
    ));
    Ok(page(&format!("study {}", m.name), &body))
}
