//! The EDA report as one self-contained HTML file: the summary table and SVG charts drawn with
//! `plotters` (histograms or bar charts per column, missingness, correlation heatmap, target
//! distribution), inlined so the file opens anywhere without network access.

use plotters::prelude::*;

use super::{EdaReport, TargetDistribution, correlation_matrix, fmt_num, numeric_columns};
use crate::data::table::{Column, Table};
use crate::error::{Error, Result};

const BAR: RGBColor = RGBColor(70, 120, 180);
const FONT: &str = "sans-serif";
/// Bars in a category chart; the rest are summed into "(other)".
const MAX_BARS: usize = 20;
/// Columns in the correlation heatmap.
const MAX_HEATMAP: usize = 40;

fn chart_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::InvalidData(format!("drawing a chart: {e:?}"))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}

/// A histogram of `values` in `bins` equal-width bins.
pub fn histogram_svg(title: &str, values: &[f64], bins: usize) -> Result<String> {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return Ok(String::new());
    }
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u32; bins];
    for &v in values {
        let b = (((v - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (420, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 15))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d(lo..hi, 0u32..top + top / 10 + 1)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&|x| fmt_num(*x))
            .label_style((FONT, 11))
            .draw()
            .map_err(chart_err)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let x0 = lo + i as f64 * width;
                Rectangle::new([(x0, 0), (x0 + width, c)], BAR.mix(0.85).filled())
            }))
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(buf)
}

/// A bar chart of labelled counts (or percentages).
pub fn bar_svg(title: &str, bars: &[(String, f64)], y_label: &str) -> Result<String> {
    if bars.is_empty() {
        return Ok(String::new());
    }
    let n = bars.len();
    let top = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1e-9);
    let labels: Vec<String> = bars.iter().map(|b| short(&b.0, 12)).collect();
    let width = (80 + 30 * n as u32).clamp(420, 900);
    // Long or many labels are drawn rotated.
    let rotate = n > 6 || labels.iter().any(|l| l.chars().count() > 8);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (width, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 15))
            .margin(8)
            .x_label_area_size(if rotate { 80 } else { 30 })
            .y_label_area_size(52)
            // A segmented 0..k has k + 1 segments.
            .build_cartesian_2d((0..n - 1).into_segmented(), 0f64..top * 1.1)
            .map_err(chart_err)?;
        let style = if rotate {
            (FONT, 11).into_font().transform(FontTransform::Rotate90)
        } else {
            (FONT, 11).into_font()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n + 1)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_style(style)
            .y_desc(y_label)
            .y_label_formatter(&|y| fmt_num(*y))
            .label_style((FONT, 11))
            .draw()
            .map_err(chart_err)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let mut r = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), b.1),
                    ],
                    BAR.mix(0.85).filled(),
                );
                r.set_margin(0, 0, 4, 4);
                r
            }))
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(buf)
}

/// Blue (−1) → white (0) → red (+1).
fn diverging(r: f64) -> RGBColor {
    if !r.is_finite() {
        return RGBColor(220, 220, 220);
    }
    let t = r.clamp(-1.0, 1.0);
    let lerp = |a: f64, b: f64, t: f64| (a + (b - a) * t).round() as u8;
    if t >= 0.0 {
        RGBColor(
            lerp(255.0, 200.0, t),
            lerp(255.0, 40.0, t),
            lerp(255.0, 40.0, t),
        )
    } else {
        RGBColor(
            lerp(255.0, 40.0, -t),
            lerp(255.0, 90.0, -t),
            lerp(255.0, 200.0, -t),
        )
    }
}

/// A heatmap of a correlation matrix.
pub fn heatmap_svg(names: &[String], m: &[Vec<f64>]) -> Result<String> {
    let k = names.len();
    if k < 2 {
        return Ok(String::new());
    }
    let side = (120 + 22 * k as u32).clamp(360, 1000);
    let labels: Vec<String> = names.iter().map(|s| short(s, 14)).collect();
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (side + 40, side)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("correlation (Pearson)", (FONT, 15))
            .margin(8)
            .x_label_area_size(100)
            .y_label_area_size(100)
            .build_cartesian_2d(0f64..k as f64, 0f64..k as f64)
            .map_err(chart_err)?;
        let lab = |x: &f64| {
            let i = (*x - 0.5).round();
            if (x - (i + 0.5)).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let lab_y = |y: &f64| {
            let i = (*y - 0.5).round();
            if (y - (i + 0.5)).abs() < 1e-6 && i >= 0.0 && (i as usize) < k {
                labels[k - 1 - i as usize].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(2 * k + 1)
            .y_labels(2 * k + 1)
            .x_label_formatter(&lab)
            .y_label_formatter(&lab_y)
            .x_label_style((FONT, 10).into_font().transform(FontTransform::Rotate90))
            .label_style((FONT, 10))
            .draw()
            .map_err(chart_err)?;
        chart
            .draw_series((0..k).flat_map(|i| {
                (0..k).map(move |j| {
                    let y = (k - 1 - i) as f64;
                    Rectangle::new(
                        [(j as f64, y), (j as f64 + 1.0, y + 1.0)],
                        diverging(m[i][j]).filled(),
                    )
                })
            }))
            .map_err(chart_err)?;
        if k <= 15 {
            chart
                .draw_series((0..k).flat_map(|i| {
                    (0..k).map(move |j| {
                        let y = (k - 1 - i) as f64 + 0.5;
                        Text::new(
                            if m[i][j].is_finite() {
                                format!("{:.2}", m[i][j])
                            } else {
                                String::new()
                            },
                            (j as f64 + 0.25, y),
                            (FONT, 10),
                        )
                    })
                }))
                .map_err(chart_err)?;
        }
        root.present().map_err(chart_err)?;
    }
    Ok(buf)
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
            .map(|t| format!(", target <b>{}</b> ({:?})", esc(t), r.task))
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
                histogram_svg(&format!("target {t}"), &v, 30)?
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
                histogram_svg(&s.name, &v, 30)?
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
