//! Translation throughput: translates a 10,000-statement script of Redshift ETL statements
//! (the compatibility cases, repeated). Run with `cargo bench -p redshift --bench translate`.

use std::time::Instant;

fn main() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/redshift/cases.json"
    ))
    .expect("tests/redshift/cases.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let mut stmts: Vec<String> = Vec::new();
    for c in v["cases"].as_array().expect("cases") {
        let sql = c["redshift_sql"].as_str().unwrap_or_default();
        for s in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            stmts.push(format!("{s};"));
        }
    }
    let script: Vec<&String> = stmts.iter().cycle().take(10_000).collect();
    let mut best = f64::MAX;
    let mut rewritten = 0;
    for _ in 0..5 {
        let t = Instant::now();
        rewritten = 0;
        for s in &script {
            if !matches!(redshift::translate(s), redshift::Translation::Unchanged) {
                rewritten += 1;
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "translate: 10,000 statements ({rewritten} rewritten) in {:.1} ms: {:.0} statements/s",
        best * 1000.0,
        10_000.0 / best
    );
}
