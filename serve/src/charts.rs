//! The UI's charts come from neurite's one chart implementation (`neurite_pipeline::charts`,
//! SVG drawn with plotters, the same as the HTML reports and EDA). This adapter makes the calls
//! infallible for the handlers: a chart that cannot be drawn becomes a short note instead.

use neurite_pipeline::charts as pc;
pub use neurite_pipeline::charts::{Series, XyOptions, esc};

fn note(title: &str, e: impl std::fmt::Display) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"60\"><text x=\"10\" y=\"30\" font-family=\"sans-serif\" font-size=\"13\">{}: chart unavailable ({})</text></svg>",
        esc(title),
        esc(&e.to_string())
    )
}

/// Line chart, or scatter with `opt.scatter`.
pub fn xy(title: &str, series: &[Series], opt: &XyOptions) -> String {
    pc::xy(title, series, opt).unwrap_or_else(|e| note(title, e))
}

/// A confusion-matrix style heatmap: `values[r][c]`, rows labelled on the left.
pub fn heatmap(
    title: &str,
    row_title: &str,
    col_title: &str,
    labels: &[String],
    values: &[Vec<f64>],
) -> String {
    pc::heatmap(title, labels, labels, values, col_title, row_title)
        .unwrap_or_else(|e| note(title, e))
}

/// Bar chart of labelled values.
pub fn bars(title: &str, y_label: &str, labels: &[String], values: &[f64]) -> String {
    pc::bars(title, y_label, labels, values).unwrap_or_else(|e| note(title, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_render_escaped_svg() {
        let s = xy(
            "<b>",
            &[Series {
                name: "a&b".into(),
                points: vec![(0.0, 1.0), (1.0, 2.0)],
            }],
            &XyOptions::default(),
        );
        assert!(
            s.starts_with("<svg") && s.contains("&lt;b&gt;") && s.contains("a&amp;b"),
            "{}",
            &s[..200.min(s.len())]
        );
        let h = heatmap(
            "cm",
            "actual",
            "predicted",
            &["x".into(), "y".into()],
            &[vec![1.0, 2.0], vec![3.0, 4.0]],
        );
        assert!(h.contains("<rect") && h.contains("predicted"));
        assert!(bars("b", "n", &["p".into()], &[1.0]).contains("<rect"));
    }
}
