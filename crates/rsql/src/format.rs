//! Result-set rendering in psql's formats: aligned (border 0/1/2), wrapped, unaligned, csv, and
//! expanded display, with titles, footers and a configurable null string.

use unicode_width::UnicodeWidthStr;

use crate::backend::ResultSet;

/// The output format (`\pset format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// psql's default table.
    Aligned,
    /// Aligned, wrapping wide columns to the target width.
    Wrapped,
    /// Values separated by the field separator.
    Unaligned,
    /// RFC 4180 CSV.
    Csv,
}

impl Format {
    /// psql's name for the format.
    pub fn name(self) -> &'static str {
        match self {
            Format::Aligned => "aligned",
            Format::Wrapped => "wrapped",
            Format::Unaligned => "unaligned",
            Format::Csv => "csv",
        }
    }

    /// Parses a format name or unique prefix.
    pub fn parse(s: &str) -> Option<Format> {
        let l = s.to_ascii_lowercase();
        if l.is_empty() {
            return None;
        }
        [
            Format::Aligned,
            Format::Wrapped,
            Format::Unaligned,
            Format::Csv,
        ]
        .into_iter()
        .find(|f| f.name().starts_with(&l))
    }
}

/// Print options, as set by command-line flags, `\pset` and `\rset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintOptions {
    /// Output format.
    pub format: Format,
    /// Border style, 0 to 2.
    pub border: u8,
    /// Print rows only: no header, no footer.
    pub tuples_only: bool,
    /// Print the `(N rows)` footer.
    pub footer: bool,
    /// Expanded display: one `column | value` line per field.
    pub expanded: bool,
    /// Text printed for NULL.
    pub null: String,
    /// Field separator for unaligned output.
    pub fieldsep: String,
    /// Record separator for unaligned output.
    pub recordsep: String,
    /// Table title.
    pub title: Option<String>,
    /// Target width for wrapped output.
    pub columns: usize,
    /// Print the line of dashes under the column titles.
    pub titledashes: bool,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions {
            format: Format::Aligned,
            border: 1,
            tuples_only: false,
            footer: true,
            expanded: false,
            null: String::new(),
            fieldsep: "|".into(),
            recordsep: "\n".into(),
            title: None,
            columns: 75,
            titledashes: true,
        }
    }
}

/// Is a column of this PostgreSQL type right-aligned (numeric)?
pub fn is_numeric_type(oid: u32) -> bool {
    // int8, int2, int4, oid, xid, cid, float4, float8, money, numeric
    matches!(oid, 20 | 21 | 23 | 26 | 28 | 29 | 700 | 701 | 790 | 1700)
}

fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

fn footer_text(n: usize) -> String {
    if n == 1 {
        "(1 row)".to_string()
    } else {
        format!("({n} rows)")
    }
}

/// Renders a result set. `with_footer` is false for exported reports.
pub fn render(rs: &ResultSet, opt: &PrintOptions, with_footer: bool) -> String {
    let footer =
        (with_footer && opt.footer && !opt.tuples_only).then(|| footer_text(rs.rows.len()));
    match (opt.format, opt.expanded) {
        (Format::Csv, _) => render_csv(rs, opt),
        (Format::Unaligned, false) => render_unaligned(rs, opt, footer),
        (Format::Unaligned, true) => render_unaligned_expanded(rs, opt, footer),
        (_, true) => render_aligned_expanded(rs, opt),
        (f, false) => render_aligned(rs, opt, footer, f == Format::Wrapped),
    }
}

fn cell<'a>(v: &'a Option<String>, opt: &'a PrintOptions) -> &'a str {
    v.as_deref().unwrap_or(&opt.null)
}

