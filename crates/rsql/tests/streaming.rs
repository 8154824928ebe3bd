//! Output streams: the interpreter flushes its output writer after each statement's result,
//! each meta-command's output and each echoed line, so a file or a job's log shows output as
//! it is produced, not only at exit.

mod support;

use std::sync::{Arc, Mutex};

use rsql::{Options, Source};
use support::{Hook, run_source};

/// Runs a script, noting for each statement the output flushed by the time it is sent.
async fn flushed_at_each_statement(script: &str) -> (Vec<(String, String)>, support::Run) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let hook: Hook = Box::new(move |sql, flushed| {
        if let Ok(mut l) = log.lock() {
            l.push((sql.to_string(), flushed.to_string()));
        }
    });
    let r = run_source(Source::command(script), Options::default(), Some(hook)).await;
    let seen = seen.lock().map(|v| v.clone()).unwrap_or_default();
    (seen, r)
}

const RESULT_1: &str = "    q     \n----------\n select 1\n(1 row)\n\n";

#[tokio::test]
async fn results_and_meta_command_output_are_flushed_before_the_next_statement() {
    let (seen, r) =
        flushed_at_each_statement("\\echo one\nselect 1;\n\\echo two\nselect 2;\n").await;
    assert_eq!(r.code, 0);
    assert_eq!(
        seen,
        vec![
            ("select 1;".to_string(), "one\n".to_string()),
            ("select 2;".to_string(), format!("one\n{RESULT_1}two\n")),
        ]
    );
    // Everything was flushed by the end.
    assert_eq!(r.out.flushed(), r.out.text());
}

#[tokio::test]
async fn echoed_lines_are_flushed_before_their_statement_runs() {
    let (seen, _) = flushed_at_each_statement("\\set ECHO all\nselect 1;\nselect\n2;\n").await;
    assert_eq!(
        seen[0],
        ("select 1;".to_string(), "select 1;\n".to_string())
    );
    assert_eq!(
        seen[1],
        (
            "select\n2;".to_string(),
            format!("select 1;\n{RESULT_1}select\n2;\n")
        )
    );
}

#[tokio::test]
async fn one_flush_per_statement() {
    let n = 1000;
    let r = run_source(
        Source::command(&"select 1;\n".repeat(n)),
        Options::default(),
        None,
    )
    .await;
    let flushes = r.out.flush_count();
    // One after each result, and one at exit.
    assert!((n..=n + 1).contains(&flushes), "{flushes} flushes");
    // Statements that print nothing cost no flush.
    let r = run_source(
        Source::command(&"\\set a 1\n".repeat(n)),
        Options::default(),
        None,
    )
    .await;
    assert!(r.out.flush_count() <= 1, "{}", r.out.flush_count());
}

/// Streamed input (standard input, a pipe, a terminal): each statement is sent as soon as the
/// line that completes it is read, before the next line is asked for; a `\goto` skips
/// forward over lines not yet read.
#[tokio::test]
async fn streamed_statements_run_before_the_next_line_is_read() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let script = "select 1;\nselect\n2; select 3;\n\\goto L\nselect 4;\n\\label L\nselect 5;\n";
    let r = support::run_lines(script, Options::default(), log.clone()).await;
    assert_eq!(r.code, 0, "{}", r.err.text());
    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    assert_eq!(
        log,
        [
            "read 1",
            "sent select 1;",
            "read 2",
            "read 3",
            "sent select\n2;",
            "sent select 3;",
            "read 4",
            "read 5",
            "read 6",
            "read 7",
            "sent select 5;",
        ]
    );
    assert!(r.out.text().contains("\\label L processed"));
}

/// Text biased towards what the lexer and interpreter decide on (no backticks: they run
/// shell commands).
fn scriptish() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let atoms = prop::sample::select(vec![
        "'",
        "\"",
        "$$",
        "$a$",
        "--",
        "/*",
        "*/",
        "(",
        ")",
        ";",
        "\\",
        "\\\\",
        ":v",
        "\n",
        "\n",
        " ",
        "E'",
        "\\echo ",
        "\\if ",
        "\\if true\n",
        "\\else\n",
        "\\endif\n",
        "\\goto L\n",
        "\\label L\n",
        "\\set v 1\n",
        "select",
        "1",
        "é",
        "\\p\n",
        "\\r\n",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest::proptest! {
    /// A script streamed line by line gives exactly what the same script read whole gives:
    /// statements sent, stdout (with and without `ECHO all`), stderr and exit code.
    #[test]
    fn streaming_a_script_changes_nothing(src in scriptish(), echo in proptest::bool::ANY) {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let options = || Options {
            variables: if echo { vec![("ECHO".into(), "all".into())] } else { vec![] },
            ..Options::default()
        };
        let source = Source::from_bytes("<stdin>", src.clone().into_bytes(), ".".into())
            .expect("valid text");
        let whole = rt.block_on(run_source(source, options(), None));
        let streamed = rt.block_on(support::run_lines(&src, options(), Arc::default()));
        proptest::prop_assert_eq!(&whole.sent, &streamed.sent);
        proptest::prop_assert_eq!(whole.out.text(), streamed.out.text());
        proptest::prop_assert_eq!(whole.err.text(), streamed.err.text());
        proptest::prop_assert_eq!(whole.code, streamed.code);
    }
}
