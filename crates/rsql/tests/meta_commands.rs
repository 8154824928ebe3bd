//! `rsql::meta::COMMANDS` (the list `rsqlflow check` reads) names exactly the meta-commands the
//! interpreter runs: each listed one is dispatched (whatever it then says about its arguments),
//! and the documented ones it refuses are reported as unsupported.

mod support;

use rsql::{Options, Source};
use support::run_source;

async fn stderr_of(script: &str) -> String {
    let run = run_source(Source::command(script), Options::default(), None).await;
    run.err.text()
}

#[tokio::test]
async fn every_listed_command_is_dispatched() {
    for name in rsql::meta::COMMANDS {
        if *name == "\\" {
            continue;
        }
        // `\!` and `\os` with `true` run nothing of consequence.
        let script = match *name {
            "!" | "os" => format!("\\{name} true\n"),
            _ => format!("\\{name}\n"),
        };
        let err = stderr_of(&script).await;
        assert!(
            !err.contains("unsupported meta-command"),
            "\\{name} is listed but refused: {err}"
        );
    }
}

#[tokio::test]
async fn refused_commands_are_not_listed() {
    for name in ["dC", "de", "dp+", "z", "H", "watch", "gexec"] {
        assert!(rsql::meta::not_implemented(name), "{name}");
        assert!(!rsql::meta::COMMANDS.contains(&rsql::meta::canonical(name).as_str()));
        let err = stderr_of(&format!("\\{name}\n")).await;
        assert!(err.contains("unsupported meta-command"), "\\{name}: {err}");
    }
}

#[tokio::test]
async fn pset_options_and_rset_keywords_are_the_interpreters() {
    for opt in rsql::meta::PSET_OPTIONS {
        let err = stderr_of(&format!("\\pset {opt}\n")).await;
        assert!(!err.contains("unknown option"), "\\pset {opt}: {err}");
    }
    let err = stderr_of("\\pset colour\n").await;
    assert!(err.contains("unknown option"), "{err}");
    for kw in rsql::meta::RSET_KEYWORDS {
        let err = stderr_of(&format!("\\rset {kw}\n")).await;
        assert!(!err.contains("unknown keyword"), "\\rset {kw}: {err}");
    }
    let err = stderr_of("\\rset colour\n").await;
    assert!(err.contains("unknown keyword"), "{err}");
}

#[tokio::test]
async fn describe_commands_are_dispatched() {
    for name in ["d", "d t", "dt", "dtS+", "dv", "dn", "df+", "du", "l", "l+"] {
        assert!(!rsql::meta::not_implemented(
            name.split(' ').next().unwrap_or(name)
        ));
        let err = stderr_of(&format!("\\{name}\n")).await;
        assert!(!err.contains("unsupported meta-command"), "\\{name}: {err}");
    }
}

/// `\logon`, `\c`, `\connect` and `\logoff` are run; a backend that cannot open another
/// session says so, naming the command, and the script stops (exit 1).
#[tokio::test]
async fn connecting_is_asked_of_the_backend() {
    for (script, name) in [
        ("\\logon dev\n", "\\logon"),
        ("\\LOGON dev\n", "\\logon"),
        ("\\c dev\n", "\\c"),
        ("\\connect dev\n", "\\connect"),
        ("\\logoff\n", "\\logoff"),
    ] {
        let run = run_source(Source::command(script), Options::default(), None).await;
        let err = run.err.text();
        assert!(
            err.contains(&format!(
                "{name}: connecting to another database is not supported here"
            )),
            "{script}: {err}"
        );
        assert_eq!(run.code, 1, "{script}");
    }
    let run = run_source(
        Source::command("\\logon a b c notaport\n"),
        Options::default(),
        None,
    )
    .await;
    assert!(
        run.err
            .text()
            .contains("\\logon: invalid port \"notaport\" at"),
        "{}",
        run.err.text()
    );
    assert_eq!(run.code, 1);
}