fn render_csv(rs: &ResultSet, opt: &PrintOptions) -> String {
    let q = |s: &str| {
        if s.is_empty() || s.contains([',', '"', '\n', '\r']) || s.trim() != s {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    if !opt.tuples_only {
        let h: Vec<_> = rs.columns.iter().map(|c| q(&c.name)).collect();
        out.push_str(&h.join(","));
        out.push('\n');
    }
    for row in &rs.rows {
        let r: Vec<_> = row
            .iter()
            .map(|v| match v {
                None => opt.null.clone(),
                Some(s) => q(s),
            })
            .collect();
        out.push_str(&r.join(","));
        out.push('\n');
    }
    out
}

fn render_unaligned(rs: &ResultSet, opt: &PrintOptions, footer: Option<String>) -> String {
    let mut records: Vec<String> = Vec::with_capacity(rs.rows.len() + 2);
    if let Some(t) = opt.title.as_ref().filter(|_| !opt.tuples_only) {
        records.push(t.clone());
    }
    if !opt.tuples_only {
        let h: Vec<&str> = rs.columns.iter().map(|c| c.name.as_str()).collect();
        records.push(h.join(&opt.fieldsep));
    }
    for row in &rs.rows {
        let r: Vec<&str> = row.iter().map(|v| cell(v, opt)).collect();
        records.push(r.join(&opt.fieldsep));
    }
    if let Some(f) = footer {
        records.push(f);
    }
    if records.is_empty() {
        return String::new();
    }
    let mut out = records.join(&opt.recordsep);
    out.push('\n');
    out
}

fn render_unaligned_expanded(rs: &ResultSet, opt: &PrintOptions, footer: Option<String>) -> String {
    let mut out = String::new();
    for (i, row) in rs.rows.iter().enumerate() {
        if i > 0 {
            out.push_str(&opt.recordsep);
        }
        for (c, v) in rs.columns.iter().zip(row) {
            out.push_str(&c.name);
            out.push_str(&opt.fieldsep);
            out.push_str(cell(v, opt));
            out.push('\n');
        }
    }
    if let Some(f) = footer {
        out.push_str(&f);
        out.push('\n');
    }
    out
}

fn render_aligned_expanded(rs: &ResultSet, opt: &PrintOptions) -> String {
    let mut out = String::new();
    if let Some(t) = opt.title.as_ref().filter(|_| !opt.tuples_only) {
        out.push_str(t);
        out.push('\n');
    }
    if rs.rows.is_empty() {
        if !opt.tuples_only {
            out.push_str("(0 rows)\n");
        }
        out.push('\n');
        return out;
    }
    let border = opt.border.min(2);
    let hw = rs.columns.iter().map(|c| width(&c.name)).max().unwrap_or(0);
    let values: Vec<Vec<String>> = rs
        .rows
        .iter()
        .map(|row| row.iter().map(|v| cell(v, opt).to_string()).collect())
        .collect();
    let dw = values
        .iter()
        .flatten()
        .flat_map(|v| v.split('\n'))
        .map(width)
        .max()
        .unwrap_or(0);
    for (i, row) in values.iter().enumerate() {
        if !opt.tuples_only {
            out.push_str(&expanded_rule(Some(i + 1), border, hw, dw));
        } else if i > 0 || border == 2 {
            out.push_str(&expanded_rule(None, border, hw, dw));
        }
        for (c, v) in rs.columns.iter().zip(row) {
            let lines: Vec<&str> = v.split('\n').collect();
            for (k, line) in lines.iter().enumerate() {
                let head = if k == 0 { c.name.as_str() } else { "" };
                let head_pad = " ".repeat(hw - width(head));
                let more = k + 1 < lines.len();
                let data_pad = " ".repeat(dw - width(line));
                match border {
                    2 => {
                        let marker = if more { '+' } else { ' ' };
                        out.push_str(&format!("| {head}{head_pad} | {line}{data_pad}{marker}|\n"));
                    }
                    _ => {
                        let sep = if border == 1 { " | " } else { " " };
                        out.push_str(&format!("{head}{head_pad}{sep}{line}"));
                        if more {
                            out.push_str(&format!("{data_pad}+"));
                        }
                        out.push('\n');
                    }
                }
            }
        }
    }
    if border == 2 {
        out.push_str(&expanded_rule(None, border, hw, dw));
    }
    // psql prints no row-count footer in expanded mode.
    out.push('\n');
    out
}

/// A record's header line in expanded mode, or the rule between records without one, laid out
/// as psql lays it out: the label (`-[ RECORD n ]` with a border, `* Record n` without) runs
/// over the header column and, when longer, over the column separator, then the line is filled
/// out to the data column's width (`+-[ RECORD 1 ]+-------+` with border 2).
fn expanded_rule(record: Option<usize>, border: u8, hw: usize, dw: usize) -> String {
    let fill = if border > 0 { '-' } else { ' ' };
    let mut s = String::new();
    match border {
        2 => s.push_str("+-"),
        1 => s.push('-'),
        _ => {}
    }
    let mut used: i64 = 0;
    if let Some(n) = record {
        let label = if border == 0 {
            format!("* Record {n}")
        } else {
            format!("[ RECORD {n} ]")
        };
        used = width(&label) as i64;
        s.push_str(&label);
    }
    if border != 2 {
        used += 1;
    }
    for _ in used.max(0) as usize..hw {
        s.push(fill);
    }
    used -= hw as i64;
    let middle: &[char] = if border > 0 { &['-', '+', '-'] } else { &[' '] };
    for &c in middle {
        if used <= 0 {
            s.push(c);
        }
        used -= 1;
    }
    for _ in used.max(0) as usize..dw {
        s.push(fill);
    }
    if border == 2 {
        s.push_str("-+");
    }
    s.push('\n');
    s
}

/// One physical line of a cell: its text and the marker printed after it.
struct CellLine<'a> {
    text: std::borrow::Cow<'a, str>,
    /// '+' for an embedded newline, '.' for a wrap, ' ' otherwise.
    marker: char,
    /// True when this line continues a wrapped line (left wrap marker).
    continued: bool,
}

fn cell_lines(s: &str, width_limit: Option<usize>) -> Vec<CellLine<'_>> {
    let parts: Vec<&str> = s.split('\n').collect();
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let nl = if i + 1 < parts.len() { '+' } else { ' ' };
        match width_limit.filter(|&w| w > 0 && width(part) > w) {
            None => out.push(CellLine {
                text: (*part).into(),
                marker: nl,
                continued: false,
            }),
            Some(w) => {
                let mut cur = String::new();
                let mut first = true;
                for ch in part.chars() {
                    let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
                    if width(&cur) + cw > w {
                        out.push(CellLine {
                            text: std::mem::take(&mut cur).into(),
                            marker: '.',
                            continued: !first,
                        });
                        first = false;
                    }
                    cur.push(ch);
                }
                out.push(CellLine {
                    text: cur.into(),
                    marker: nl,
                    continued: !first,
                });
            }
        }
    }
    out
}

