//! The EDA report as one self-contained HTML file: the summary table and SVG charts from
//! `crate::charts` (histograms or bar charts per column, missingness, correlation heatmap, target
//! distribution), inlined so the file opens anywhere without network access.

use super::{EdaReport, TargetDistribution, correlation_matrix, fmt_num, numeric_columns};
use crate::charts::{self, esc, short};
use crate::data::table::{Column, Table};
use crate::error::Result;

/// Bars in a category chart; the rest are summed into "(other)".
const MAX_BARS: usize = 20;
/// Columns in the correlation heatmap.
const MAX_HEATMAP: usize = 40;
/// Per-column charts are small so that many fit a screen.
const SMALL: (u32, u32) = (420, 280);

/// A histogram of the finite `values`; empty when there are none.
fn histogram_svg(title: &str, values: &[f64]) -> Result<String> {
    if !values.iter().any(|v| v.is_finite()) {
        return Ok(String::new());
    }
    charts::histogram_sized(title, "", values, 30, SMALL)
}

/// A bar chart of labelled values, wider when there are many bars.
fn bar_svg(title: &str, bars: &[(String, f64)], y_label: &str) -> Result<String> {
    if bars.is_empty() {
        return Ok(String::new());
    }
    let (labels, values): (Vec<String>, Vec<f64>) = bars.iter().cloned().unzip();
    let width = (80 + 30 * bars.len() as u32).clamp(SMALL.0, 900);
    charts::bars_sized(title, y_label, &labels, &values, (width, 300))
}

/// The correlation matrix as a diverging heatmap.
fn heatmap_svg(names: &[String], m: &[Vec<f64>]) -> Result<String> {
    if names.len() < 2 {
        return Ok(String::new());
    }
    let side = (140 + 24 * names.len() as u32).clamp(380, 1000);
    charts::heatmap_sized(
        "correlation (Pearson)",
        names,
        names,
        m,
        ("", ""),
        (side + 40, side),
    )
}

/// Bars for a column's value counts: the top ones and "(other)".
fn top_bars(counts: &[(String, usize)]) -> Vec<(String, f64)> {
    let mut bars: Vec<(String, f64)> = counts
        .iter()
        .take(MAX_BARS)
        .map(|(v, n)| (v.clone(), *n as f64))
        .collect();
    let rest: usize = counts.iter().skip(MAX_BARS).map(|c| c.1).sum();
    if rest > 0 {
        bars.push(("(other)".into(), rest as f64));
    }
    bars
}

