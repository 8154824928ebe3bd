//! `rsqlflow run` and `rsqlflow trigger`: seed local S3, wire the local services, run the
//! workflow through `etl::local::pipeline`, and report.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use etl::handlers::start_workflow;
use etl::local::executions::{self, Claim, ExecutionRecord, ExecutionStatus, ExecutionStore};
use etl::local::pipeline::{self, DATA_BUCKET, Progress, RunConfig, RunReport, SCRIPTS_BUCKET};
use etl::local::routes::LocalRoutes;
use etl::local::runner::WarehouseRunner;
use etl::local::sfn::LocalStepFunctions;
use etl::routes::Route;
use serde_json::Value;
use warehouse::Target;

use crate::cli::{Places, RedriveArgs, RunArgs, SampleCompression, TriggerCommand, TriggerRunArgs};
use crate::sample_data;
use crate::signals::Signals;

/// Tables the sample workflow loads.
const SAMPLE_TABLES: [&str; 3] = ["customer", "region", "nation"];

struct Stderr {
    color: bool,
}

impl Progress for Stderr {
    fn line(&self, text: &str) {
        if self.color && (text.contains("FAILED") || text.contains("failed")) {
            eprintln!("\x1b[31m{text}\x1b[0m");
        } else {
            eprintln!("{text}");
        }
    }
}

pub(crate) fn progress() -> Arc<dyn Progress> {
    let color = std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
    Arc::new(Stderr { color })
}

