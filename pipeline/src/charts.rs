//! neurite's one chart implementation: SVG charts drawn with `plotters` (line and scatter
//! charts, annotated heatmaps, bar charts, histograms). Reports, EDA and the serving UI all
//! embed these SVG strings, so every chart in the product looks the same.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{Error, Result};

pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 380;
const FONT: &str = "sans-serif";

/// Colours for series, in order.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(37, 99, 235),
    RGBColor(220, 38, 38),
    RGBColor(22, 163, 74),
    RGBColor(147, 51, 234),
    RGBColor(234, 88, 12),
    RGBColor(8, 145, 178),
    RGBColor(202, 138, 4),
    RGBColor(219, 39, 119),
];

/// Vertical tick labels that hang below the axis, anchored at their start. (plotters centres
/// axis labels on the tick, which puts half of a rotated label over the plot, so rotated labels
/// are drawn by hand.)
fn rotated_label_style() -> TextStyle<'static> {
    TextStyle::from((FONT, 11).into_font())
        .transform(FontTransform::Rotate90)
        .pos(Pos::new(HPos::Left, VPos::Center))
}

fn err<E: std::fmt::Debug>(e: E) -> Error {
    Error::InvalidData(format!("drawing a chart: {e:?}"))
}

/// Escape text for HTML/SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One line or point series.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

#[derive(Clone, Debug, Default)]
pub struct XyOptions {
    pub x_label: String,
    pub y_label: String,
    /// Points only (scatter plot).
    pub scatter: bool,
    /// Draw y = x (chance line of a ROC curve, perfect predictions).
    pub diagonal: bool,
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
    /// Logarithmic y axis (e.g. learning rates).
    pub log_y: bool,
    /// No legend (many series, e.g. one curve per trial).
    pub hide_legend: bool,
}

fn span(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let d = if lo.abs() > 1e-12 {
            lo.abs() * 0.05
        } else {
            0.5
        };
        return (lo - d, hi + d);
    }
    let pad = (hi - lo) * 0.04;
    (lo - pad, hi + pad)
}

