//! `rsqlflow cost`: what an execution would cost in AWS (the `cost` crate), from a local
//! execution's history and what its run measured, or from a history exported from AWS; the
//! idle cost of a deployment; and the one-line estimate `rsqlflow run` prints at its end.

use std::path::Path;

use anyhow::{Context, Result, bail};
use cost::{Assumptions, Estimate, Usage};
use etl::local::executions::ExecutionStore;
use etl::local::meter::Reading;

use crate::cli::{CostArgs, CostFormat};

/// The template's defaults for what a history does not say: the job definition's vCPUs and
/// memory (`JobVcpus`, `JobMemoryMiB`) and the workgroup's base capacity
/// (`RedshiftBaseCapacity`); the crate's defaults where the template is absent.
pub fn assumptions(template: &Path) -> Assumptions {
    let mut a = Assumptions::default();
    let Ok(t) = etl::template::Template::load(template) else {
        return a;
    };
    let default = |name: &str| -> Option<f64> {
        let d = t.parameters.get(name)?.get("Default")?;
        d.as_f64().or_else(|| d.as_str()?.parse().ok())
    };
    if let Some(v) = default("JobVcpus").filter(|v| *v > 0.0) {
        a.job_vcpus = v;
    }
    if let Some(m) = default("JobMemoryMiB").filter(|m| *m > 0.0) {
        a.job_memory_mib = m as u64;
    }
    if let Some(r) = default("RedshiftBaseCapacity").filter(|r| *r > 0.0) {
        a.base_rpu = r;
    }
    a
}

/// A local run's usage: its history's, with what the run measured (each Lambda handler's
/// time, each job's SQL time, exact running times and log sizes).
pub fn local_usage(
    events: &[report::history::Event],
    children: &[report::history::Child],
    jobs: &[report::Job],
    measured: Option<&Reading>,
    logs: &etl::local::logs::LocalLogs,
) -> Usage {
    let mut u = with_children(Usage::from_history(events), children);
    if let Some(m) = measured {
        for l in &mut u.lambdas {
            if let Some(c) = m.lambdas.get(&l.function) {
                l.invocations = c.invocations;
                l.measured_ms = Some(c.ms);
            }
        }
        for j in &mut u.jobs {
            j.sql_ms = m.sql_ms.get(&j.id).copied();
        }
    }
    for j in &mut u.jobs {
        if let Some(k) = jobs.iter().find(|k| k.id == j.id) {
            if let (Some(a), Some(b)) = (k.started, k.stopped)
                && b >= a
            {
                j.started = Some(a);
                j.stopped = Some(b);
                j.running_ms = (b - a) as u64;
            }
            j.state = k.state.clone();
            j.log_bytes = k
                .log
                .as_deref()
                .and_then(|s| std::fs::metadata(logs.path(s)).ok())
                .map(|m| m.len());
        }
    }
    u
}

/// The Region a history's Tasks ran in (`TaskScheduled`'s `region`), if it says.
pub fn history_region(events: &[report::history::Event]) -> Option<String> {
    events
        .iter()
        .find(|e| e.kind == "TaskScheduled")
        .and_then(|e| e.detail("region"))
        .map(String::from)
}

/// The estimate of an execution from its history alone, for the report: `None` when the
/// price table has no prices for the Region its Tasks ran in.
pub fn aws_estimate(
    events: &[report::history::Event],
    children: &[report::history::Child],
) -> Option<report::CostTable> {
    let region = history_region(events).unwrap_or_else(|| "us-east-1".into());
    let prices = cost::for_region(&region).ok()?;
    let e = cost::estimate(
        &with_children(Usage::from_history(events), children),
        prices,
        &assumptions(Path::new("template.yaml")),
    );
    Some(e.to_report_table())
}

/// A usage with its Distributed Map child executions' (their transitions, submit-job calls
/// and jobs).
pub fn with_children(mut u: Usage, children: &[report::history::Child]) -> Usage {
    for c in children {
        u.add_child(&Usage::from_history(&c.events));
    }
    u
}

