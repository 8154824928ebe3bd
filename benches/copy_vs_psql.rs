//! COPY of TPC-H `customer` and `lineitem` at scale factor 1 from gzip files in local S3:
//! rsqlflow on the embedded engine and on a native PostgreSQL server, against `psql \copy` of
//! the same, decompressed, file into that server, in one run.
//!
//! Run with `cargo bench --bench copy_vs_psql` (needs Debian's postgresql package).

#[path = "../tests/support/pg.rs"]
mod pg;

mod common;

use common::time;

use std::io::Read;
use std::process::Command;
use std::time::Instant;

const RUNS: usize = 2;

const CUSTOMER: &str = "CREATE TABLE customer (c_custkey BIGINT NOT NULL, c_name VARCHAR(25), c_address VARCHAR(40), c_nationkey INT, c_phone CHAR(15), c_acctbal DECIMAL(15,2), c_mktsegment CHAR(10), c_comment VARCHAR(117), c_end VARCHAR(1))";
const LINEITEM: &str = "CREATE TABLE lineitem (l_orderkey BIGINT, l_partkey BIGINT, l_suppkey BIGINT, l_linenumber INT, l_quantity DECIMAL(15,2), l_extendedprice DECIMAL(15,2), l_discount DECIMAL(15,2), l_tax DECIMAL(15,2), l_returnflag CHAR(1), l_linestatus CHAR(1), l_shipdate DATE, l_commitdate DATE, l_receiptdate DATE, l_shipinstruct CHAR(25), l_shipmode CHAR(10), l_comment VARCHAR(44), l_end VARCHAR(1))";

fn main() {
    let bin = env!("CARGO_BIN_EXE_rsqlflow");
    let cluster = pg::Cluster::start();
    let url = cluster.url("postgres");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let gen_started = Instant::now();
    let mut g = Command::new(bin);
    g.current_dir(d).args([
        "sample-data",
        "--scale",
        "1",
        "--tables",
        "customer,lineitem",
        "--s3-root",
        "s3",
    ]);
    time(g);
    println!(
        "sample-data --scale 1 (customer, lineitem): {:.2} s",
        gen_started.elapsed().as_secs_f64()
    );

    println!(
        "| table (SF 1) | rows | psql \\copy (native) | rsqlflow COPY (native) | ratio | rsqlflow COPY (embedded) | embedded / psql |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (table, ddl, rows) in [
        ("customer", CUSTOMER, 150_000),
        ("lineitem", LINEITEM, 6_001_215),
    ] {
        let gz = d.join(format!("s3/rsqlflow-data/tpch/{table}/{table}.tbl.gz"));
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&gz).expect("gz"))
            .read_to_end(&mut raw)
            .expect("gunzip");
        std::fs::write(d.join(format!("{table}.tbl")), raw).expect("write");
        std::fs::write(
            d.join(format!("psql_{table}.sql")),
            format!("DROP TABLE IF EXISTS {table};\n{ddl};\n\\copy {table} from '{table}.tbl' with (delimiter '|')\n"),
        )
        .expect("write");
        std::fs::write(
            d.join(format!("rs_{table}.sql")),
            format!("DROP TABLE IF EXISTS {table};\n{ddl};\nCOPY {table} FROM 's3://rsqlflow-data/tpch/{table}/' IAM_ROLE default DELIMITER '|' GZIP;\n"),
        )
        .expect("write");
        let psql = common::best(RUNS, || {
            time(common::psql(
                d,
                cluster.port(),
                &format!("psql_{table}.sql"),
            ))
        });
        let rs = |db: &[&str]| {
            let mut c = Command::new(bin);
            c.current_dir(d).arg("rsql").args(db).args([
                "--s3-root",
                "s3",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                &format!("rs_{table}.sql"),
            ]);
            time(c)
        };
        let native = common::best(RUNS, || rs(&["--database", &url]));
        let embedded = common::best(RUNS, || rs(&["--ephemeral"]));
        println!(
            "| {table} | {rows} | {:.2} s | {:.2} s | {:.2}x | {:.2} s | {:.2}x |",
            psql.as_secs_f64(),
            native.as_secs_f64(),
            native.as_secs_f64() / psql.as_secs_f64(),
            embedded.as_secs_f64(),
            embedded.as_secs_f64() / psql.as_secs_f64()
        );
    }
}
