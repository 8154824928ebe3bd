//! `rsqlflow rsql` against `psql` on the same native PostgreSQL server, in one run, plus the
//! embedded engine on the same scripts:
//! - 10,000 single-row INSERT statements;
//! - `\copy` of a 1,000,000-row CSV file.
//!
//! Run with `cargo bench --bench rsql_vs_psql` (needs Debian's postgresql package; as root the
//! server runs as the `postgres` user). Prints a Markdown table of best-of-N wall times and ratios.

#[path = "../tests/support/pg.rs"]
mod pg;

mod common;

use common::time;

use std::path::Path;
use std::process::Command;

const RUNS: usize = 3;

fn rsqlflow() -> &'static str {
    env!("CARGO_BIN_EXE_rsqlflow")
}

fn rsql_cmd(dir: &Path, db: &[&str], file: &str) -> Command {
    let mut c = Command::new(rsqlflow());
    c.current_dir(dir)
        .arg("rsql")
        .args(db)
        .args(["-v", "ON_ERROR_STOP=1", "-f", file]);
    c
}

fn main() {
    let cluster = pg::Cluster::start();
    let url = cluster.url("postgres");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();

    let mut inserts = String::from(
        "DROP TABLE IF EXISTS bench_ins;\nCREATE TABLE bench_ins (id int, name text, amount numeric(12,2));\n",
    );
    for i in 0..10_000 {
        inserts.push_str(&format!(
            "INSERT INTO bench_ins VALUES ({i}, 'customer {i}', {}.{:02});\n",
            i * 7 % 1000,
            i % 100
        ));
    }
    std::fs::write(d.join("inserts.sql"), inserts).expect("write");

    let mut csv = String::with_capacity(40 * 1_000_000);
    for i in 0..1_000_000u64 {
        csv.push_str(&format!(
            "{i},Customer#{i:09},{}.{:02},{}\n",
            i * 37 % 10_000,
            i % 100,
            [
                "BUILDING",
                "AUTOMOBILE",
                "MACHINERY",
                "HOUSEHOLD",
                "FURNITURE"
            ][(i % 5) as usize]
        ));
    }
    std::fs::write(d.join("rows.csv"), csv).expect("write");
    std::fs::write(
        d.join("copy.sql"),
        "DROP TABLE IF EXISTS bench_copy;\nCREATE TABLE bench_copy (id bigint, name text, bal numeric(12,2), seg text);\n\\copy bench_copy from 'rows.csv' with (format csv)\n",
    )
    .expect("write");

    let native = ["--database", url.as_str()];
    let embedded = ["--ephemeral"];
    let startup = common::best(RUNS, || {
        let mut c = Command::new(rsqlflow());
        c.current_dir(d)
            .args(["rsql", "--ephemeral", "-c", "select 1"]);
        time(c)
    });

    println!(
        "| workload | psql | rsqlflow (native server) | ratio | rsqlflow (embedded) | embedded / native |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, file) in [
        ("10,000 single-row INSERTs", "inserts.sql"),
        ("\\copy 1,000,000 rows", "copy.sql"),
    ] {
        let p = common::best(RUNS, || time(common::psql(d, cluster.port(), file)));
        let r = common::best(RUNS, || time(rsql_cmd(d, &native, file)));
        let e = common::best(RUNS, || time(rsql_cmd(d, &embedded, file)));
        println!(
            "| {name} | {:.3} s | {:.3} s | {:.2}x | {:.3} s | {:.2}x |",
            p.as_secs_f64(),
            r.as_secs_f64(),
            r.as_secs_f64() / p.as_secs_f64(),
            e.as_secs_f64(),
            e.as_secs_f64() / r.as_secs_f64()
        );
    }
    println!(
        "\nEmbedded engine start-up (rsqlflow rsql --ephemeral -c 'select 1'): {:.3} s; best of {RUNS} runs each.",
        startup.as_secs_f64()
    );
}
