//! Interpreter throughput: runs large and adversarial RSQL scripts (10 MB of ordinary
//! statements, one long line of statements, deeply nested `\if` blocks and `/* */` comments)
//! against a backend that answers instantly, so only lexing, splitting and `\if` handling count.
//! Run with `cargo bench -p rsql --bench interp`; prints MB/s per script.

use std::time::Instant;

use async_trait::async_trait;
use rsql::{Backend, Completion, ConnectionLost, Interpreter, Options, Outcome, ResultSet, Source};
use tokio::io::{AsyncRead, AsyncWrite};

/// Answers every statement with an empty result at once.
struct Instant0;

#[async_trait]
impl Backend for Instant0 {
    async fn execute(&mut self, _sql: &str) -> Result<Outcome, ConnectionLost> {
        Ok(done())
    }
    async fn copy_in(
        &mut self,
        _sql: &str,
        _data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        Ok(done())
    }
    async fn copy_out(
        &mut self,
        _sql: &str,
        _sink: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        Ok(done())
    }
}

fn done() -> Outcome {
    Outcome {
        result: Ok(Completion {
            tag: "SELECT 0".into(),
            rows: Some(ResultSet::default()),
        }),
        notices: Vec::new(),
    }
}

fn ordinary(target: usize) -> String {
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
    block.repeat(target / block.len() + 1)
}

fn one_line(target: usize) -> String {
    "select 1;".repeat(target / 9 + 1)
}

fn nested_ifs(depth: usize) -> String {
    let mut s = "\\if true\n".repeat(depth);
    s.push_str("select 1;\n");
    s.push_str(&"\\endif\n".repeat(depth));
    s
}

fn nested_comments(depth: usize) -> String {
    format!("select 1 {}{};\n", "/*".repeat(depth), "*/".repeat(depth))
}

fn run(name: &str, script: &str, rt: &tokio::runtime::Runtime) {
    let mb = script.len() as f64 / (1024.0 * 1024.0);
    let t = Instant::now();
    let code = rt.block_on(async {
        let mut backend = Instant0;
        let mut interp = Interpreter::new(
            &mut backend,
            Options::default(),
            Box::new(tokio::io::sink()),
            Box::new(tokio::io::sink()),
        );
        interp
            .run(Source::command(std::hint::black_box(script)))
            .await
    });
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{name}: {mb:.2} MB, exit {code}, {:.1} ms, {:.1} MB/s",
        secs * 1000.0,
        mb / secs
    );
}

fn main() {
    let rt = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return;
        }
    };
    let scale: usize = std::env::var("INTERP_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    run("ordinary statements", &ordinary(10 * 1024 * 1024), &rt);
    let n = 240 * 1024 * scale;
    run(
        &format!("one line of statements, {n} bytes"),
        &one_line(n),
        &rt,
    );
    let n = 20_000 * scale;
    run(&format!("\\if blocks nested {n} deep"), &nested_ifs(n), &rt);
    let n = 60_000 * scale;
    run(
        &format!("/* */ comments nested {n} deep"),
        &nested_comments(n),
        &rt,
    );
}
