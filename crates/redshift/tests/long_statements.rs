//! Translation is linear in a statement's length: a long one-line INSERT (a 160 KB one took
//! 22 s when every token's position was counted from its line's start) and deeply nested
//! comments translate in well under the hang guard.

use std::time::{Duration, Instant};

fn timed(sql: &str) -> (redshift::Translation, Duration) {
    let t = Instant::now();
    let out = redshift::translate(sql);
    (out, t.elapsed())
}

#[test]
fn a_two_megabyte_one_line_insert_translates_in_linear_time() {
    let mut sql = String::from("INSERT INTO t (a, b, c) VALUES ");
    let mut n = 0;
    while sql.len() < 2_000_000 {
        if n > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("({n}, 'v{n}', DATEADD(day, {n}, '2026-01-01'))"));
        n += 1;
    }
    sql.push(';');
    let (out, took) = timed(&sql);
    assert!(
        matches!(out, redshift::Translation::Rewritten(_)),
        "DATEADD is rewritten"
    );
    assert!(took < Duration::from_secs(60), "{took:?}");
}

#[test]
fn deeply_nested_comments_do_not_hang_translation() {
    let depth = 20_000;
    let sql = format!(
        "SELECT DATEADD(day, 1, '2026-01-01') {}x{};",
        "/* ".repeat(depth),
        " */".repeat(depth)
    );
    let (_, took) = timed(&sql);
    assert!(took < Duration::from_secs(60), "{took:?}");
}
