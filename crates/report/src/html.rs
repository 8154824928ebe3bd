//! The report as one HTML file: the header written here, the graph, timeline and details drawn
//! by the page's own script from the report's data (a JSON block), the graph laid out by
//! dagre (MIT, inlined with its licence notice, `assets/dagre.min.js`). No network access: no
//! external scripts, styles, fonts or images.

use std::fmt::Write as _;

use crate::Report;

const CSS: &str = include_str!("../assets/report.css");
const JS: &str = include_str!("../assets/report.js");
const DAGRE: &str = include_str!("../assets/dagre.min.js");
const DAGRE_LICENSE: &str = include_str!("../assets/dagre.LICENSE");

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

/// JSON safe inside a `<script>` element: `<` is written `\u003c`, so no `</script>` or
/// `<!--` can end or change it.
fn script_json(r: &Report) -> String {
    serde_json::to_string(r)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

/// A duration as `1 h 02 min`, `3 min 04 s` or `5.678 s`.
pub fn duration(ms: i64) -> String {
    let s = ms as f64 / 1000.0;
    if s >= 3600.0 {
        format!("{} h {:02} min", ms / 3_600_000, (ms / 60_000) % 60)
    } else if s >= 60.0 {
        format!("{} min {:02} s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{s:.3} s")
    }
}

/// A cause as the header shows it: the `message` of a JSON cause (check-job's causes are JSON
/// objects with the job's details; the details panel shows all of it), else the cause.
fn headline(cause: &str) -> String {
    serde_json::from_str::<serde_json::Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| cause.to_string())
}

/// The cost estimate as a table (written here: it needs no script).
fn cost_section(r: &Report) -> String {
    let Some(c) = &r.cost else {
        return String::new();
    };
    let mut s = format!(
        "<section id=\"cost-section\"><h2>Cost in AWS ({}), estimated</h2><table class=\"cost\">\
<tr><th>Service</th><th>What</th><th>Quantity</th><th>Unit</th><th>USD</th><th>Basis</th></tr>",
        escape(&c.region)
    );
    for row in &c.rows {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{:.6}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&row.service),
            escape(&row.item),
            row.quantity,
            escape(&row.unit),
            escape(&usd(row.usd)),
            escape(&row.basis)
        );
    }
    let _ = writeln!(
        s,
        "<tr class=\"total\"><th colspan=\"4\">Total</th><th class=\"num\" id=\"cost-total\">{}</th><th></th></tr></table><p class=\"note\">{}</p></section>",
        escape(&usd(c.total_usd)),
        escape(&c.note)
    );
    s
}

/// A dollar amount: from a dollar with cents, below it with six decimals.
pub fn usd(x: f64) -> String {
    if x >= 1.0 {
        format!("${x:.2}")
    } else if x > 0.0 && x < 0.0000005 {
        "<$0.000001".to_string()
    } else {
        format!("${x:.6}")
    }
}

/// The page.
pub fn render(r: &Report) -> String {
    let x = &r.summary;
    let mut head = String::new();
    let status = x.status.to_ascii_lowercase();
    let dur = match (x.start, x.stop) {
        (Some(a), Some(b)) => duration(b - a),
        (Some(_), None) => "running".into(),
        _ => "-".into(),
    };
    let rows: Vec<(&str, String)> = vec![
        ("Workflow", r.workflow.clone()),
        ("Execution", r.execution_arn.clone()),
        ("Start", time(x.start)),
        ("Duration", dur),
        (
            "Trigger",
            r.trigger
                .clone()
                .unwrap_or_else(|| "started by hand".into()),
        ),
        ("Redrives", x.redrive_count.to_string()),
        ("Events", x.events.to_string()),
    ];
    let _ = write!(
        head,
        "<header><h1>{} <span class=\"badge st-{}\" id=\"exec-status\">{}</span></h1><dl>",
        escape(&r.execution),
        escape(&status.replace('_', "-")),
        escape(&x.status)
    );
    for (k, v) in rows {
        let _ = write!(head, "<dt>{k}</dt><dd>{}</dd>", escape(&v));
    }
    head.push_str("</dl>");
    if !r.links.is_empty() {
        head.push_str("<p class=\"links\">");
        for (i, (name, url)) in r.links.iter().enumerate() {
            if i > 0 {
                head.push_str(" · ");
            }
            let _ = write!(
                head,
                "<a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">{}</a>",
                escape(url),
                escape(name)
            );
        }
        head.push_str("</p>");
    }
    if let Some(e) = &x.error {
        let _ = write!(
            head,
            "<p class=\"error\"><b>{}</b> {}</p>",
            escape(e),
            escape(&headline(x.cause.as_deref().unwrap_or("")))
        );
    }
    if r.omitted_states > 0 {
        let _ = write!(
            head,
            "<p class=\"note\">{} more states named by the history and not by the definition \
             are not shown.</p>",
            r.omitted_states
        );
    }
    if let Some(n) = &r.notification {
        let summary = if r.notification_composed {
            "Notification (as the notify Lambda composes it from this history)"
        } else {
            "Notification sent"
        };
        let _ = write!(
            head,
            "<details class=\"notification\"><summary>{summary}</summary><pre>{}</pre></details>",
            escape(n)
        );
    }
    head.push_str("</header>");
    let legend: String = [
        "succeeded",
        "failed",
        "caught",
        "retried",
        "aborted",
        "running",
        "not-run",
    ]
    .iter()
    .map(|s| format!("<span class=\"chip st-{s}\">{}</span>", s.replace('-', " ")))
    .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{CSS}</style></head><body>\n{head}\n\
<section id=\"graph-section\"><h2>Graph</h2><div class=\"legend\">{legend}</div>\
<div id=\"graph\"></div></section>\n\
<section id=\"timeline-section\"><h2>Timeline</h2><div id=\"timeline\"></div></section>\n\
<section id=\"jobs-section\"><h2>Batch jobs</h2><div id=\"jobs\"></div></section>\n\
{cost}
<aside id=\"details\" hidden></aside>\n\
<script type=\"application/json\" id=\"report-data\">{data}</script>\n\
<script>\n/*! dagre {dagre_note}\n{license}*/\n{DAGRE}\n</script>\n<script>\n{JS}\n</script>\n\
</body></html>\n",
        title = escape(&format!("{} {} – {}", r.workflow, r.execution, x.status)),
        data = script_json(r),
        cost = cost_section(r),
        dagre_note = "3.1.3, https://github.com/dagrejs/dagre, MIT licence:",
        license = DAGRE_LICENSE.replace("*/", "* /"),
    )
}
