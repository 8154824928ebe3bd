//! psql's `\copy`: client-side COPY between a local file and a table, rewritten into
//! `COPY ... FROM STDIN` / `COPY ... TO STDOUT` and streamed over the session.

/// Direction and statement of a parsed `\copy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyCommand {
    /// True for `from` (loading into the database).
    pub from: bool,
    /// Local file path.
    pub file: String,
    /// The statement to send.
    pub sql: String,
}

/// Errors in a `\copy` line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyError {
    /// The line does not have the `\copy TABLE from|to FILE` shape.
    #[error("\\copy: parse error at {0}")]
    Parse(String),
    /// stdin/stdout as the data source is not supported.
    #[error("\\copy: {0} is not supported; name a file")]
    Unsupported(String),
}

/// Parses the argument text of `\copy`.
pub fn parse(args: &str) -> Result<CopyCommand, CopyError> {
    let s = args.trim();
    if s.is_empty() {
        return Err(CopyError::Parse("end of line".into()));
    }
    // The table part: a parenthesised query, or a name with an optional column list.
    let mut i = 0;
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                c if c.is_ascii_whitespace() && depth == 0 => {
                    // Look at the next word only, once per run of spaces: lowercasing the rest
                    // of the line at every space made long lines quadratic.
                    let rest = s[i..].trim_start();
                    let word = |w: &[u8]| {
                        rest.as_bytes()
                            .get(..w.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(w))
                    };
                    if word(b"from ") || word(b"to ") {
                        break;
                    }
                    // The skipped run holds no quotes or parentheses.
                    i = s.len() - rest.len();
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    let table = s[..i].trim();
    let rest = s[i..].trim_start();
    if table.is_empty() || rest.is_empty() {
        return Err(CopyError::Parse(if rest.is_empty() {
            "end of line".into()
        } else {
            format!("\"{rest}\"")
        }));
    }
    let (dir, rest) = rest
        .split_once(char::is_whitespace)
        .ok_or_else(|| CopyError::Parse("end of line".into()))?;
    let from = dir.eq_ignore_ascii_case("from");
    let rest = rest.trim_start();
    let (file, options) = if let Some(r) = rest.strip_prefix('\'') {
        let mut f = String::new();
        let mut chars = r.char_indices().peekable();
        let mut end = None;
        while let Some((j, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|x| x.1) == Some('\'') {
                    chars.next();
                    f.push('\'');
                    continue;
                }
                end = Some(j + 1);
                break;
            }
            f.push(c);
        }
        let end = end.ok_or_else(|| CopyError::Parse("unterminated quoted file name".into()))?;
        (f, r[end..].trim())
    } else {
        let (f, o) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        (f.to_string(), o.trim())
    };
    if file.is_empty() {
        return Err(CopyError::Parse("end of line".into()));
    }
    if matches!(
        file.to_ascii_lowercase().as_str(),
        "stdin" | "stdout" | "pstdin" | "pstdout"
    ) {
        return Err(CopyError::Unsupported(file));
    }
    let options = options.trim_end_matches(';').trim();
    let mut sql = format!(
        "COPY {table} {}",
        if from { "FROM STDIN" } else { "TO STDOUT" }
    );
    if !options.is_empty() {
        sql.push(' ');
        sql.push_str(options);
    }
    Ok(CopyCommand { from, file, sql })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let c = parse("t (a, b) from '/tmp/x y.csv' with (format csv, header)").unwrap();
        assert!(c.from);
        assert_eq!(c.file, "/tmp/x y.csv");
        assert_eq!(c.sql, "COPY t (a, b) FROM STDIN with (format csv, header)");
        let c = parse("(select 1 from t) to out.txt").unwrap();
        assert!(!c.from);
        assert_eq!(c.sql, "COPY (select 1 from t) TO STDOUT");
        assert!(matches!(
            parse("t from stdin"),
            Err(CopyError::Unsupported(_))
        ));
        assert!(matches!(parse("t"), Err(CopyError::Parse(_))));
    }

    #[test]
    fn long_lines_parse_in_linear_time() {
        // Each of these took time quadratic in the line's length (hours at this size).
        crate::testutil::finishes_within(60, || {
            let words = format!("t{} from 'f'", " x".repeat(1_000_000));
            assert_eq!(parse(&words).unwrap().file, "f");
            let spaces = format!("t{}from 'f'", " ".repeat(2_000_000));
            assert!(parse(&spaces).unwrap().from);
            let odd = format!("t{} x", " \u{a0}x".repeat(1_000_000));
            assert!(matches!(parse(&odd), Err(CopyError::Parse(_))));
        });
    }
}
