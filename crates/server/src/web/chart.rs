//! Bar charts drawn on the server as SVG, so they need no script and print well. Each
//! chart is a labelled image (`role="img"` with a title and a description that reads out
//! every figure) and sits beside a table of the same figures, its full text alternative.

use std::fmt::Write;

/// One series of bars: its name in the legend and its CSS class (the colour).
pub struct Series {
    pub name: &'static str,
    pub class: &'static str,
}

/// One group of bars: its label and one value per series (the figure drawn, and how it
/// reads).
pub struct Group {
    pub label: String,
    pub values: Vec<(f64, String)>,
}

/// The drawing's own width: narrow, so its text stays legible on a phone once scaled.
const WIDTH: f64 = 400.0;
const BAR: f64 = 10.0;
const LABEL: f64 = 16.0;
const GAP: f64 = 10.0;

/// A horizontal grouped bar chart, each group's label above its bars; `id` makes its
/// title and description referable.
pub fn bars(id: &str, title: &str, series: &[Series], groups: &[Group]) -> String {
    let max = groups
        .iter()
        .flat_map(|g| g.values.iter().map(|(v, _)| *v))
        .fold(0.0_f64, f64::max);
    let scale = if max > 0.0 { WIDTH / max } else { 0.0 };
    let group_height = LABEL + BAR * series.len() as f64 + GAP;
    let legend_height = 26.0;
    let height = legend_height + group_height * groups.len() as f64;
    let mut description = String::new();
    for g in groups {
        let figures: Vec<String> = series
            .iter()
            .zip(&g.values)
            .map(|(s, (_, text))| format!("{} {text}", s.name))
            .collect();
        let _ = write!(description, "{}: {}. ", g.label, figures.join(", "));
    }
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(description.trim_end())
    );
    let mut x = 0.0;
    for s in series {
        let _ = write!(
            svg,
            r#"<rect class="{}" x="{x}" y="4" width="12" height="12"/><text class="chart__legend" x="{}" y="15">{}</text>"#,
            s.class,
            x + 17.0,
            escape(s.name)
        );
        x += 32.0 + 7.0 * s.name.len() as f64;
    }
    for (i, g) in groups.iter().enumerate() {
        let top = legend_height + group_height * i as f64;
        let _ = write!(
            svg,
            r#"<text class="chart__label" x="0" y="{}">{}</text>"#,
            top + 12.0,
            escape(&g.label)
        );
        for (j, (s, (value, _))) in series.iter().zip(&g.values).enumerate() {
            let w = (value.max(0.0) * scale).max(if *value > 0.0 { 1.0 } else { 0.0 });
            let _ = write!(
                svg,
                r#"<rect class="{}" x="0" y="{}" width="{w:.1}" height="{}"/>"#,
                s.class,
                top + LABEL + BAR * j as f64,
                BAR - 1.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Text for SVG: `&`, `<`, `>` and quotes escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> String {
        bars(
            "c",
            "Paid by region",
            &[Series {
                name: "Paid",
                class: "bar-paid",
            }],
            &[
                Group {
                    label: "London".into(),
                    values: vec![(100.0, "£100.00".into())],
                },
                Group {
                    label: "North <East>".into(),
                    values: vec![(50.0, "£50.00".into())],
                },
            ],
        )
    }

    #[test]
    fn the_description_reads_out_every_figure() {
        assert!(chart().contains("London: Paid £100.00. North &lt;East&gt;: Paid £50.00."));
    }

    #[test]
    fn the_largest_value_fills_the_bar_area_and_others_scale() {
        let svg = chart();
        assert!(svg.contains(r#"width="400.0""#));
        assert!(svg.contains(r#"width="200.0""#));
    }

    #[test]
    fn labels_are_escaped() {
        assert!(!chart().contains("<East>"));
    }
}
