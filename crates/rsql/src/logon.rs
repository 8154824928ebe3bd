//! `\logon`, `\c`/`\connect` arguments, and keeping passwords out of history and echoed input.
//!
//! RSQL: `\logon {[DBNAME|- USERNAME|- HOST|- PORT|- [PASSWORD]] | conninfo}`, "`-` means keep
//! the current value" (<https://docs.aws.amazon.com/redshift/latest/mgmt/rsql-query-tool-commands.html>);
//! psql's `\c [dbname [username] [host] [port]] | conninfo`, where an omitted value or `-` is
//! the previous connection's and a conninfo string (`key=value ...`) or URI re-uses nothing
//! (<https://www.postgresql.org/docs/current/app-psql.html>, `\connect`).

use crate::backend::Logon;

/// Builds the request from a command's parsed arguments. `command` is the name as typed
/// (`logon`, `c`, `connect`), for messages. RSQL's `\logon` takes a fifth value, the password;
/// psql's `\c` has four.
pub fn request(command: &str, args: &[String]) -> Result<Logon, String> {
    let max = if command.eq_ignore_ascii_case("logon") {
        5
    } else {
        4
    };
    if let Some(first) = args.first() {
        if first.starts_with("-reuse-previous") {
            return Err(format!(
                "\\{command}: {first} is not supported (give the values to keep as -)"
            ));
        }
        if is_conninfo(first) {
            // psql ignores what follows a connection string; a script that writes more than
            // it means is told instead.
            if args.len() > 1 {
                return Err(format!(
                    "\\{command}: a connection string must be the only argument (quote it when it holds spaces)"
                ));
            }
            return Ok(Logon::Conninfo(first.clone()));
        }
    }
    if args.len() > max {
        return Err(format!(
            "\\{command}: too many arguments ({} given; expected {})",
            args.len(),
            if max == 5 {
                "DBNAME USERNAME HOST PORT [PASSWORD], with - to keep a value"
            } else {
                "DBNAME USERNAME HOST PORT, with - to keep a value"
            }
        ));
    }
    let at = |i: usize| {
        args.get(i)
            .filter(|a| !a.is_empty() && a.as_str() != "-")
            .cloned()
    };
    let port = at(3);
    if let Some(p) = &port
        && p.parse::<u16>().map_or(true, |n| n == 0)
    {
        return Err(format!("\\{command}: invalid port \"{p}\""));
    }
    Ok(Logon::Positional {
        dbname: at(0),
        user: at(1),
        host: at(2),
        port,
        // A password is never "kept" by writing `-`: RSQL's `-` applies to DBNAME, USERNAME,
        // HOST and PORT.
        password: args.get(4).filter(|p| !p.is_empty()).cloned(),
    })
}

/// True for a psql connection string: a URI, or `key=value` pairs.
pub fn is_conninfo(arg: &str) -> bool {
    arg.starts_with("postgres://") || arg.starts_with("postgresql://") || arg.contains('=')
}