/// Line chart (or scatter with `opt.scatter`) of one or more series.
pub fn xy(title: &str, series: &[Series], opt: &XyOptions) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let all = || series.iter().flat_map(|s| s.points.iter());
        let (x0, x1) = opt.x_range.unwrap_or_else(|| span(all().map(|p| p.0)));
        let positive = |v: &f64| *v > 0.0 && v.is_finite();
        let (y0, y1) = opt
            .y_range
            .unwrap_or_else(|| span(all().map(|p| p.1).filter(|v| !opt.log_y || positive(v))));
        let mut b = ChartBuilder::on(&root);
        b.caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60);
        let legend = !opt.hide_legend
            && (series.len() > 1 || series.first().is_some_and(|s| !s.name.is_empty()));
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(opt.x_label.as_str())
                    .y_desc(opt.y_label.as_str())
                    .light_line_style(RGBColor(235, 235, 235))
                    .draw()
                    .map_err(err)?;
                if opt.diagonal {
                    let lo = x0.max(y0);
                    let hi = x1.min(y1);
                    chart
                        .draw_series(LineSeries::new(
                            vec![(lo, lo), (hi, hi)],
                            RGBColor(160, 160, 160).stroke_width(1),
                        ))
                        .map_err(err)?;
                }
                for (i, s) in series.iter().enumerate() {
                    let c = PALETTE[i % PALETTE.len()];
                    let pts: Vec<(f64, f64)> = s
                        .points
                        .iter()
                        .copied()
                        .filter(|p| p.0.is_finite() && p.1.is_finite() && (!opt.log_y || p.1 > 0.0))
                        .collect();
                    let anno = if opt.scatter {
                        chart
                            .draw_series(
                                pts.iter().map(|&p| Circle::new(p, 3, c.mix(0.6).filled())),
                            )
                            .map_err(err)?
                    } else {
                        chart
                            .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                            .map_err(err)?
                    };
                    if legend {
                        anno.label(s.name.as_str()).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(3))
                        });
                    }
                }
                if legend {
                    chart
                        .configure_series_labels()
                        .background_style(WHITE.mix(0.85))
                        .border_style(RGBColor(200, 200, 200))
                        .label_font((FONT, 12))
                        .draw()
                        .map_err(err)?;
                }
            }};
        }
        if opt.log_y {
            let (y0, y1) = (y0.max(1e-12), y1.max(y0.max(1e-12) * 10.0));
            draw!(
                b.build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                    .map_err(err)?
            );
        } else {
            draw!(b.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?);
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Heatmap of `m` (rows × columns) with the value written in each cell (e.g. a confusion
/// matrix: rows true class, columns predicted class). A matrix with negative values (a
/// correlation matrix) gets a diverging blue-white-red scale.
pub fn heatmap(
    title: &str,
    row_labels: &[String],
    col_labels: &[String],
    m: &[Vec<f64>],
    x_label: &str,
    y_label: &str,
) -> Result<String> {
    heatmap_sized(
        title,
        row_labels,
        col_labels,
        m,
        (x_label, y_label),
        (WIDTH, WIDTH - 60),
    )
}

/// [`heatmap`] at a given size in pixels; `axes` are the x and y axis descriptions. Cell values
/// are written while the cells are wide enough to hold them.
pub fn heatmap_sized(
    title: &str,
    row_labels: &[String],
    col_labels: &[String],
    m: &[Vec<f64>],
    axes: (&str, &str),
    size: (u32, u32),
) -> Result<String> {
    let (x_label, y_label) = axes;
    let (rows, cols) = (m.len().max(1), m.first().map_or(0, |r| r.len()).max(1));
    let row_labels: Vec<String> = row_labels.iter().map(|l| short(l, 14)).collect();
    let col_labels: Vec<String> = col_labels.iter().map(|l| short(l, 14)).collect();
    let rotate = cols > 8 || col_labels.iter().any(|l| l.chars().count() > 8);
    // Pixels per cell, less the label areas and margins.
    let cell_w = size.0.saturating_sub(if rotate { 140 } else { 130 }) as usize / cols;
    let write_values = cell_w >= 30;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(if rotate { 100 } else { 56 })
            .y_label_area_size(100)
            // Segmented ranges include their end: 0..n-1 gives n cells.
            .build_cartesian_2d(
                (0..cols - 1).into_segmented(),
                (0..rows - 1).into_segmented(),
            )
            .map_err(err)?;
        let (rl, cl) = (row_labels, col_labels);
        let centre = |s: &SegmentValue<usize>| match s {
            SegmentValue::CenterOf(i) => Some(*i),
            _ => None,
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_labels(cols.min(40))
            .y_labels(rows.min(40))
            .x_label_formatter(&|s| {
                centre(s)
                    .filter(|_| !rotate)
                    .and_then(|i| cl.get(i).cloned())
                    .unwrap_or_default()
            })
            .y_label_formatter(&|s| {
                centre(s)
                    .and_then(|i| (rows - 1).checked_sub(i))
                    .and_then(|i| rl.get(i).cloned())
                    .unwrap_or_default()
            })
            .x_label_style((FONT, 12))
            .draw()
            .map_err(err)?;
        if rotate {
            for (c, l) in cl.iter().enumerate() {
                let (px, py) =
                    chart.backend_coord(&(SegmentValue::CenterOf(c), SegmentValue::Exact(0)));
                root.draw_text(l, &rotated_label_style(), (px, py + 8))
                    .map_err(err)?;
            }
        }
        let (lo, hi) = m
            .iter()
            .flatten()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let diverging = lo < 0.0;
        let colour = |v: f64| -> RGBColor {
            if !v.is_finite() {
                return RGBColor(200, 200, 200);
            }
            if diverging {
                let t = (v / hi.abs().max(lo.abs()).max(1e-12)).clamp(-1.0, 1.0);
                if t >= 0.0 {
                    RGBColor(
                        (255.0 - 35.0 * t) as u8,
                        (255.0 - 200.0 * t) as u8,
                        (255.0 - 200.0 * t) as u8,
                    )
                } else {
                    RGBColor(
                        (255.0 + 200.0 * t) as u8,
                        (255.0 + 150.0 * t) as u8,
                        (255.0 + 20.0 * t) as u8,
                    )
                }
            } else {
                let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
                RGBColor(
                    (240.0 - 200.0 * t) as u8,
                    (245.0 - 150.0 * t) as u8,
                    (255.0 - 60.0 * t) as u8,
                )
            }
        };
        use SegmentValue::{CenterOf, Exact};
        for (r, row) in m.iter().enumerate() {
            let y = rows - 1 - r;
            for (c, &v) in row.iter().enumerate() {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(Exact(c), Exact(y)), (Exact(c + 1), Exact(y + 1))],
                        colour(v).filled(),
                    )))
                    .map_err(err)?;
                if write_values {
                    let text = if v.fract() == 0.0 && v.abs() < 1e9 {
                        format!("{v}")
                    } else {
                        format!("{v:.2}")
                    };
                    let style = TextStyle::from((FONT, 12).into_font())
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    chart
                        .draw_series(std::iter::once(Text::new(
                            text,
                            (CenterOf(c), CenterOf(y)),
                            style,
                        )))
                        .map_err(err)?;
                }
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Bar chart of labelled values.
pub fn bars(title: &str, y_label: &str, labels: &[String], values: &[f64]) -> Result<String> {
    bars_sized(title, y_label, labels, values, (WIDTH, HEIGHT))
}

/// Cut a label to `n` characters with an ellipsis.
pub fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n.saturating_sub(1)).chain(['…']).collect()
    }
}

