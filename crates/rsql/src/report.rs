//! BTEQ-style report titles for `\rset heading` and `\rset rtitle`: `//` starts a new line,
//! `||` splits a line into left, centre and right sections, `&DATE` is today's date (MM/DD/YY).

use unicode_width::UnicodeWidthStr;

/// Renders title text at the given target width, one output line per `//`-separated line.
pub fn render_title(text: &str, width: usize, date: &str) -> String {
    let text = text.replace("&DATE", date);
    let mut out = String::new();
    for line in text.split("//") {
        let sections: Vec<&str> = line.splitn(3, "||").collect();
        let rendered = match sections.as_slice() {
            [one] => centre(one, width),
            [left, right] => spread(left, "", right, width),
            [left, mid, right] => spread(left, mid, right, width),
            _ => String::new(),
        };
        out.push_str(rendered.trim_end());
        out.push('\n');
    }
    out
}

fn w(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

fn centre(s: &str, width: usize) -> String {
    let pad = width.saturating_sub(w(s)) / 2;
    format!("{}{s}", " ".repeat(pad))
}

fn spread(left: &str, mid: &str, right: &str, width: usize) -> String {
    let mut line = left.to_string();
    if !mid.is_empty() {
        let start = (width.saturating_sub(w(mid)) / 2).max(w(&line) + 1);
        line.push_str(&" ".repeat(start - w(&line)));
        line.push_str(mid);
    }
    if !right.is_empty() {
        let start = width.saturating_sub(w(right)).max(w(&line) + 1);
        line.push_str(&" ".repeat(start - w(&line)));
        line.push_str(right);
    }
    line
}

/// Today's date as RSQL prints it in titles (MM/DD/YY).
pub fn today() -> String {
    chrono::Local::now().format("%m/%d/%y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_lines() {
        let t = render_title("&DATE||Sales||Confidential//Q3", 40, "09/11/20");
        assert_eq!(
            t,
            "09/11/20         Sales      Confidential\n                   Q3\n"
        );
    }
}