/// Copies every script under `etl_dir` into the scripts bucket when absent or changed.
fn seed_scripts(etl_dir: &Path, s3_root: &Path) -> Result<usize> {
    if !etl_dir.is_dir() {
        bail!(
            "{}: no such directory (the RSQL scripts to seed the scripts bucket with; see --etl-dir)",
            etl_dir.display()
        );
    }
    let mut n = 0;
    let mut stack = vec![etl_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rsql") {
                continue;
            }
            let rel = path.strip_prefix(etl_dir).unwrap_or(&path);
            let key = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let dest = objects::LocalS3::new(s3_root)
                .object_path(SCRIPTS_BUCKET, &key)
                .with_context(|| format!("seeding {}", path.display()))?;
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            if std::fs::read(&dest).ok().as_deref() == Some(&bytes[..]) {
                continue;
            }
            // A unique temporary name: concurrent runs seeding the same script do not race.
            objects::write_whole(&dest, &bytes)
                .with_context(|| format!("writing {}", dest.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Generates the sample tables that are absent from local S3. Objects already there are never
/// replaced (whatever made them): "seeded when absent" means it. Returns the tables written,
/// and a note when the objects present were generated at another scale.
async fn seed_data(s3_root: &Path, scale: f64) -> Result<(Vec<&'static str>, Option<String>)> {
    let s3 = objects::LocalS3::new(s3_root);
    // Temporary objects of a seeding that was killed.
    s3.sweep_abandoned(DATA_BUCKET, "tpch/");
    let marker = s3.object_path(DATA_BUCKET, "tpch/.scale")?;
    let want = scale.to_string();
    let mut tasks = Vec::new();
    for t in SAMPLE_TABLES {
        let path =
            sample_data::table_path(s3_root, DATA_BUCKET, "tpch", t, SampleCompression::Gzip)?;
        if path.exists() {
            continue;
        }
        tasks.push((
            t,
            tokio::task::spawn_blocking(move || {
                sample_data::generate_table(t, scale, &path, SampleCompression::Gzip)
            }),
        ));
    }
    let mut written = Vec::new();
    for (t, task) in tasks {
        task.await.context("generating sample data")??;
        written.push(t);
    }
    let note = match std::fs::read_to_string(&marker).ok() {
        Some(had) if had != want && written.len() < SAMPLE_TABLES.len() => Some(format!(
            "s3://{DATA_BUCKET}/tpch/ holds TPC-H at scale {had}; --scale {scale} applies to \
             absent tables only (delete them to regenerate)"
        )),
        _ => None,
    };
    if written.len() == SAMPLE_TABLES.len() {
        objects::write_whole(&marker, want.as_bytes())
            .with_context(|| format!("writing {}", marker.display()))?;
    }
    Ok((written, note))
}

/// Checks the template's DefinitionSubstitutions for the state machine being run: each
/// placeholder it fills in AWS must be one the local run fills too. A missing template is fine
/// (a state machine run on its own); an unreadable one is an error.
fn check_template(
    template: &Path,
    definition: &Path,
    known: &BTreeMap<String, String>,
) -> Result<()> {
    if !template.exists() {
        return Ok(());
    }
    let t = etl::template::Template::load(template)?;
    let Some(sm) = t.state_machine_for(definition) else {
        return Ok(());
    };
    for name in sm.substitutions.keys() {
        if !known.contains_key(name) {
            bail!(
                "{}: {}/DefinitionSubstitutions has {name}, which the local run cannot fill \
                 (it knows {})",
                template.display(),
                sm.logical_id,
                known.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    Ok(())
}

fn parse_input(text: &str) -> Result<Value> {
    let (raw, origin) = match text.strip_prefix('@') {
        Some(p) => (
            std::fs::read_to_string(p).with_context(|| format!("reading {p}"))?,
            p.to_string(),
        ),
        None => (text.to_string(), "--input".to_string()),
    };
    serde_json::from_str(&raw).with_context(|| format!("{origin} is not valid JSON"))
}

fn parse_injections(list: &[String]) -> Result<Vec<(String, u32)>> {
    list.iter()
        .map(|s| match s.split_once(':') {
            Some((j, n)) => Ok((
                j.to_string(),
                n.parse()
                    .with_context(|| format!("--inject-infra-failure {s}: N must be a number"))?,
            )),
            None => Ok((s.clone(), 1)),
        })
        .collect()
}

fn runner(database: &Option<String>, s3_root: &Path) -> Result<Arc<WarehouseRunner>> {
    let store: Arc<dyn objects::ObjectStore> = Arc::new(objects::LocalS3::new(s3_root));
    let target = match database {
        Some(url) => {
            // A malformed URL is refused before anything runs (its error never holds the
            // password: warehouse::url).
            warehouse::ConnectParams::parse(url).context("--database")?;
            Target::Url(url.clone())
        }
        None => Target::default_embedded(&std::env::current_dir()?),
    };
    let runner = Arc::new(WarehouseRunner::new(target, store, true));
    // Waiting for the warehouse is said, as `rsqlflow rsql` says it.
    runner.set_notice(Arc::new(|text: &str| eprintln!("rsqlflow: {text}")));
    Ok(runner)
}

struct Prepared {
    runner: Arc<WarehouseRunner>,
    scripts: Arc<dyn objects::ObjectStore>,
}

async fn prepare(places: &Places, p: &dyn Progress) -> Result<Prepared> {
    let (etl_dir, s3_root, scale, database) = (
        &places.etl_dir,
        &places.s3_root,
        places.scale,
        &places.database,
    );
    if !(scale > 0.0 && scale <= 100.0) {
        bail!("--scale must be greater than 0 and at most 100, got {scale}");
    }
    let copied = seed_scripts(etl_dir, s3_root)?;
    if copied > 0 {
        p.line(&format!(
            "seeded {copied} script(s) into s3://{SCRIPTS_BUCKET}/"
        ));
    }
    let (written, note) = seed_data(s3_root, scale).await?;
    if !written.is_empty() {
        p.line(&format!(
            "seeded TPC-H {} at scale {scale} into s3://{DATA_BUCKET}/tpch/",
            written.join(", ")
        ));
    }
    if let Some(n) = note {
        p.line(&n);
    }
    Ok(Prepared {
        runner: runner(database, s3_root)?,
        scripts: Arc::new(objects::LocalS3::new(s3_root)),
    })
}

fn state_dir() -> PathBuf {
    PathBuf::from(".rsqlflow")
}

/// Prints a finished execution's report in one write (backfills print several at once).
fn print_report(r: &RunReport) {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "execution {} {}", r.execution_arn, r.status.as_str());
    let mut jobs = r.jobs.clone();
    jobs.sort_by_key(|j| j.created_at);
    let sql: f64 = jobs
        .iter()
        .filter_map(|j| Some((j.stopped_at? - j.started_at?) as f64 / 1000.0))
        .sum();
    let _ = writeln!(
        out,
        "{:<58} {:<10} {:>5} {:>9}",
        "job", "status", "exit", "seconds"
    );
    for j in &jobs {
        let secs = match (j.started_at, j.stopped_at) {
            (Some(a), Some(b)) => format!("{:.2}", (b - a) as f64 / 1000.0),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:<58} {:<10} {:>5} {:>9}",
            j.name,
            j.status.as_str(),
            j.exit_code.map(|c| c.to_string()).unwrap_or("-".into()),
            secs
        );
    }
    let _ = writeln!(
        out,
        "{} job(s) in {:.2} s; {:.2} s running scripts, {:.2} s elsewhere",
        jobs.len(),
        r.wall.as_secs_f64(),
        sql,
        (r.wall.as_secs_f64() - sql).max(0.0)
    );
    if let Some(e) = &r.error {
        let _ = writeln!(out, "error: {e}");
    }
    for n in &r.notifications {
        let _ = writeln!(out, "\nnotification: {}\n{}", n.subject, n.body.trim_end());
    }
    let _ = writeln!(out, "\nhistory: {}", r.history_path.display());
    print!("{out}");
    for problem in &r.problems {
        eprintln!("rsqlflow: {problem}");
    }
}

/// Ends the executions whose process died (found by their free locks) as ABORTED, with their
/// notification, and says so.
async fn end_abandoned(p: &dyn Progress) {
    for e in etl::local::abandoned::end_abandoned(&state_dir()).await {
        p.line(&format!(
            "execution {} was left RUNNING by a process that ended (pid {}): now ABORTED",
            e.record.name, e.record.pid
        ));
        for n in &e.notifications {
            p.line(&format!("notification: {}", n.subject));
        }
        for problem in &e.problems {
            p.line(&format!("rsqlflow: {problem}"));
        }
    }
}

/// The execution records.
pub(crate) fn store() -> ExecutionStore {
    ExecutionStore::new(state_dir().join("executions"))
}

/// One execution to run.
struct Execution {
    definition: PathBuf,
    input: Value,
    claim: Claim,
    real_time: bool,
    injections: Vec<(String, u32)>,
    /// Jobs whose first submission is retried while the job is queued or running.
    duplicate_submits: Vec<String>,
    send_success: bool,
    redrive: bool,
}

async fn run_pipeline(
    e: Execution,
    prepared: Prepared,
    signals: &Signals,
    p: Arc<dyn Progress>,
) -> Result<i32> {
    let stop_signals = signals.clone();
    let cfg = RunConfig {
        definition: e.definition,
        substitutions: pipeline::local_substitutions(),
        input: e.input,
        claim: e.claim,
        state_dir: state_dir(),
        runner: prepared.runner.clone(),
        s3: prepared.scripts,
        real_time: e.real_time,
        inject_infra_failures: e.injections,
        inject_duplicate_submits: e.duplicate_submits,
        send_success_notifications: e.send_success,
        redrive: e.redrive,
        stop_on: Some(Box::pin(async move {
            let s = stop_signals.received().await;
            (
                "rsqlflow.Interrupted".to_string(),
                format!("{} received: the run was stopped", s.name()),
            )
        })),
    };
    let report = pipeline::run(cfg, p).await;
    prepared.runner.close().await;
    let report = report?;
    print_report(&report);
    match crate::report_cmd::after_run(&state_dir(), &report) {
        Ok((path, estimate)) => {
            println!("report: {}", path.display());
            if let Some(e) = estimate {
                println!("{}", crate::cost_cmd::summary_line(&e));
            }
        }
        Err(e) => eprintln!("rsqlflow: the report could not be written: {e:#}"),
    }
    Ok(match (report.status, signals.get()) {
        (asl::Status::Aborted, Some(s)) => s.exit_code(),
        (asl::Status::Succeeded, _) if report.problems.is_empty() => 0,
        _ => 1,
    })
}

/// Seeds local S3 and opens the warehouse unless a signal comes first: then the exit code
/// the signal asks for.
async fn prepare_unless_stopped(
    places: &Places,
    signals: &Signals,
    p: &dyn Progress,
) -> Result<std::result::Result<Prepared, i32>> {
    tokio::select! {
        r = prepare(places, p) => r.map(Ok),
        s = signals.received() => {
            eprintln!("rsqlflow: stopped before the execution started");
            Ok(Err(s.exit_code()))
        }
    }
}

pub async fn run(args: RunArgs) -> Result<i32> {
    let signals = Signals::install();
    let p = progress();
    let name = args
        .name
        .unwrap_or_else(|| format!("run-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")));
    executions::validate_name(&name).context("--name")?;
    end_abandoned(p.as_ref()).await;
    check_template(
        &args.template,
        &args.state_machine,
        &pipeline::local_substitutions(),
    )?;
    let input = parse_input(&args.input)?;
    let injections = parse_injections(&args.inject_infra_failure)?;
    let sm_name = pipeline::state_machine_name(&args.state_machine);
    let record = ExecutionRecord::new(
        &format!(
            "arn:aws:states:{}:{}:execution:{sm_name}:{name}",
            pipeline::REGION,
            pipeline::ACCOUNT
        ),
        &name,
        &format!(
            "arn:aws:states:{}:{}:stateMachine:{sm_name}",
            pipeline::REGION,
            pipeline::ACCOUNT
        ),
        input.clone(),
    );
    // The name is taken before anything runs; a name in use is refused (StartExecution's rule).
    let claim = store().claim(record)?;
    // Until the execution starts, its name is given back on failure or a signal.
    let prepared = match prepare_unless_stopped(&args.places, &signals, p.as_ref()).await {
        Ok(Ok(x)) => x,
        Ok(Err(code)) => {
            let _ = claim.discard();
            return Ok(code);
        }
        Err(e) => {
            let _ = claim.discard();
            return Err(e);
        }
    };
    p.line(&format!(
        "running {} as execution {name} on {}",
        args.state_machine.display(),
        args.places
            .database
            .as_deref()
            .map(|_| "the --database server")
            .unwrap_or("the embedded warehouse")
    ));
    let e = Execution {
        definition: args.state_machine,
        input,
        claim,
        real_time: args.real_time,
        injections,
        duplicate_submits: args.inject_duplicate_submit,
        send_success: !args.no_success_notification,
        redrive: false,
    };
    run_pipeline(e, prepared, &signals, p).await
}

/// The workflow events start when no template routes them.
const DEFAULT_DEFINITION: &str = "state-machines/rsql-etl.asl.json";

/// The routing table triggers use: --state-machine's single workflow, else the template's
/// start-workflow routes, else the sample workflow.
pub(crate) fn local_routes(run: &TriggerRunArgs) -> Result<LocalRoutes> {
    if let Some(sm) = &run.state_machine {
        return Ok(LocalRoutes::single(sm, &run.prefix, &run.suffix));
    }
    if run.template.exists() {
        let t = etl::template::Template::load(&run.template)?;
        if let Some(r) = LocalRoutes::from_template(&t)? {
            return Ok(r);
        }
    }
    Ok(LocalRoutes::single(Path::new(DEFAULT_DEFINITION), "", ""))
}

/// The schedule route `name`, or the only one.
fn schedule_route<'a>(routes: &'a LocalRoutes, name: Option<&str>) -> Result<&'a Route> {
    let list = || {
        routes
            .schedules()
            .map(Route::describe)
            .collect::<Vec<_>>()
            .join("; ")
    };
    match name {
        Some(n) => routes
            .schedules()
            .find(|r| r.name == n)
            .with_context(|| format!("no schedule route named {n} (schedule routes: {})", list())),
        None => {
            let mut all = routes.schedules();
            match (all.next(), all.next()) {
                (Some(r), None) => Ok(r),
                (None, _) => bail!("the routing table has no schedule route"),
                (Some(_), Some(_)) => bail!(
                    "the routing table has several schedules; name the one that fires \
                     (rsqlflow trigger schedule ROUTE): {}",
                    list()
                ),
            }
        }
    }
}

pub async fn trigger(cmd: TriggerCommand) -> Result<i32> {
    let p = progress();
    match cmd {
        TriggerCommand::S3(a) => {
            let routes = local_routes(&a.run)?;
            let event = local_object_event(&a.run.places.s3_root, &a.bucket, &a.key)?;
            trigger_run(event, &routes, a.run, &Signals::install(), p).await
        }
        TriggerCommand::Schedule(a) => {
            let routes = local_routes(&a.run)?;
            let route = schedule_route(&routes, a.route.as_deref())?.clone();
            if let (Some(from), Some(to)) = (&a.from, &a.to) {
                let b = Backfill {
                    from,
                    to,
                    every: &a.every,
                    parallel: a.parallel,
                    route: &route,
                    routes: &routes,
                };
                return backfill(b, a.run, p).await;
            }
            let time = a
                .time
                .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%dT%H:%M:00Z").to_string());
            let event = LocalRoutes::scheduled_event(&route, &time);
            trigger_run(event, &routes, a.run, &Signals::install(), p).await
        }
    }
}

/// The "Object Created" event EventBridge would send for an object of local S3: its size, an
/// etag from its content and a sequencer from its modification time.
pub(crate) fn local_object_event(s3_root: &Path, bucket: &str, key: &str) -> Result<Value> {
    let path = objects::LocalS3::new(s3_root).object_path(bucket, key)?;
    let meta = std::fs::metadata(&path).with_context(|| {
        format!(
            "s3://{bucket}/{key} is not in local S3 ({})",
            path.display()
        )
    })?;
    if !meta.is_file() {
        bail!(
            "s3://{bucket}/{key} is not an object in local S3 ({} is not a regular file)",
            path.display()
        );
    }
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let etag = etl::contract::short_hash(&String::from_utf8_lossy(&bytes));
    let sequencer = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| format!("{:016X}", d.as_nanos() as u64))
        .unwrap_or_default();
    Ok(etl::events::s3_object_created(
        bucket,
        key,
        meta.len(),
        &etag,
        &sequencer,
    ))
}