fn render_aligned(
    rs: &ResultSet,
    opt: &PrintOptions,
    footer: Option<String>,
    wrapped: bool,
) -> String {
    let ncols = rs.columns.len();
    let right: Vec<bool> = rs
        .columns
        .iter()
        .map(|c| is_numeric_type(c.type_oid))
        .collect();
    let mut widths: Vec<usize> = rs
        .columns
        .iter()
        .map(|c| c.name.split('\n').map(width).max().unwrap_or(0))
        .collect();
    for row in &rs.rows {
        for (j, v) in row.iter().enumerate() {
            let w = cell(v, opt).split('\n').map(width).max().unwrap_or(0);
            if w > widths[j] {
                widths[j] = w;
            }
        }
    }
    let border = opt.border.min(2);
    let mut limits: Vec<Option<usize>> = vec![None; ncols];
    if wrapped && ncols > 0 {
        let overhead = match border {
            0 => ncols,
            1 => 3 * ncols,
            _ => 3 * ncols + 1,
        };
        let header_w: Vec<usize> = rs.columns.iter().map(|c| width(&c.name).max(1)).collect();
        let mut w = widths.clone();
        while w.iter().sum::<usize>() + overhead > opt.columns {
            let Some((j, _)) = w
                .iter()
                .enumerate()
                .filter(|(j, x)| **x > header_w[*j] && !right[*j])
                .max_by_key(|(_, x)| **x)
            else {
                break;
            };
            w[j] -= 1;
            limits[j] = Some(w[j]);
        }
        widths = w;
    }
    let mut out = String::new();
    let total: usize = match border {
        0 => widths.iter().sum::<usize>() + ncols.saturating_sub(1),
        1 => widths.iter().sum::<usize>() + 3 * ncols.saturating_sub(1) + 2,
        _ => widths.iter().sum::<usize>() + 3 * ncols + 1,
    };
    if let Some(t) = opt.title.as_ref().filter(|_| !opt.tuples_only) {
        let tw = width(t);
        if tw >= total {
            out.push_str(t);
        } else {
            out.push_str(&" ".repeat((total - tw) / 2));
            out.push_str(t);
        }
        out.push('\n');
    }
    let rule = |out: &mut String| {
        match border {
            0 => {
                let parts: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
                out.push_str(&parts.join(" "));
            }
            1 => {
                let parts: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
                out.push_str(&parts.join("+"));
            }
            _ => {
                let parts: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
                out.push('+');
                out.push_str(&parts.join("+"));
                out.push('+');
            }
        }
        out.push('\n');
    };
    if border == 2 {
        rule(&mut out);
    }
    if !opt.tuples_only {
        let headers: Vec<Vec<CellLine>> = rs
            .columns
            .iter()
            .map(|c| cell_lines(&c.name, None))
            .collect();
        emit_row(
            &mut out,
            &headers,
            &widths,
            &vec![false; ncols],
            border,
            true,
        );
        if opt.titledashes {
            rule(&mut out);
        }
    }
    for row in &rs.rows {
        let cells: Vec<Vec<CellLine>> = row
            .iter()
            .enumerate()
            .map(|(j, v)| cell_lines(cell(v, opt), limits[j]))
            .collect();
        emit_row(&mut out, &cells, &widths, &right, border, false);
    }
    if border == 2 && !(opt.tuples_only && rs.rows.is_empty()) {
        rule(&mut out);
    }
    if let Some(f) = footer {
        out.push_str(&f);
        out.push('\n');
    }
    out.push('\n');
    out
}

