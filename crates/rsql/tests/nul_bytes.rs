//! NUL bytes are bad input: a script holding one is refused when read, and a statement that a
//! variable fills with one is refused before it is sent; both are client errors (exit 1) naming
//! FILE:LINE, not a lost connection (exit 2).

mod support;

use rsql::{EXIT_CLIENT, Options, Source};
use support::{run_source, run_text};

#[test]
fn a_script_with_a_nul_byte_is_refused_when_read() {
    let err = Source::from_bytes("job.rsql", b"select 1;\n\\echo a\0b\n".to_vec(), ".".into())
        .expect_err("a NUL byte is not text");
    assert_eq!(
        err.to_string(),
        "NUL byte (0x00) at job.rsql:2: a script cannot contain NUL bytes"
    );
}

#[tokio::test]
async fn a_variable_holding_a_nul_byte_is_not_sent() {
    let r = run_text(
        "n.rsql",
        "select 1;\n\\set x '\\000'\nselect 'a' ||\n:'x';\nselect 2;\n",
    )
    .await;
    // Named by the line the statement starts on.
    assert_eq!(
        r.err.text(),
        "rsql: statement contains a NUL byte (0x00), which cannot be sent to the server, \
         at n.rsql:3\n"
    );
    assert_eq!(r.code, EXIT_CLIENT);
    assert_eq!(r.sent, vec!["select 1;"]);
}

#[tokio::test]
async fn a_job_variable_holding_a_nul_byte_is_not_sent() {
    let options = Options {
        variables: vec![("v".into(), "a\0b".into())],
        ..Options::default()
    };
    let source = Source::command("select :'v';");
    let r = run_source(source, options, None).await;
    assert_eq!(r.code, EXIT_CLIENT);
    assert!(r.err.text().contains("NUL byte"), "{}", r.err.text());
    assert!(r.sent.is_empty());
}
