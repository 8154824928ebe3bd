//! `rsqlflow check`: the command line over the `check` crate (paths, variables, format, exit
//! code).

use std::io::IsTerminal;

use check::report::{self, Format};
use check::{Options, Rule, Severity};

use crate::cli::{CheckArgs, CheckDeny, CheckFormat};

/// Exit code when the check cannot run.
const CANNOT_RUN: i32 = 2;

/// Runs the check; returns the exit code: 0 clean, 1 findings that fail, 2 cannot run.
pub fn run(args: CheckArgs) -> i32 {
    if let Some(code) = &args.explain {
        if code == "list" {
            for r in Rule::ALL {
                println!("{:<24} {}", r.code(), r.summary());
            }
            return 0;
        }
        return match Rule::from_code(code) {
            Ok(rule) => {
                print!("{}", rule.explain());
                0
            }
            Err(e) => {
                eprintln!("rsqlflow check: {e}");
                CANNOT_RUN
            }
        };
    }
    let mut known_passed = Vec::new();
    for v in &args.vars {
        let name = v.split_once('=').map_or(v.as_str(), |(n, _)| n);
        if !rsql::vars::valid_name(name) {
            eprintln!(
                "rsqlflow check: -v {v}: not a variable name (letters, digits and underscores)"
            );
            return CANNOT_RUN;
        }
        known_passed.push(name.to_string());
    }
    let options = Options {
        known_passed,
        ..Options::default()
    };
    let outcome = match check::check_paths(&args.paths, &options) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("rsqlflow check: {e}");
            return CANNOT_RUN;
        }
    };
    let format = match args.format {
        CheckFormat::Text => Format::Text,
        CheckFormat::Json => Format::Json,
        CheckFormat::Github => Format::Github,
    };
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let written = report::write(
        &outcome,
        format,
        color,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    if let Err(e) = written {
        eprintln!("rsqlflow check: cannot write the report: {e}");
        return CANNOT_RUN;
    }
    let failing = outcome.count(Severity::Error)
        + match args.deny {
            Some(CheckDeny::Warnings) => outcome.count(Severity::Warning),
            None => 0,
        };
    i32::from(failing > 0)
}
