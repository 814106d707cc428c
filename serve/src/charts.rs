//! The UI's one chart implementation: small SVG charts rendered on the server (line, scatter,
//! heatmap, bars). No JavaScript library, no external fonts; text is escaped.

use std::fmt::Write;

const W: f64 = 640.0;
const H: f64 = 360.0;
const ML: f64 = 64.0;
const MR: f64 = 20.0;
const MT: f64 = 40.0;
const MB: f64 = 52.0;
pub const PALETTE: [&str; 8] = [
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777",
];

#[derive(Clone, Debug, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

#[derive(Clone, Debug, Default)]
pub struct XyOptions {
    pub x_label: String,
    pub y_label: String,
    /// Draw markers only (a scatter plot).
    pub scatter: bool,
    /// Draw the y = x line (ROC chance line, predicted = actual).
    pub diagonal: bool,
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
}

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// "Nice" tick values covering `[lo, hi]`.
pub fn ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    let mut v = Vec::new();
    let mut t = first;
    while t <= hi + step * 1e-9 && v.len() < 50 {
        v.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    v
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn header(o: &mut String, title: &str) {
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" class="chart" role="img" aria-label="{t}" font-family="system-ui, sans-serif" font-size="12"><title>{t}</title><rect width="{W}" height="{H}" fill="#fff"/><text x="{x}" y="22" font-size="15" font-weight="600" text-anchor="middle">{t}</text>"##,
        t = esc(title),
        x = W / 2.0
    );
}

fn range(vals: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return None;
    }
    if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return Some((lo - pad, hi + pad));
    }
    Some((lo, hi))
}

/// A line (or scatter) chart of one or more series.
pub fn xy(title: &str, series: &[Series], opt: &XyOptions) -> String {
    let mut o = String::with_capacity(8192);
    header(&mut o, title);
    let pts = || series.iter().flat_map(|s| s.points.iter());
    let xr = opt.x_range.or_else(|| range(pts().map(|p| p.0)));
    let yr = opt.y_range.or_else(|| range(pts().map(|p| p.1)));
    let (Some((x0, x1)), Some((y0, y1))) = (xr, yr) else {
        let _ = write!(
            o,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#666">no data</text></svg>"##,
            W / 2.0,
            H / 2.0
        );
        return o;
    };
    let px = |x: f64| ML + (x - x0) / (x1 - x0) * (W - ML - MR);
    let py = |y: f64| H - MB - (y - y0) / (y1 - y0) * (H - MT - MB);
    // Grid and axes.
    for t in ticks(y0, y1, 5) {
        let y = py(t);
        let _ = write!(
            o,
            r##"<line x1="{ML}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{}" y="{:.1}" text-anchor="end" fill="#374151">{}</text>"##,
            W - MR,
            ML - 6.0,
            y + 4.0,
            fmt_tick(t)
        );
    }
    for t in ticks(x0, x1, 6) {
        let x = px(t);
        let _ = write!(
            o,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{MT}" y2="{}" stroke="#f1f5f9"/><text x="{x:.1}" y="{}" text-anchor="middle" fill="#374151">{}</text>"##,
            H - MB,
            H - MB + 16.0,
            fmt_tick(t)
        );
    }
    let _ = write!(
        o,
        r##"<rect x="{ML}" y="{MT}" width="{}" height="{}" fill="none" stroke="#9ca3af"/>"##,
        W - ML - MR,
        H - MT - MB
    );
    let _ = write!(
        o,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#111">{}</text><text transform="translate(16 {}) rotate(-90)" text-anchor="middle" fill="#111">{}</text>"##,
        ML + (W - ML - MR) / 2.0,
        H - 12.0,
        esc(&opt.x_label),
        MT + (H - MT - MB) / 2.0,
        esc(&opt.y_label)
    );
    if opt.diagonal {
        let (a, b) = (x0.max(y0), x1.min(y1));
        if a < b {
            let _ = write!(
                o,
                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#9ca3af" stroke-dasharray="4 4"/>"##,
                px(a),
                py(a),
                px(b),
                py(b)
            );
        }
    }
    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let visible: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .map(|&(x, y)| (px(x), py(y)))
            .collect();
        let _ = write!(o, r#"<g class="series" data-name="{}">"#, esc(&s.name));
        if opt.scatter || visible.len() == 1 {
            for (x, y) in &visible {
                let _ = write!(
                    o,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{color}" fill-opacity="0.7"/>"#
                );
            }
        } else if !visible.is_empty() {
            let mut d = String::with_capacity(visible.len() * 16);
            for (j, (x, y)) in visible.iter().enumerate() {
                let _ = write!(d, "{}{x:.1},{y:.1}", if j == 0 { "M" } else { "L" });
            }
            let _ = write!(
                o,
                r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="2"/>"#
            );
        }
        o.push_str("</g>");
        // Legend.
        let ly = MT + 8.0 + i as f64 * 16.0;
        let _ = write!(
            o,
            r##"<rect x="{}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}" fill="#111">{}</text>"##,
            W - MR - 150.0,
            ly,
            W - MR - 136.0,
            ly + 9.0,
            esc(&s.name)
        );
    }
    o.push_str("</svg>");
    o
}