/// A local execution's Distributed Map children, kept beside its history as
/// `<name>.children.json` (none when there is no such file).
pub fn local_children(store: &ExecutionStore, name: &str) -> Result<Vec<report::history::Child>> {
    let path = store
        .history_path(name)
        .with_file_name(format!("{name}.children.json"));
    if !path.exists() {
        return Ok(Vec::new());
    }
    report::history::parse_children(&crate::report_cmd::read(&path)?)
        .with_context(|| format!("{}", path.display()))
}

/// The one line `rsqlflow run` ends with.
pub fn summary_line(e: &Estimate) -> String {
    let mut by_service: Vec<(&str, f64)> = Vec::new();
    for l in &e.lines {
        match by_service.iter_mut().find(|(s, _)| *s == l.service) {
            Some((_, v)) => *v += l.usd,
            None => by_service.push((l.service, l.usd)),
        }
    }
    by_service.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = by_service
        .iter()
        .take(2)
        .map(|(s, v)| format!("{s} {}", cost::estimate::usd(*v)))
        .collect();
    format!(
        "cost: about {} in AWS {} for this execution ({}; prices of {}, an estimate)",
        cost::estimate::usd(e.total_usd),
        e.region,
        top.join(", "),
        e.prices_read
    )
}

pub fn run(args: CostArgs) -> Result<i32> {
    let prices = cost::for_region(&args.region)?;
    if args.explain {
        print!("{}", explain(prices));
        return Ok(0);
    }
    let a = assumptions(&args.template);
    let e = if let Some(azs) = args.idle {
        if azs != 1 && azs != 3 {
            bail!("--idle takes the Availability Zones of the interface endpoints: 1 or 3");
        }
        cost::idle(
            &cost::Idle {
                interface_endpoints: cost::estimate::DEFAULT_INTERFACE_ENDPOINTS,
                endpoint_azs: azs,
                nat_gateways: 0,
                kms_keys: 1,
                secrets: 1,
            },
            prices,
        )
    } else if let Some(h) = &args.history {
        let text = crate::report_cmd::read(h)?;
        let events = report::history::parse(&text).with_context(|| format!("{}", h.display()))?;
        cost::estimate(&Usage::from_history(&events), prices, &a)
    } else {
        let store = ExecutionStore::new(Path::new(".rsqlflow").join("executions"));
        let record = match &args.execution {
            Some(e) => store.read(e.rsplit(':').next().unwrap_or(e))?,
            None => match store.list().into_iter().next() {
                Some(r) => r,
                None => bail!("no executions under .rsqlflow: run one, or give --history"),
            },
        };
        let text = crate::report_cmd::read(&store.history_path(&record.name))?;
        let events = report::history::parse(&text)?;
        let kept = crate::report_cmd::kept(&store, &record.name);
        let logs = etl::local::logs::LocalLogs::new(Path::new(".rsqlflow").join("logs"));
        // A children file that cannot be read leaves the children out of the estimate.
        let children = local_children(&store, &record.name).unwrap_or_default();
        let u = local_usage(
            &events,
            &children,
            &kept.jobs,
            kept.measured.as_ref(),
            &logs,
        );
        cost::estimate(&u, prices, &a)
    };
    match args.format {
        CostFormat::Text => print!("{}", e.to_text()),
        CostFormat::Json => println!("{}", serde_json::to_string_pretty(&e)?),
    }
    Ok(0)
}

/// Every price with its source.
fn explain(p: &cost::prices::Prices) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "Prices for {} (on-demand, USD, read {}; free tiers not subtracted):\n",
        p.region,
        cost::prices::READ
    );
    for (name, price) in p.all() {
        let _ = writeln!(
            out,
            "  {name:<24} ${:<12} per {}\n      {}",
            price.usd, price.unit, price.source
        );
    }
    out
}