/// [`bars`] at a given size in pixels. Labels are cut to 12 characters; many or long labels
/// are drawn rotated so they do not overlap.
pub fn bars_sized(
    title: &str,
    y_label: &str,
    labels: &[String],
    values: &[f64],
    size: (u32, u32),
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = values.len().max(1);
        let (lo, hi) = values
            .iter()
            .fold((0.0f64, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
        let hi = if hi <= lo {
            lo + 1.0
        } else {
            hi + (hi - lo) * 0.05
        };
        let ls: Vec<String> = labels.iter().map(|l| short(l, 12)).collect();
        let rotate = n > 6 || ls.iter().any(|l| l.chars().count() > 8);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 16))
            .margin(10)
            .x_label_area_size(if rotate { 84 } else { 40 })
            .y_label_area_size(60)
            // Segmented ranges include their end: 0..n-1 gives n bars.
            .build_cartesian_2d((0..n - 1).into_segmented(), lo..hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(y_label)
            .x_labels(n + 1)
            .x_label_formatter(&|s| match s {
                SegmentValue::CenterOf(i) if !rotate => ls.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_style((FONT, 12))
            .draw()
            .map_err(err)?;
        if rotate {
            for (i, l) in ls.iter().enumerate() {
                let (px, py) = chart.backend_coord(&(SegmentValue::CenterOf(i), lo));
                root.draw_text(l, &rotated_label_style(), (px, py + 8))
                    .map_err(err)?;
            }
        }
        // Bars in pixels around each segment's centre: the segment's right edge
        // (`Exact(i + 1)`) lies outside the range for the last bar, and with one bar the
        // range is a single point, which gave a negative width.
        let (xr, _) = chart.plotting_area().get_pixel_range();
        let half = (xr.end - xr.start) / (2 * n as i32);
        let gap = if half > 8 { 3 } else { 0 };
        for (i, &v) in values.iter().enumerate() {
            let (cx, y0) = chart.backend_coord(&(SegmentValue::CenterOf(i), 0.0f64.max(lo)));
            let (_, y1) = chart.backend_coord(&(SegmentValue::CenterOf(i), v));
            root.draw(&Rectangle::new(
                [(cx - half + gap, y0.min(y1)), (cx + half - gap, y0.max(y1))],
                PALETTE[0].mix(0.8).filled(),
            ))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Histogram of `values` in `bins` equal-width bins.
pub fn histogram(title: &str, x_label: &str, values: &[f64], bins: usize) -> Result<String> {
    histogram_sized(title, x_label, values, bins, (WIDTH, HEIGHT))
}

/// [`histogram`] at a given size in pixels.
pub fn histogram_sized(
    title: &str,
    x_label: &str,
    values: &[f64],
    bins: usize,
    size: (u32, u32),
) -> Result<String> {
    let vals: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = span(vals.iter().copied());
    let bins = bins.max(1);
    let w = (hi - lo) / bins as f64;
    let mut counts = vec![0u64; bins];
    for v in &vals {
        let b = (((v - lo) / w) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.05;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0.0..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(x_label)
            .y_desc("count")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let x0 = lo + i as f64 * w;
                Rectangle::new(
                    [(x0, 0.0), (x0 + w, c as f64)],
                    PALETTE[0].mix(0.75).filled(),
                )
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Parallel coordinates: one polyline per row across named vertical axes. Values are in
/// [0, 1] on each axis (NaN where the axis does not apply to a row: its line passes it by);
/// `ticks[i]` labels the bottom and top of axis `i`. Each row has a shade in [0, 1], drawn
/// from light (0) to dark (1), darker rows on top, the darkest one thicker.
pub fn parallel(
    title: &str,
    axes: &[String],
    ticks: &[(String, String)],
    rows: &[(Vec<f64>, f64)],
) -> Result<String> {
    let n = axes.len().max(2);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH.max(120 * n as u32), HEIGHT + 40))
            .into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(16)
            .build_cartesian_2d(-0.4f64..(n - 1) as f64 + 0.4, -0.2f64..1.12)
            .map_err(err)?;
        let grey = RGBColor(150, 150, 150);
        let centre = |size: i32| {
            TextStyle::from((FONT, size).into_font()).pos(Pos::new(HPos::Center, VPos::Center))
        };
        for (i, name) in axes.iter().enumerate() {
            let x = i as f64;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, 0.0), (x, 1.0)],
                    grey.stroke_width(1),
                )))
                .map_err(err)?;
            let (lo, hi) = ticks.get(i).cloned().unwrap_or_default();
            for (text, y, size) in [(hi, 1.06, 11), (lo, -0.06, 11), (name.clone(), -0.15, 13)] {
                chart
                    .draw_series(std::iter::once(Text::new(text, (x, y), centre(size))))
                    .map_err(err)?;
            }
        }
        let mut order: Vec<&(Vec<f64>, f64)> = rows.iter().collect();
        order.sort_by(|a, b| a.1.total_cmp(&b.1));
        let last = order.len().saturating_sub(1);
        for (k, (vals, shade)) in order.into_iter().enumerate() {
            let t = shade.clamp(0.0, 1.0);
            let (a, b) = ((203.0, 213.0, 225.0), (29.0, 78.0, 216.0));
            let c = RGBColor(
                (a.0 + (b.0 - a.0) * t) as u8,
                (a.1 + (b.1 - a.1) * t) as u8,
                (a.2 + (b.2 - a.2) * t) as u8,
            );
            let style = c.stroke_width(if k == last { 3 } else { 1 });
            // An axis that does not apply to the row is skipped: the line goes on to the next.
            let pts: Vec<(f64, f64)> = vals
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, v)| (i as f64, v.clamp(0.0, 1.0)))
                .collect();
            chart
                .draw_series(std::iter::once(PathElement::new(pts, style)))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `<rect>` width and height in an SVG (a negative one is an error in a browser).
    fn rect_sizes(svg: &str) -> Vec<(f64, f64)> {
        let attr = |tag: &str, name: &str| -> f64 {
            let k = format!(" {name}=\"");
            tag.find(&k)
                .and_then(|i| tag[i + k.len()..].split('"').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        svg.split("<rect")
            .skip(1)
            .map(|t| {
                let tag = &t[..t.find('>').unwrap_or(t.len())];
                (attr(tag, "width"), attr(tag, "height"))
            })
            .collect()
    }

    #[test]
    fn bars_have_positive_widths_for_one_two_and_many_bars() {
        for n in [1usize, 2, 3, 7, 13] {
            let labels: Vec<String> = (0..n).map(|i| format!("run-{i}")).collect();
            let values: Vec<f64> = (0..n).map(|i| 0.5 + i as f64 * 0.1).collect();
            let svg = bars("t", "accuracy", &labels, &values).unwrap();
            let sizes = rect_sizes(&svg);
            // The background plus one bar per value.
            let bars: Vec<_> = sizes
                .iter()
                .filter(|(w, h)| *w < 600.0 && *h > 0.0)
                .collect();
            assert!(
                sizes.iter().all(|(w, h)| *w >= 0.0 && *h >= 0.0),
                "n = {n}: {sizes:?}"
            );
            assert_eq!(bars.len(), n, "n = {n}: {sizes:?}");
            assert!(bars.iter().all(|(w, _)| *w >= 1.0), "n = {n}: {sizes:?}");
        }
    }

    #[test]
    fn charts_are_svg_with_escaped_text() {
        let s = xy(
            "a < b",
            &[
                Series {
                    name: "loss".into(),
                    points: vec![(1.0, 0.5), (2.0, 0.25)],
                },
                Series {
                    name: "val".into(),
                    points: vec![(1.0, 0.6), (2.0, 0.4)],
                },
            ],
            &XyOptions {
                x_label: "epoch".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            s.starts_with("<svg") && s.contains("a &lt; b") && s.contains("<polyline"),
            "{}",
            &s[..200.min(s.len())]
        );
        let h = heatmap(
            "cm",
            &["x".into(), "y".into()],
            &["x".into(), "y".into()],
            &[vec![3.0, 1.0], vec![0.0, 4.0]],
            "predicted",
            "true",
        )
        .unwrap();
        assert!(
            h.contains("\n3\n</text>") && h.contains("\n4\n</text>"),
            "cell values are written"
        );
        let b = bars("b", "n", &["p".into(), "q".into()], &[1.0, 2.0]).unwrap();
        assert!(b.contains("<rect"));
        let g = histogram("h", "v", &[1.0, 2.0, 2.0, 3.0], 3).unwrap();
        assert!(g.contains("<rect"));
        let p = parallel(
            "pc",
            &["lr".into(), "units".into(), "value".into()],
            &vec![("1e-4".to_string(), "1e-1".to_string()); 3],
            &[(vec![0.1, f64::NAN, 0.5], 0.2), (vec![0.9, 0.4, 1.0], 1.0)],
        )
        .unwrap();
        assert!(
            p.contains("1e-4") && p.matches("<polyline").count() >= 4,
            "{p}"
        );
        // Empty and constant data still draw.
        assert!(xy("e", &[], &XyOptions::default()).is_ok());
        assert!(histogram("c", "v", &[5.0, 5.0], 4).is_ok());
    }
}
