//! Scripts whose handling used to take time quadratic in their size (deep `\if` nesting, long
//! lines of statements, `\goto` inside deep blocks) finish in linear time. Each test only bounds
//! the time generously, to catch a return of the quadratic behaviour (minutes to hours at these
//! sizes), not to measure speed: `cargo bench -p rsql --bench interp` does that.

mod support;

use support::run_script;

#[test]
fn deeply_nested_if_blocks() {
    let depth = 200_000;
    let mut text = "\\if true\n".repeat(depth);
    text.push_str(
        "select 'inner';\n\\if false\nselect 'skipped';\n\\else\nselect 'else';\n\\endif\n",
    );
    text.push_str(&"\\endif\n".repeat(depth));
    text.push_str("select 'after';\n");
    let r = run_script(60, "ifs.rsql", text);
    assert_eq!(
        r.sent,
        vec!["select 'inner';", "select 'else';", "select 'after';"]
    );
    assert_eq!((r.code, r.err.text()), (0, String::new()));
}

#[test]
fn deeply_nested_inactive_if_blocks() {
    let depth = 200_000;
    let mut text = "\\if false\n".repeat(depth);
    text.push_str("select 'never';\n");
    text.push_str(&"\\else\nselect 'else';\n\\endif\n".repeat(depth));
    let r = run_script(60, "ifs.rsql", text);
    // Only the outermost \else runs: the inner blocks are inside a false branch.
    assert_eq!(r.sent, vec!["select 'else';"]);
}

#[test]
fn goto_inside_deep_blocks() {
    let depth = 100_000;
    let mut text = "\\if true\n".repeat(depth);
    for i in 0..depth {
        text.push_str(&format!(
            "\\goto l{i}\nselect 'skipped';\n\\if true\n\\endif\n\\label l{i}\n"
        ));
    }
    text.push_str("select 'reached';\n");
    text.push_str(&"\\endif\n".repeat(depth));
    let r = run_script(60, "goto.rsql", text);
    assert_eq!(r.sent, vec!["select 'reached';"]);
    assert_eq!(r.code, 0);
}

#[test]
fn one_long_line_of_statements() {
    let n = 400_000;
    let text = "select 1;".repeat(n);
    let r = run_script(60, "line.rsql", text);
    assert_eq!(r.sent.len(), n);
    // With every line echoed (`-a`), too.
    let line = "select 2;".repeat(n);
    let r = run_script(60, "echo.rsql", format!("\\set ECHO all\n{line}\n"));
    assert_eq!(r.sent.len(), n);
    let out = r.out.text();
    assert!(
        out.starts_with(&format!("{line}\n")),
        "the line is echoed once, before its results"
    );
    assert_eq!(out.matches(&line).count(), 1);
}