/// What is kept of a line typed or echoed: a `\logon`, `\c` or `\connect` on it has its
/// password replaced by `***` (the fifth positional value, a conninfo's `password=` value, a
/// URI's password). `None` when there is nothing to hide.
pub fn redact(line: &str) -> Option<String> {
    let mut out = String::with_capacity(line.len());
    let mut changed = false;
    let mut rest = line;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let name_len = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let is_logon = name.eq_ignore_ascii_case("logon") || name == "c" || name == "connect";
        if !is_logon || name_len == 0 {
            out.push('\\');
            rest = after;
            continue;
        }
        // The arguments run to the end of the line or to `\\`.
        let args_all = &after[name_len..];
        let end = args_all.find("\\\\").unwrap_or(args_all.len());
        let (args, tail) = args_all.split_at(end);
        out.push('\\');
        out.push_str(name);
        let hidden = redact_args(args);
        changed |= hidden != args;
        out.push_str(&hidden);
        rest = tail;
        if let Some(t) = rest.strip_prefix("\\\\") {
            out.push_str("\\\\");
            rest = t;
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// The words of an argument text with their byte ranges (single and double quotes kept
/// together).
fn words(args: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quote = None;
    for (i, c) in args.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => {
                quote = Some(c);
                start.get_or_insert(i);
            }
            (None, c) if c.is_whitespace() => {
                if let Some(s) = start.take() {
                    out.push(s..i);
                }
            }
            (None, _) => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(s) = start {
        out.push(s..args.len());
    }
    out
}

fn redact_args(args: &str) -> String {
    let w = words(args);
    let Some(first) = w.first() else {
        return args.to_string();
    };
    let first_text = args[first.clone()].trim_matches(['\'', '"']);
    let mut out = args.to_string();
    if is_conninfo(first_text) {
        // Every word: `password=...` values and URI passwords.
        for r in w.iter().rev() {
            let word = &args[r.clone()];
            let hidden = redact_conninfo(word);
            out.replace_range(r.clone(), &hidden);
        }
        return out;
    }
    if let Some(r) = w.get(4) {
        out.replace_range(r.clone(), "***");
    }
    out
}

fn redact_conninfo(word: &str) -> String {
    // key=value pairs: each `password=VALUE`, the value up to a space, quote or `&`.
    let mut s = word.to_string();
    let mut from = 0;
    while let Some(i) = s[from..].to_ascii_lowercase().find("password=") {
        let start = from + i + "password=".len();
        let end = s[start..]
            .find([' ', '\'', '"', '&'])
            .map_or(s.len(), |e| start + e);
        s.replace_range(start..end, "***");
        from = start + 3;
    }
    redact_uri(&s)
}

/// `postgres://user:PASSWORD@host` -> `postgres://user:***@host` (to the last `@`, as
/// rsqlflow's URL reader takes it).
fn redact_uri(s: &str) -> String {
    for scheme in ["postgresql://", "postgres://"] {
        if let Some(i) = s.find(scheme) {
            let start = i + scheme.len();
            let rest = &s[start..];
            if let Some(at) = rest.rfind('@')
                && let Some(colon) = rest[..at].find(':')
            {
                let mut out = s.to_string();
                out.replace_range(start + colon + 1..start + at, "***");
                return out;
            }
            return s.to_string();
        }
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(cmd: &str, a: &[&str]) -> Result<Logon, String> {
        request(cmd, &a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn positional_values_and_dashes() {
        assert_eq!(
            req("logon", &["dev", "-", "h", "5439", "pw"]).unwrap(),
            Logon::Positional {
                dbname: Some("dev".into()),
                user: None,
                host: Some("h".into()),
                port: Some("5439".into()),
                password: Some("pw".into()),
            }
        );
        assert_eq!(
            req("c", &[]).unwrap(),
            Logon::Positional {
                dbname: None,
                user: None,
                host: None,
                port: None,
                password: None
            }
        );
    }

    #[test]
    fn bad_arguments_name_the_command() {
        let e = req("logon", &["a", "b", "c", "x"]).unwrap_err();
        assert!(e.contains("\\logon: invalid port \"x\""), "{e}");
        let e = req("c", &["a", "b", "c", "5", "pw"]).unwrap_err();
        assert!(e.starts_with("\\c: too many arguments"), "{e}");
        let e = req("LOGON", &["a", "b", "c", "0"]).unwrap_err();
        assert!(e.starts_with("\\LOGON: invalid port"), "{e}");
        let e = req("connect", &["host=a", "dbname=b"]).unwrap_err();
        assert!(e.starts_with("\\connect: a connection string"), "{e}");
        assert!(req("c", &["-reuse-previous=on", "x"]).is_err());
        assert!(req("logon", &["a", "b", "c", "99999"]).is_err());
    }

    #[test]
    fn conninfo_and_uris() {
        assert_eq!(
            req("c", &["host=a dbname=b"]).unwrap(),
            Logon::Conninfo("host=a dbname=b".into())
        );
        assert_eq!(
            req("c", &["postgres://u@h/db"]).unwrap(),
            Logon::Conninfo("postgres://u@h/db".into())
        );
        let dbg = format!("{:?}", req("c", &["password=SeCrEt"]).unwrap());
        assert!(!dbg.contains("SeCrEt"));
        let dbg = format!(
            "{:?}",
            req("logon", &["a", "b", "c", "1", "SeCrEt"]).unwrap()
        );
        assert!(!dbg.contains("SeCrEt"));
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("\\logon dev user2 host 5439 SeCrEt").as_deref(),
            Some("\\logon dev user2 host 5439 ***")
        );
        assert_eq!(
            redact("\\LOGON dev user2 host 5439 'Se Cr Et'").as_deref(),
            Some("\\LOGON dev user2 host 5439 ***")
        );
        assert_eq!(redact("\\logon dev user2 host 5439"), None);
        assert_eq!(redact("select 1; \\echo a"), None);
        assert_eq!(
            redact("\\c 'host=h password=SeCrEt dbname=d'").as_deref(),
            Some("\\c 'host=h password=*** dbname=d'")
        );
        assert_eq!(
            redact("\\connect postgres://u:SeCrEt@h/db").as_deref(),
            Some("\\connect postgres://u:***@h/db")
        );
        assert_eq!(
            redact("\\logon a b c 1 SeCrEt \\\\ \\echo x").as_deref(),
            Some("\\logon a b c 1 *** \\\\ \\echo x")
        );
        assert_eq!(
            redact("\\c password=SeCrEt host=x password=Two").as_deref(),
            Some("\\c password=*** host=x password=***")
        );
        // Odd input never panics.
        for odd in [
            "\\",
            "\\logon",
            "\\c '",
            "\\c password=",
            "\\c postgres://",
            "é\\cé",
        ] {
            let _ = redact(odd);
        }
    }
}
