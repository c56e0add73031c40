//! report.html: report.md's content as one self-contained web page, for people who open
//! a report in a browser. The markdown is converted (`pulldown-cmark`), each chart image
//! is replaced by the chart's SVG inline, raw HTML in the text (a scenario's
//! description, say) is shown as text, and a small inline script makes every table
//! sortable by a click on its header. Nothing is fetched: a Content-Security-Policy
//! forbids any network access, so the file works offline and from a CI artifact.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};

use super::model::Report;

/// The page's style: readable tables, charts scaled to the width.
const STYLE: &str = include_str!("html/style.css");
/// Sortable tables: a click on a header sorts by that column (numbers with units as
/// numbers), a second click reverses.
const SCRIPT: &str = include_str!("html/sort.js");

/// The page for `report`, from its markdown (`report.md`'s text) and its charts
/// (`(file name, svg)`, as report.md refers to them).
pub(crate) fn render(report: &Report, markdown: &str, charts: &[(String, String)]) -> String {
    let title = format!("Versus report: {}", super::junit::scenario_name(report));
    let mut body = String::new();
    html::push_html(&mut body, inline_charts(markdown, charts).into_iter());
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <link rel=\"icon\" href=\"data:,\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n\
         <body>\n<main>\n{body}</main>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        escape(&title)
    )
}

/// The markdown's events with every image of a known chart replaced by its SVG, and
/// every piece of raw HTML turned into text.
fn inline_charts<'a>(markdown: &'a str, charts: &'a [(String, String)]) -> Vec<Event<'a>> {
    let mut events = Vec::new();
    let mut in_chart = false;
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Image { dest_url, .. }) => {
                match charts.iter().find(|(name, _)| *name == *dest_url) {
                    Some((name, svg)) => {
                        in_chart = true;
                        events.push(Event::Html(CowStr::from(figure(name, svg))));
                    }
                    None => events.push(Event::Text(dest_url)),
                }
            }
            Event::End(TagEnd::Image) => in_chart = false,
            // The image's alt text: the figure has its own caption.
            _ if in_chart => {}
            Event::Html(text) | Event::InlineHtml(text) => events.push(Event::Text(text)),
            other => events.push(other),
        }
    }
    events
}

fn figure(name: &str, svg: &str) -> String {
    let svg = svg
        .trim_start()
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split_once("?>").map(|(_, svg)| svg))
        .unwrap_or(svg);
    format!(
        "<figure class=\"chart\">{svg}<figcaption>{}</figcaption></figure>",
        escape(name)
    )
}

/// `text` with the five HTML special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVG: &str =
        "<svg width=\"10\" height=\"10\" xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>";

    fn page(markdown: &str) -> String {
        let report: Report = serde_json::from_value(serde_json::json!({
            "schema_version": 2,
            "tool": {"name": "versus", "version": "0", "git_sha": "x"},
            "machine": {"hostname": "h", "os": "o", "cpu_model": "c", "cores": 2, "memory_bytes": 1},
            "started_at": "t",
            "scenario": {"name": "<demo>"},
            "runs": []
        }))
        .unwrap();
        render(
            &report,
            markdown,
            &[("spectrum.svg".to_string(), SVG.to_string())],
        )
    }

    #[test]
    fn charts_are_inline_and_nothing_is_fetched() {
        let html = page(
            "# Title\n\n![latency spectrum](spectrum.svg)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<figure class=\"chart\"><svg"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("<table>") && html.contains("<th>a</th>"),
            "{html}"
        );
        for fetch in [
            "src=\"http",
            "href=\"http",
            "url(http",
            "src=\"//",
            "@import",
        ] {
            assert!(!html.contains(fetch), "{fetch} in {html}");
        }
        assert!(html.contains("<title>Versus report: &lt;demo&gt;</title>"));
    }

    #[test]
    fn raw_html_in_the_text_is_shown_as_text() {
        let html = page("A <script>alert(1)</script> description\n\n<iframe src=x></iframe>\n");
        assert_eq!(
            html.matches("<script>").count(),
            1,
            "only the page's own script: {html}"
        );
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<iframe"), "{html}");
    }

    #[test]
    fn an_xml_declaration_is_dropped_from_inline_svg() {
        let f = figure("a.svg", "<?xml version=\"1.0\"?>\n<svg></svg>");
        assert!(
            f.starts_with("<figure class=\"chart\">\n<svg></svg>"),
            "{f}"
        );
    }
}
