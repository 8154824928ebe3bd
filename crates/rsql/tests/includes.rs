//! `\i`, `\ir` and `\run`: include cycles and runaway nesting are refused with an error naming
//! the chain of includes; ordinary, repeated and relative includes keep working.

mod support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use rsql::{Options, Source};
use support::{Run, finishes_within, run_source};

/// A fresh directory under the system's temporary directory, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let p =
            std::env::temp_dir().join(format!("rsql-includes-{}-{n}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temporary directory");
        Dir(p)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("directory");
        }
        std::fs::write(&p, text).expect("write");
        p
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a script file (with a 60 s bound: an include loop used to run forever).
fn run_file(path: &Path) -> Run {
    let path = path.to_path_buf();
    finishes_within(60, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let source = Source::load(&path).await.expect("load");
            run_source(source, Options::default(), None).await
        })
    })
}

#[test]
fn a_file_including_itself_is_refused() {
    let d = Dir::new("self");
    let a = d.file("a.sql", "select 1;\n\n\\ir a.sql\nselect 2;\n");
    let r = run_file(&a);
    let a = d.path("a.sql");
    assert_eq!(
        r.err.text(),
        format!("rsql: \\ir: include cycle: {a}:3 -> {a}\n")
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.sent, vec!["select 1;"]);

    // The same file under another spelling of its path is the same file.
    let b = d.file("b.sql", &format!("\\i {}/./b.sql\n", d.0.display()));
    let r = run_file(&b);
    assert!(r.err.text().contains("include cycle"), "{}", r.err.text());
    assert_eq!(r.code, 1);
}

#[test]
fn a_cycle_through_two_files_names_the_chain() {
    let d = Dir::new("two");
    let a = d.file("a.sql", "select 'a1';\n\n\\ir b.sql\nselect 'a2';\n");
    d.file(
        "b.sql",
        &format!("select 'b1';\n\n\n\n\n\n\\include {}\n", d.path("a.sql")),
    );
    let r = run_file(&a);
    let (a, b) = (d.path("a.sql"), d.path("b.sql"));
    assert_eq!(
        r.err.text(),
        format!("rsql: \\include: include cycle: {a}:3 -> {b}:7 -> {a}\n")
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.sent, vec!["select 'a1';", "select 'b1';"]);
}

#[test]
fn includes_deeper_than_the_limit_are_refused() {
    let d = Dir::new("deep");
    for i in 0..100 {
        d.file(
            &format!("f{i}.sql"),
            &format!("select {i};\n\\ir f{}.sql\n", i + 1),
        );
    }
    let r = run_file(&d.0.join("f0.sql"));
    let err = r.err.text();
    let limit = rsql::MAX_INCLUDE_DEPTH;
    assert!(
        err.starts_with(&format!(
            "rsql: \\ir: includes nested more than {limit} files deep: {}:2 -> {}:2 -> ",
            d.path("f0.sql"),
            d.path("f1.sql")
        )),
        "{err}"
    );
    assert!(
        err.ends_with(&format!(
            "{}:2 -> {}\n",
            d.path(&format!("f{}.sql", limit - 1)),
            d.path(&format!("f{limit}.sql"))
        )),
        "{err}"
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.sent.len(), limit);
}

#[test]
fn repeated_and_relative_includes_work() {
    let d = Dir::new("ok");
    d.file("lib/common.sql", "select 'common';\n\\ir helper.sql\n");
    d.file("lib/helper.sql", "select 'helper';\n");
    let main = d.file(
        "main.sql",
        &format!(
            "\\ir lib/common.sql\n\\ir lib/common.sql\n\\i {}\nselect 'end';\n",
            d.path("lib/helper.sql")
        ),
    );
    let r = run_file(&main);
    assert_eq!(r.err.text(), "");
    assert_eq!(r.code, 0);
    assert_eq!(
        r.sent,
        vec![
            "select 'common';",
            "select 'helper';",
            "select 'common';",
            "select 'helper';",
            "select 'helper';",
            "select 'end';"
        ]
    );
}

#[test]
fn run_of_the_same_file_past_its_own_line_is_not_a_cycle() {
    let d = Dir::new("run");
    let a = d.path("a.sql");
    // Skipping 2 lines starts after the \run: the rest runs once more, then ends.
    let f = d.file(
        "a.sql",
        &format!("select 1;\n\\run file={a} skip=2\nselect 3;\n"),
    );
    let r = run_file(&f);
    assert_eq!(r.err.text(), "");
    assert_eq!(r.sent, vec!["select 1;", "select 3;", "select 3;"]);
    // Skipping 1 line runs the \run again with the same skip: a cycle.
    let f = d.file(
        "a.sql",
        &format!("select 1;\n\\run file={a} skip=1\nselect 3;\n"),
    );
    let r = run_file(&f);
    assert_eq!(
        r.err.text(),
        format!("rsql: \\run: include cycle: {a}:2 -> {a}:2 -> {a}\n")
    );
    assert_eq!(r.code, 1);
}
