//! Hostile nesting, 100,000 levels deep, run on a thread with a 2 MiB stack (the size of a
//! test thread; the CLI's main thread has 8 MiB): every construct either works or ends with a
//! clear error naming FILE:LINE, and nothing overflows the stack.

mod support;

use std::future::Future;

use support::{Run, run_text};

const DEEP: usize = 100_000;

/// Runs a future to completion on a new thread with a 2 MiB stack.
fn on_small_stack<F>(f: impl FnOnce() -> F + Send + 'static) -> F::Output
where
    F: Future,
    F::Output: Send + 'static,
{
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            rt.block_on(f())
        })
        .expect("thread");
    handle
        .join()
        .expect("the script thread panicked or overflowed")
}

fn run(name: &'static str, text: String) -> Run {
    on_small_stack(move || async move { run_text(name, &text).await })
}

#[test]
fn if_with_deep_parentheses_is_a_clear_error() {
    let text = format!(
        "select 1;\n\\if {}1 = 1{}\nselect 'taken';\n\\else\nselect 'not taken';\n\\endif\n",
        "(".repeat(DEEP),
        ")".repeat(DEEP)
    );
    let r = run("deep.rsql", text);
    assert_eq!(
        r.err.text(),
        "rsql: \\if expression nested more than 1000 levels deep (parentheses and NOT) \
         at deep.rsql:2\n"
    );
    // As for any other bad \if expression, the condition counts as false.
    assert_eq!(r.sent, vec!["select 1;", "select 'not taken';"]);
    assert_eq!(r.code, 0);
}

#[test]
fn elseif_with_deep_nots_is_a_clear_error() {
    let text = format!(
        "\\if false\n\\elseif {}true\n\\endif\n",
        "NOT ".repeat(DEEP)
    );
    let r = run("nots.rsql", text);
    assert!(
        r.err
            .text()
            .contains("nested more than 1000 levels deep (parentheses and NOT) at nots.rsql:2"),
        "{}",
        r.err.text()
    );
}

#[test]
fn deeply_nested_comments_are_lexed_without_recursion() {
    // psql and PostgreSQL nest /* */ comments to any depth; the lexer counts levels.
    let comment = format!("{}x{}", "/*".repeat(DEEP), "*/".repeat(DEEP));
    let r = run("c.rsql", format!("select 1 {comment};\nselect 2;\n"));
    assert_eq!(
        r.sent,
        vec![format!("select 1 {comment};"), "select 2;".into()]
    );
    assert_eq!(r.err.text(), "");
    // Left open, it is reported with the line it started on.
    let r = run(
        "open.rsql",
        format!("select 1;\n\nselect {};\n", "/*".repeat(DEEP)),
    );
    assert_eq!(
        r.err.text(),
        "rsql: unterminated /* comment at open.rsql:3\n"
    );
    assert_eq!(r.code, 1);
}

#[test]
fn deeply_nested_dollar_quotes_and_parentheses_are_flat_text() {
    let open: String = (0..DEEP).map(|i| format!("$t{i}$")).collect();
    let close: String = (0..DEEP).rev().map(|i| format!("$t{i}$")).collect();
    let sql = format!("select {open};{close};");
    let r = run("d.rsql", sql.clone());
    // Only the outermost tag quotes: the inner ones are its text.
    assert_eq!(r.sent, vec![sql]);
    let parens = format!("select {}1{};", "(".repeat(DEEP), ")".repeat(DEEP));
    let r = run("p.rsql", parens.clone());
    assert_eq!(r.sent, vec![parens]);
}

#[test]
fn variables_are_interpolated_once_not_recursively() {
    // A value that names variables is inserted as it is: no second round of interpolation.
    let chain = ":a".repeat(DEEP);
    let r = run(
        "v.rsql",
        format!("\\set a '{chain}'\nselect :a;\n\\echo :a\n\\if :a = :a\n\\endif\n"),
    );
    assert_eq!(r.sent, vec![format!("select {chain};")]);
    assert!(r.out.text().contains(&format!("{chain}\n")));
}