fn emit_row(
    out: &mut String,
    cells: &[Vec<CellLine>],
    widths: &[usize],
    right: &[bool],
    border: u8,
    header: bool,
) {
    let n = cells.len();
    let height = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    for li in 0..height {
        let mut line = String::new();
        if border == 2 {
            line.push('|');
        }
        for (j, c) in cells.iter().enumerate() {
            let last = j + 1 == n;
            let w = widths[j];
            let cl = c.get(li);
            // The character before the cell: a space, or the left wrap marker.
            if border >= 1 {
                line.push(if cl.is_some_and(|l| l.continued) {
                    '.'
                } else {
                    ' '
                });
            }
            match cl {
                Some(l) => {
                    let tw = width(&l.text);
                    let pad = w.saturating_sub(tw);
                    if header {
                        let left = pad / 2;
                        line.push_str(&" ".repeat(left));
                        line.push_str(&l.text);
                        line.push_str(&" ".repeat(pad - left));
                    } else if right[j] {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(&l.text);
                    } else {
                        line.push_str(&l.text);
                        if !(last && border < 2 && l.marker == ' ') {
                            line.push_str(&" ".repeat(pad));
                        }
                    }
                    if !last || border == 2 || l.marker != ' ' || header {
                        line.push(l.marker);
                    }
                }
                None => {
                    if !(last && border < 2) {
                        line.push_str(&" ".repeat(w));
                        line.push(' ');
                    }
                }
            }
            if !last {
                if border >= 1 {
                    line.push('|');
                }
            } else if border == 2 {
                line.push('|');
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Column;

    fn rs() -> ResultSet {
        ResultSet {
            columns: vec![
                Column {
                    name: "a".into(),
                    type_oid: 23,
                },
                Column {
                    name: "bbbbbb".into(),
                    type_oid: 25,
                },
                Column {
                    name: "c".into(),
                    type_oid: 23,
                },
                Column {
                    name: "d".into(),
                    type_oid: 25,
                },
                Column {
                    name: "e".into(),
                    type_oid: 1700,
                },
            ],
            rows: vec![vec![
                Some("1".into()),
                Some("x".into()),
                None,
                Some("multi\nline".into()),
                Some("12.5".into()),
            ]],
        }
    }

    #[test]
    fn aligned_matches_psql() {
        let out = render(&rs(), &PrintOptions::default(), true);
        let expected = " a | bbbbbb | c |   d   |  e   \n---+--------+---+-------+------\n 1 | x      |   | multi+| 12.5\n   |        |   | line  | \n(1 row)\n\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn unaligned_and_tuples_only() {
        let mut o = PrintOptions {
            format: Format::Unaligned,
            ..Default::default()
        };
        let r = ResultSet {
            columns: vec![
                Column {
                    name: "a".into(),
                    type_oid: 23,
                },
                Column {
                    name: "b".into(),
                    type_oid: 25,
                },
            ],
            rows: vec![vec![Some("1".into()), Some("x".into())]],
        };
        assert_eq!(render(&r, &o, true), "a|b\n1|x\n(1 row)\n");
        o.tuples_only = true;
        assert_eq!(render(&r, &o, true), "1|x\n");
        o.format = Format::Aligned;
        assert_eq!(render(&r, &o, true), " 1 | x\n\n");
        o.tuples_only = false;
        o.border = 2;
        assert_eq!(
            render(&r, &o, true),
            "+---+---+\n| a | b |\n+---+---+\n| 1 | x |\n+---+---+\n(1 row)\n\n"
        );
        o.border = 0;
        assert_eq!(render(&r, &o, true), "a b \n- -\n1 x\n(1 row)\n\n");
    }
}
