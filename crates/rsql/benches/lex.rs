//! Lexing throughput: splits a 10 MB RSQL script into statements and meta-commands.
//! Run with `cargo bench -p rsql --bench lex`; prints MB/s (best of several runs).

use std::time::Instant;

fn script(target: usize) -> String {
    let block = "\
-- load the staging table
\\set batch 42
INSERT INTO staging.customer (c_custkey, c_name, c_comment) VALUES (:batch, 'Customer#000000001', 'it''s; quoted');
/* block comment; with a semicolon */
SELECT c_nationkey, count(*) AS n FROM staging.customer WHERE c_mktsegment = 'BUILDING' GROUP BY 1;
\\if :ERROR <> 0
  \\remark 'failed with ' :ERRORCODE
  \\exit 3
\\endif
CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
";
    let mut s = String::with_capacity(target + block.len());
    while s.len() < target {
        s.push_str(block);
    }
    s
}

fn main() {
    let src = script(10 * 1024 * 1024);
    let mb = src.len() as f64 / (1024.0 * 1024.0);
    let mut best = f64::MAX;
    let mut pieces = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let p = rsql::lexer::lex(std::hint::black_box(&src));
        let secs = t.elapsed().as_secs_f64();
        pieces = p.len();
        best = best.min(secs);
    }
    println!(
        "lex: {mb:.1} MB script, {pieces} pieces, best {:.1} ms, {:.0} MB/s",
        best * 1000.0,
        mb / best
    );
}