/// The whole report as HTML.
pub fn render(r: &EdaReport, table: &Table) -> Result<String> {
    use std::fmt::Write;
    let rows = super::sample_rows(table.n_rows());
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>EDA: {}</title>\n<style>\
         body{{font-family:sans-serif;margin:24px;color:#222}}\
         table{{border-collapse:collapse;font-size:13px}}\
         td,th{{border:1px solid #ccc;padding:3px 7px;text-align:right}}\
         td:first-child,th:first-child,td.l{{text-align:left}}\
         .charts{{display:flex;flex-wrap:wrap;gap:12px}}\
         .charts figure{{margin:0;border:1px solid #eee}}\
         .warn{{color:#a40}}</style></head><body>\n",
        esc(&r.path)
    );
    let _ = writeln!(
        h,
        "<h1>{}</h1><p>{} rows × {} columns, delimiter <code>{}</code>{}</p>",
        esc(&r.path),
        r.rows,
        r.columns,
        esc(&r.delimiter),
        r.target
            .as_ref()
            .map(|t| {
                let task = r.task.map(|k| format!(" ({k})")).unwrap_or_default();
                format!(", target <b>{}</b>{task}", esc(t))
            })
            .unwrap_or_default()
    );
    for w in &r.warnings {
        let _ = writeln!(h, "<p class=\"warn\">warning: {}</p>", esc(w));
    }
    // Summary table.
    let _ = writeln!(
        h,
        "<h2>Columns</h2><table><tr><th>column</th><th>type</th><th>missing %</th><th>mean</th>\
         <th>std</th><th>min</th><th>25%</th><th>50%</th><th>75%</th><th>max</th>\
         <th>distinct</th><th>top values</th><th>note</th></tr>"
    );
    for c in &r.summary {
        let f = |x: Option<f64>| x.map_or(String::new(), fmt_num);
        let s = c.numeric.as_ref();
        let top: Vec<String> = c
            .top
            .iter()
            .map(|(v, n)| format!("{} ({n})", esc(&short(v, 24))))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td>\
             <td class=\"l\">{}</td></tr>",
            esc(&c.name),
            esc(&c.ty),
            c.missing_pct,
            f(s.map(|s| s.mean)),
            f(s.map(|s| s.std)),
            f(s.map(|s| s.min)),
            f(s.map(|s| s.q25)),
            f(s.map(|s| s.median)),
            f(s.map(|s| s.q75)),
            f(s.map(|s| s.max)),
            c.distinct,
            top.join(", "),
            esc(c.note.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table>\n");

    // Target distribution.
    if let (Some(t), Some(d)) = (&r.target, &r.target_distribution) {
        h.push_str("<h2>Target</h2><div class=\"charts\">");
        let svg = match d {
            TargetDistribution::Classes { counts } => {
                bar_svg(&format!("target {t}"), &top_bars(counts), "rows")?
            }
            TargetDistribution::Values { .. } => {
                let tc = table.col_index(t)?;
                let v: Vec<f64> = table
                    .numeric_values(tc, true)?
                    .iter()
                    .filter(|x| !x.is_nan())
                    .map(|&x| x as f64)
                    .collect();
                histogram_svg(&format!("target {t}"), &v)?
            }
        };
        let _ = writeln!(h, "<figure>{svg}</figure></div>");
        if !r.target_correlations.is_empty() {
            let bars: Vec<(String, f64)> = r
                .target_correlations
                .iter()
                .take(MAX_BARS)
                .map(|c| (c.a.clone(), c.value.abs()))
                .collect();
            let _ = writeln!(
                h,
                "<div class=\"charts\"><figure>{}</figure></div>",
                bar_svg("association with the target (|r| or η)", &bars, "")?
            );
        }
    }

    // Missingness.
    let miss: Vec<(String, f64)> = r
        .summary
        .iter()
        .map(|c| (c.name.clone(), c.missing_pct))
        .collect();
    if miss.iter().any(|m| m.1 > 0.0) {
        let _ = writeln!(
            h,
            "<h2>Missing values</h2><div class=\"charts\"><figure>{}</figure></div>",
            bar_svg("missing values per column", &miss, "% of rows")?
        );
    } else {
        h.push_str("<h2>Missing values</h2><p>No missing values.</p>\n");
    }

    // Correlations.
    let mut nums = numeric_columns(table, r.target.as_deref());
    nums.truncate(MAX_HEATMAP);
    if nums.len() >= 2 {
        let m = correlation_matrix(&nums);
        let names: Vec<String> = nums.iter().map(|n| n.0.clone()).collect();
        let _ = writeln!(
            h,
            "<h2>Correlations</h2><div class=\"charts\"><figure>{}</figure></div>",
            heatmap_svg(&names, &m)?
        );
    }

    // Per-column charts.
    h.push_str("<h2>Distributions</h2><div class=\"charts\">\n");
    for (c, s) in r.summary.iter().enumerate() {
        let col = &table.columns[c];
        let svg = match col {
            Column::Number(n)
                if s.distinct > 20 || super::is_numeric_type(&s.ty) && s.distinct > 12 =>
            {
                let v: Vec<f64> = rows
                    .iter()
                    .map(|&i| n.values[i] as f64)
                    .filter(|x| !x.is_nan())
                    .collect();
                histogram_svg(&s.name, &v)?
            }
            _ => {
                if s.distinct > 200 {
                    continue;
                }
                bar_svg(&s.name, &top_bars(&super::value_counts(col)), "rows")?
            }
        };
        if !svg.is_empty() {
            let _ = writeln!(h, "<figure>{svg}</figure>");
        }
    }
    h.push_str("</div>\n</body></html>\n");
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataConfig;
    use std::path::Path;

    #[test]
    fn report_is_self_contained_html_with_svg_charts() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let t = Table::read_csv(&root.join("data/iris.csv")).unwrap();
        let r = super::super::analyze(&t, Some("species"), &DataConfig::default()).unwrap();
        let html = render(&r, &t).unwrap();
        assert!(html.starts_with("<!doctype html>"));
        // target bar chart, target association, heatmap, 4 histograms + 1 bar chart
        let svgs = html.matches("<svg").count();
        assert!(svgs >= 7, "{svgs} charts");
        assert!(!html.contains("src=\"http") && !html.contains("<script"));
        assert!(html.contains("petal_width"));
    }
}
