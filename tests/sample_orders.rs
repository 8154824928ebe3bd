//! `rsqlflow sample-data --orders-days N` through the binary: one file per order date, holding
//! exactly the rows of the full `orders` table with that date, under the prefix an incremental
//! load watches; the first N dates in order; whole objects only.

mod support;

use std::collections::BTreeMap;
use std::io::Read as _;

fn gunzip(path: &std::path::Path) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[test]
fn daily_orders_files_hold_exactly_that_days_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = support::run_text(
        dir.path(),
        &[
            "sample-data",
            "--orders-days",
            "4",
            "--tables",
            "orders",
            "--s3-root",
            "s3",
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    // The full table, by date (o_orderdate is the fifth field).
    let full = gunzip(
        &dir.path()
            .join("s3/rsqlflow-data/tpch/orders/orders.tbl.gz"),
    );
    let mut by_date: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in full.lines() {
        by_date
            .entry(line.split('|').nth(4).unwrap())
            .or_default()
            .push(line);
    }
    let first: Vec<(&str, Vec<&str>)> = by_date.into_iter().take(4).collect();
    assert_eq!(first[0].0, "1992-01-01");
    let daily = dir.path().join("s3/rsqlflow-data/incoming/orders");
    let mut names: Vec<String> = std::fs::read_dir(&daily)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let expected: Vec<String> = first
        .iter()
        .map(|(d, _)| format!("orders_{d}.tbl.gz"))
        .collect();
    assert_eq!(names, expected, "no other (temporary) object is left");
    for (date, rows) in &first {
        let text = gunzip(&daily.join(format!("orders_{date}.tbl.gz")));
        let mut got: Vec<&str> = text.lines().collect();
        let mut want = rows.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{date}");
        assert!(
            out.contains(&format!("orders {date} {:>6} rows", rows.len())),
            "{out}"
        );
    }
    // Limits are named.
    let (code, _, err) =
        support::run_text(dir.path(), &["sample-data", "--orders-days", "10001"], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("--orders-days must be at most 10000"), "{err}");
}