/// The most scheduled times one backfill starts.
const MAX_BACKFILL: usize = 10_000;

/// A backfill: the schedule of `route` fired at each time from `from` to `to`.
struct Backfill<'a> {
    from: &'a str,
    to: &'a str,
    every: &'a str,
    parallel: u16,
    route: &'a Route,
    routes: &'a LocalRoutes,
}

/// Progress lines of one of several executions running at once, each line prefixed.
struct Prefixed {
    inner: Arc<dyn Progress>,
    prefix: String,
}

impl Progress for Prefixed {
    fn line(&self, text: &str) {
        self.inner.line(&format!("{}{text}", self.prefix));
    }
}

/// `rsqlflow trigger schedule --from --to --every [--parallel N]`: the schedule fired at each
/// time, in order; with N > 1, up to N executions run at once, started in order.
async fn backfill(b: Backfill<'_>, run: TriggerRunArgs, p: Arc<dyn Progress>) -> Result<i32> {
    let times = etl::schedule::backfill_times(b.from, b.to, b.every, MAX_BACKFILL)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if b.parallel > 1 && run.places.database.is_none() {
        bail!(
            "--parallel {} needs --database: the embedded warehouse runs one job at a time",
            b.parallel
        );
    }
    let signals = Signals::install();
    let total = times.len();
    let mut running = tokio::task::JoinSet::new();
    let mut next = 0;
    let mut worst = 0;
    let mut stopped_at: Option<String> = None;
    loop {
        while stopped_at.is_none()
            && signals.get().is_none()
            && next < total
            && running.len() < b.parallel as usize
        {
            let time = times[next].clone();
            next += 1;
            p.line(&format!("backfill {next}/{total}: scheduled time {time}"));
            let event = LocalRoutes::scheduled_event(b.route, &time);
            let progress: Arc<dyn Progress> = if b.parallel > 1 {
                Arc::new(Prefixed {
                    inner: p.clone(),
                    prefix: format!("[{time}] "),
                })
            } else {
                p.clone()
            };
            let (routes, run, signals) = (b.routes.clone(), run.clone(), signals.clone());
            running.spawn(async move {
                let code = trigger_run(event, &routes, run, &signals, progress).await;
                (time, code)
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (time, code) = done.context("a backfill execution's task failed")?;
        let code = match code {
            Ok(c) => c,
            Err(e) => {
                eprintln!("rsqlflow: {time}: {e:#}");
                1
            }
        };
        if code != 0 {
            worst = worst.max(code);
            stopped_at.get_or_insert(time);
        }
    }
    if let Some(s) = signals.get() {
        worst = s.exit_code();
    }
    if worst != 0 {
        let left = total - next;
        let at = stopped_at.as_deref().unwrap_or("a signal");
        if left > 0 {
            eprintln!(
                "rsqlflow: backfill stopped at {at}; {left} later scheduled time(s) not started"
            );
        }
        return Ok(worst);
    }
    println!(
        "backfill: {total} scheduled time(s) from {} to {} done",
        b.from, b.to
    );
    Ok(0)
}

/// Sends `event` to start-workflow with the local routes and runs each execution it starts,
/// one after another. An execution the event started before is reported with its status.
pub(crate) async fn trigger_run(
    event: Value,
    routes: &LocalRoutes,
    run: TriggerRunArgs,
    signals: &Signals,
    p: Arc<dyn Progress>,
) -> Result<i32> {
    end_abandoned(p.as_ref()).await;
    let settings = etl::settings::Settings {
        region: pipeline::REGION.into(),
        account: pipeline::ACCOUNT.into(),
        routes: Ok(routes.routes.clone()),
        ..etl::settings::Settings::from_env()
    };
    // Everything that can fail before an execution runs is checked before it is started.
    let trigger = etl::events::trigger(&event).map_err(|e| anyhow::anyhow!("{e}"))?;
    let matched = etl::routes::matching(&routes.routes, &trigger);
    for r in &matched {
        let def = routes.definition(&r.state_machine_arn).with_context(|| {
            format!(
                "route {}: no definition for {}",
                r.name, r.state_machine_arn
            )
        })?;
        pipeline::load_machine(def, &pipeline::local_substitutions()).await?;
    }
    let mut prepared = if matched.is_empty() {
        None
    } else {
        match prepare_unless_stopped(&run.places, signals, p.as_ref()).await? {
            Ok(x) => Some(x),
            Err(code) => return Ok(code),
        }
    };
    let sfn = LocalStepFunctions::new(
        state_dir().join("executions"),
        pipeline::REGION,
        pipeline::ACCOUNT,
    );
    let answer = start_workflow::handle(event, &settings, &sfn)
        .await
        .map_err(|e| anyhow::anyhow!("start-workflow: {e}"))?;
    if let Some(reason) = answer["ignored"].as_str() {
        println!("ignored: {reason}");
        return Ok(0);
    }
    let mut started = sfn.take_started();
    let mut worst = 0;
    for e in answer["executions"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or_default();
        let arn = e["executionArn"].as_str().unwrap_or_default();
        let route = e["route"].as_str().unwrap_or_default();
        if e["status"] == "existing" {
            worst = worst.max(report_existing(&sfn, name, arn));
            continue;
        }
        let Some(i) = started.iter().position(|c| c.record().name == name) else {
            bail!("start-workflow started {name}, but its record is not held");
        };
        let claim = started.swap_remove(i);
        let definition = routes
            .definition(e["stateMachineArn"].as_str().unwrap_or_default())
            .with_context(|| format!("route {route}: no definition"))?
            .to_path_buf();
        let input = claim.record().input.clone();
        p.line(&format!(
            "trigger started execution {} (route {route}: {})",
            claim.record().name,
            definition.display()
        ));
        let ready = match prepared.take() {
            Some(x) => x,
            None => match prepare_unless_stopped(&run.places, signals, p.as_ref()).await? {
                Ok(x) => x,
                Err(code) => return Ok(code),
            },
        };
        let x = Execution {
            definition,
            input,
            claim,
            real_time: false,
            injections: Vec::new(),
            duplicate_submits: Vec::new(),
            send_success: true,
            redrive: false,
        };
        let code = run_pipeline(x, ready, signals, p.clone()).await?;
        worst = worst.max(code);
    }
    if let Some(unused) = prepared {
        unused.runner.close().await;
    }
    Ok(worst)
}

/// Reports an execution an earlier identical trigger started; its exit code (0 when it
/// succeeded or is running).
fn report_existing(sfn: &LocalStepFunctions, name: &str, arn: &str) -> i32 {
    match sfn.store().read(name) {
        Ok(r) => {
            println!(
                "execution already started for this trigger: {arn} ({})",
                r.status.as_str()
            );
            if r.status.is_redrivable() {
                eprintln!(
                    "rsqlflow: it ended {}{}; `rsqlflow redrive {}` restarts it",
                    r.status.as_str(),
                    r.error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default(),
                    r.name
                );
            }
            match r.status {
                ExecutionStatus::Succeeded | ExecutionStatus::Running => 0,
                _ => 1,
            }
        }
        Err(e) => {
            println!("execution already started for this trigger: {arn}");
            eprintln!("rsqlflow: its record cannot be read: {e}");
            1
        }
    }
}

/// Step Functions redrives an execution that ended in the last 14 days, at most 1,000 times
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html>).
const REDRIVE_WINDOW_DAYS: i64 = 14;
const MAX_REDRIVES: u32 = 1000;

/// `rsqlflow redrive`: RedriveExecution on a local execution.
pub async fn redrive(args: RedriveArgs) -> Result<i32> {
    let signals = Signals::install();
    let p = progress();
    // An execution whose process died is ABORTED first, and so can be redriven.
    end_abandoned(p.as_ref()).await;
    let store = store();
    let name = match &args.execution {
        Some(e) => e.rsplit(':').next().unwrap_or(e).to_string(),
        None => store
            .list()
            .into_iter()
            .filter(|r| r.status.is_redrivable())
            .max_by_key(|r| r.stop_date.unwrap_or(r.start_date))
            .map(|r| r.name)
            .context(
                "no FAILED, ABORTED or TIMED_OUT execution in .rsqlflow/executions/ to redrive",
            )?,
    };
    let claim = store.reclaim(&name)?;
    let r = claim.record().clone();
    if !r.status.is_redrivable() {
        bail!(
            "execution {name} is {}: only FAILED, ABORTED or TIMED_OUT executions can be \
             redriven (ExecutionNotRedrivable)",
            r.status.as_str()
        );
    }
    let ended = r.stop_date.unwrap_or(r.start_date);
    if chrono::Utc::now().timestamp_millis() - ended > REDRIVE_WINDOW_DAYS * 86_400_000 {
        bail!(
            "execution {name} ended more than {REDRIVE_WINDOW_DAYS} days ago: Step Functions \
             no longer redrives it (ExecutionNotRedrivable)"
        );
    }
    if r.redrive_count >= MAX_REDRIVES {
        bail!(
            "execution {name} was redriven {MAX_REDRIVES} times, Step Functions' limit \
             (ExecutionLimitExceeded)"
        );
    }
    let definition = r
        .definition
        .clone()
        .unwrap_or_else(|| PathBuf::from("state-machines/rsql-etl.asl.json"));
    let prepared = match prepare_unless_stopped(&args.places, &signals, p.as_ref()).await? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    p.line(&format!(
        "redriving execution {name} ({}{}; redrive {}) on {}",
        r.status.as_str(),
        r.error
            .as_deref()
            .map(|e| format!(" with {e}"))
            .unwrap_or_default(),
        r.redrive_count + 1,
        args.places
            .database
            .as_deref()
            .map(|_| "the --database server")
            .unwrap_or("the embedded warehouse")
    ));
    let e = Execution {
        definition,
        input: r.input.clone(),
        claim,
        real_time: args.real_time,
        injections: Vec::new(),
        duplicate_submits: Vec::new(),
        send_success: !args.no_success_notification,
        redrive: true,
    };
    run_pipeline(e, prepared, &signals, p).await
}
