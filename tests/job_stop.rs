//! A job's timeout and TerminateJob stop its running statement: on a PostgreSQL server the
//! statement is cancelled (it is gone from pg_stat_activity within seconds of the deadline);
//! on the embedded engine, which cannot interrupt a statement, the job is reported stopped at
//! its deadline and the next job still gets a working warehouse. What the script printed
//! before it was stopped is in its log.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use etl::local::runner::{ScriptEnd, ScriptJob, ScriptRunner, WarehouseRunner};
use warehouse::{Storage, Target};

fn job(dir: &Path, name: &str, text: &str, timeout: Option<u64>) -> ScriptJob {
    ScriptJob {
        name: format!("{name}.rsql"),
        text: text.as_bytes().to_vec(),
        variables: Vec::new(),
        log: dir.join(format!("{name}.log")),
        timeout: timeout.map(Duration::from_secs),
        sql_time: None,
    }
}

fn runner(target: Target, dir: &Path) -> Arc<WarehouseRunner> {
    let store: Arc<dyn objects::ObjectStore> = Arc::new(objects::LocalS3::new(dir.join("s3")));
    Arc::new(WarehouseRunner::new(target, store, true))
}

const SLEEPER: &str = "\\echo before the sleep\nSELECT pg_sleep(25);\n\\echo after the sleep\n";

#[tokio::test]
async fn on_the_embedded_engine_a_timed_out_job_ends_at_its_deadline_and_the_next_job_runs() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(
        Target::Embedded(Storage::Dir(dir.path().join("warehouse"))),
        dir.path(),
    );
    let t0 = Instant::now();
    let end = r.run(job(dir.path(), "sleeper", SLEEPER, Some(2))).await;
    let took = t0.elapsed();
    assert_eq!(end, ScriptEnd::TimedOut);
    assert!(
        took < Duration::from_secs(20),
        "the job was reported stopped after {took:?}, not at its 2 s deadline"
    );
    let log = std::fs::read_to_string(dir.path().join("sleeper.log")).unwrap();
    assert!(log.contains("before the sleep"), "{log}");
    assert!(!log.contains("after the sleep"), "{log}");
    assert!(log.contains("timeout (2 s) has passed"), "{log}");
    // The next job gets the warehouse (once the engine has finished the abandoned statement).
    let end = r
        .run(job(dir.path(), "next", "SELECT 41 + 1 AS answer;\n", None))
        .await;
    assert_eq!(end, ScriptEnd::Exited(0));
    let log = std::fs::read_to_string(dir.path().join("next.log")).unwrap();
    assert!(log.contains("42"), "{log}");
    r.close().await;
}

/// Whether a pg_sleep is still running on the server.
async fn sleeping(url: &str) -> bool {
    let mut s = warehouse::Session::connect(&warehouse::ConnectParams::parse(url).unwrap())
        .await
        .unwrap();
    use rsql::Backend;
    let out = s
        .execute(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(25)%' \
             AND pid <> pg_backend_pid() AND state = 'active'",
        )
        .await
        .unwrap();
    s.close().await;
    let rows = out
        .result
        .expect("pg_stat_activity")
        .rows
        .expect("a result set");
    rows.rows[0][0].as_deref() != Some("0")
}

#[tokio::test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql"]
async fn on_a_server_a_timed_out_or_terminated_job_has_its_statement_cancelled() {
    let pg = support::pg::Cluster::start();
    let url = pg.url("postgres");
    let dir = tempfile::tempdir().unwrap();
    let r = runner(Target::Url(url.clone()), dir.path());
    let t0 = Instant::now();
    let end = r.run(job(dir.path(), "sleeper", SLEEPER, Some(2))).await;
    assert_eq!(end, ScriptEnd::TimedOut);
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    let log = std::fs::read_to_string(dir.path().join("sleeper.log")).unwrap();
    assert!(log.contains("the running statement was cancelled"), "{log}");
    let t1 = Instant::now();
    while sleeping(&url).await {
        assert!(
            t1.elapsed() < Duration::from_secs(15),
            "the statement still runs on the server"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // TerminateJob: the job's task is dropped; its statement is cancelled all the same.
    let r2 = r.clone();
    let d = dir.path().to_path_buf();
    let task = tokio::spawn(async move { r2.run(job(&d, "terminated", SLEEPER, None)).await });
    let t2 = Instant::now();
    while !sleeping(&url).await {
        assert!(t2.elapsed() < Duration::from_secs(15), "the job never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    task.abort();
    let t3 = Instant::now();
    while sleeping(&url).await {
        assert!(
            t3.elapsed() < Duration::from_secs(15),
            "the terminated job's statement still runs on the server"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