/// A confusion-matrix style heatmap: `values[r][c]`, rows labelled on the left.
pub fn heatmap(
    title: &str,
    row_title: &str,
    col_title: &str,
    labels: &[String],
    values: &[Vec<f64>],
) -> String {
    let mut o = String::with_capacity(8192);
    header(&mut o, title);
    let n = labels.len().max(1);
    let size = ((H - MT - MB).min(W - 2.0 * ML - 100.0) / n as f64).max(4.0);
    let x0 = (W - size * n as f64) / 2.0 + 20.0;
    let y0 = MT + 8.0;
    let max = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-12);
    for (r, row) in values.iter().enumerate().take(n) {
        for (c, v) in row.iter().enumerate().take(n) {
            let t = if v.is_finite() { v / max } else { 0.0 };
            let light = 97.0 - 55.0 * t;
            let (x, y) = (x0 + c as f64 * size, y0 + r as f64 * size);
            let _ = write!(
                o,
                r##"<rect class="cell" x="{x:.1}" y="{y:.1}" width="{size:.1}" height="{size:.1}" fill="hsl(217 80% {light:.0}%)" stroke="#fff"><title>{} → {}: {}</title></rect>"##,
                esc(labels.get(r).map(String::as_str).unwrap_or("")),
                esc(labels.get(c).map(String::as_str).unwrap_or("")),
                fmt_tick(*v)
            );
            if size >= 18.0 {
                let _ = write!(
                    o,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{}">{}</text>"##,
                    x + size / 2.0,
                    y + size / 2.0 + 4.0,
                    if t > 0.55 { "#fff" } else { "#111" },
                    fmt_tick(*v)
                );
            }
        }
    }
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(
            o,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#374151">{}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#374151">{}</text>"##,
            x0 - 6.0,
            y0 + i as f64 * size + size / 2.0 + 4.0,
            esc(l),
            x0 + i as f64 * size + size / 2.0,
            y0 + n as f64 * size + 16.0,
            esc(l)
        );
    }
    let _ = write!(
        o,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#111">{}</text><text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle" fill="#111">{}</text></svg>"##,
        x0 + size * n as f64 / 2.0,
        H - 10.0,
        esc(col_title),
        y0 + size * n as f64 / 2.0,
        esc(row_title)
    );
    o
}

/// Vertical bars, one per label.
pub fn bars(title: &str, y_label: &str, labels: &[String], values: &[f64]) -> String {
    let mut o = String::with_capacity(4096);
    header(&mut o, title);
    let Some((lo, hi)) = range(values.iter().copied().chain([0.0])) else {
        o.push_str("</svg>");
        return o;
    };
    let n = labels.len().max(1);
    let bw = (W - ML - MR) / n as f64;
    let py = |y: f64| H - MB - (y - lo) / (hi - lo) * (H - MT - MB);
    for t in ticks(lo, hi, 5) {
        let y = py(t);
        let _ = write!(
            o,
            r##"<line x1="{ML}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{}" y="{:.1}" text-anchor="end" fill="#374151">{}</text>"##,
            W - MR,
            ML - 6.0,
            y + 4.0,
            fmt_tick(t)
        );
    }
    for (i, (l, v)) in labels.iter().zip(values).enumerate() {
        if !v.is_finite() {
            continue;
        }
        let x = ML + i as f64 * bw + bw * 0.15;
        let (a, b) = (py(v.max(0.0)), py(v.min(0.0)));
        let _ = write!(
            o,
            r##"<rect class="bar" x="{x:.1}" y="{a:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect><text x="{:.1}" y="{}" text-anchor="middle" fill="#374151">{}</text>"##,
            bw * 0.7,
            (b - a).max(0.5),
            PALETTE[0],
            esc(l),
            fmt_tick(*v),
            x + bw * 0.35,
            H - MB + 16.0,
            esc(l)
        );
    }
    let _ = write!(
        o,
        r##"<text transform="translate(16 {}) rotate(-90)" text-anchor="middle" fill="#111">{}</text></svg>"##,
        MT + (H - MT - MB) / 2.0,
        esc(y_label)
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice() {
        let t = ticks(0.0, 1.0, 5);
        assert_eq!(t.len(), 6);
        assert!(t[0] == 0.0 && (t[5] - 1.0).abs() < 1e-12);
        assert_eq!(ticks(0.0, 100.0, 5).len(), 6);
    }

    #[test]
    fn charts_render_escaped_svg() {
        let s = xy(
            "loss <train>",
            &[Series {
                name: "a&b".into(),
                points: vec![(1.0, 2.0), (2.0, f64::NAN), (3.0, 1.0)],
            }],
            &XyOptions::default(),
        );
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert!(s.contains("loss &lt;train&gt;") && s.contains("a&amp;b"));
        assert!(s.contains("<path d=\"M"));
        let h = heatmap(
            "cm",
            "actual",
            "predicted",
            &["a".into(), "b".into()],
            &[vec![3.0, 1.0], vec![0.0, 4.0]],
        );
        assert_eq!(h.matches("class=\"cell\"").count(), 4);
        let b = bars("acc", "accuracy", &["v1".into(), "v2".into()], &[0.9, 0.95]);
        assert_eq!(b.matches("class=\"bar\"").count(), 2);
        assert!(xy("empty", &[], &XyOptions::default()).contains("no data"));
    }
}
