//! The arithmetic: usage times prices, line by line, each line saying whether its quantity was
//! measured, counted from the history or modelled. Minimum charges as AWS states them:
//! Fargate bills per second from the start of the image download with a one-minute minimum
//! (<https://aws.amazon.com/fargate/pricing/>); Redshift Serverless bills RPU-hours per second
//! with a 60-second minimum and nothing while no query runs
//! (<https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-billing.html>); Lambda
//! rounds each duration up to the millisecond (<https://aws.amazon.com/lambda/pricing/>).

use std::fmt::Write as _;

use serde::Serialize;

use crate::prices::{HOURS_PER_MONTH, Price, Prices, READ};
use crate::usage::Usage;

/// What the history cannot say, with the framework's defaults (template.yaml).
#[derive(Debug, Clone, PartialEq)]
pub struct Assumptions {
    /// The job definition's vCPUs and memory (`JobVcpus`, `JobMemoryMiB`).
    pub job_vcpus: f64,
    pub job_memory_mib: u64,
    /// The job image's CPU architecture (`X86_64` in the template).
    pub job_arm: bool,
    /// Seconds from the start of the image download to the container running: Fargate bills
    /// them. Modelled: the image is pulled through the VPC's endpoints at the start of every
    /// attempt.
    pub image_pull_seconds: f64,
    /// The workgroup's base capacity (`RedshiftBaseCapacity`).
    pub base_rpu: f64,
    /// The Lambdas' memory (`MemorySize`) and architecture (`Architectures: [arm64]`).
    pub lambda_memory_mb: u64,
    pub lambda_arm: bool,
    /// A Lambda invocation's duration when it was not measured.
    pub lambda_ms_unmeasured: u64,
    /// A job's log bytes when not measured.
    pub job_log_bytes_unmeasured: u64,
    /// Log bytes each Lambda invocation writes (its JSON log lines and the runtime's REPORT
    /// line).
    pub lambda_log_bytes: u64,
}

impl Default for Assumptions {
    fn default() -> Assumptions {
        Assumptions {
            job_vcpus: 1.0,
            job_memory_mib: 2048,
            job_arm: false,
            image_pull_seconds: 30.0,
            base_rpu: 8.0,
            lambda_memory_mb: 256,
            lambda_arm: true,
            lambda_ms_unmeasured: 100,
            job_log_bytes_unmeasured: 4096,
            lambda_log_bytes: 1024,
        }
    }
}

/// Where a line's quantity comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// Counted from the history's events.
    Counted,
    /// Measured by the local run.
    Measured,
    /// Modelled (an assumption above).
    Modelled,
}

/// One line of the estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub service: &'static str,
    pub item: String,
    pub quantity: f64,
    pub unit: &'static str,
    pub usd: f64,
    pub basis: Basis,
}

/// The estimate of one execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// What is estimated (an execution, or a month of idle deployment).
    pub title: String,
    pub region: &'static str,
    pub lines: Vec<Line>,
    pub total_usd: f64,
    /// When the prices were read.
    pub prices_read: &'static str,
}

fn line(
    service: &'static str,
    item: impl Into<String>,
    quantity: f64,
    p: Price,
    basis: Basis,
) -> Line {
    Line {
        service,
        item: item.into(),
        quantity,
        unit: p.unit,
        usd: quantity * p.usd,
        basis,
    }
}

/// The gap between two jobs below which they count as one busy period of the warehouse.
pub const SAME_PERIOD_MS: i64 = 60_000;

/// The periods the warehouse is busy, modelled: the jobs' running intervals merged where they
/// overlap (concurrent jobs share the workgroup's capacity) or lie less than 60 s apart (the
/// 60-second minimum charge is then paid once for both), each with the SQL seconds run in it
/// (measured, else the jobs' running time; at most the period's length).
pub fn busy_periods(u: &Usage) -> Vec<(i64, i64, f64)> {
    let mut spans: Vec<(i64, i64, f64)> = u
        .jobs
        .iter()
        .map(|j| {
            let sql = j.sql_ms.unwrap_or(j.running_ms) as f64 / 1000.0;
            match (j.started, j.stopped) {
                (Some(a), Some(b)) if b >= a => (a, b, sql),
                _ => (0, j.running_ms as i64, sql),
            }
        })
        .collect();
    spans.sort_by_key(|s| (s.0, s.1));
    let mut out: Vec<(i64, i64, f64)> = Vec::new();
    for (a, b, sql) in spans {
        match out.last_mut() {
            Some(last) if a <= last.1 + SAME_PERIOD_MS => {
                last.1 = last.1.max(b);
                last.2 += sql;
            }
            _ => out.push((a, b, sql)),
        }
    }
    for p in &mut out {
        let len = (p.1 - p.0) as f64 / 1000.0;
        if len > 0.0 {
            p.2 = p.2.min(len);
        }
    }
    out
}

/// Prices the usage.
pub fn estimate(u: &Usage, p: &Prices, a: &Assumptions) -> Estimate {
    let mut lines = Vec::new();
    lines.push(line(
        "Step Functions",
        "state transitions (Standard)",
        u.transitions as f64,
        p.sfn_transition,
        Basis::Counted,
    ));
    let invocations: u64 = u.lambdas.iter().map(|l| l.invocations).sum();
    lines.push(line(
        "Lambda",
        format!(
            "requests ({})",
            u.lambdas
                .iter()
                .filter(|l| l.invocations > 0)
                .map(|l| format!("{} {}", l.function, l.invocations))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        invocations as f64,
        p.lambda_request,
        Basis::Counted,
    ));
    let measured = u.lambdas.iter().all(|l| l.measured_ms.is_some());
    let ms: u64 = u
        .lambdas
        .iter()
        .map(|l| {
            l.measured_ms
                .unwrap_or(l.invocations * a.lambda_ms_unmeasured)
        })
        .sum();
    let gb_seconds = ms as f64 / 1000.0 * a.lambda_memory_mb as f64 / 1024.0;
    lines.push(line(
        "Lambda",
        format!(
            "duration, {} MB {}",
            a.lambda_memory_mb,
            if a.lambda_arm { "arm64" } else { "x86_64" }
        ),
        gb_seconds,
        if a.lambda_arm {
            p.lambda_gb_second_arm
        } else {
            p.lambda_gb_second_x86
        },
        if measured {
            Basis::Measured
        } else {
            Basis::Modelled
        },
    ));
    // Fargate: every attempt is a task billed from its image download, one minute at least.
    let (mut vcpu_hours, mut gb_hours) = (0.0, 0.0);
    for j in &u.jobs {
        let attempts = f64::from(j.attempts.max(1));
        let seconds =
            (a.image_pull_seconds * attempts + j.running_ms as f64 / 1000.0).max(60.0 * attempts);
        vcpu_hours += j.vcpus.unwrap_or(a.job_vcpus) * seconds / 3600.0;
        gb_hours += j.memory_mib.unwrap_or(a.job_memory_mib) as f64 / 1024.0 * seconds / 3600.0;
    }
    let (vcpu_price, gb_price) = if a.job_arm {
        (p.fargate_vcpu_hour_arm, p.fargate_gb_hour_arm)
    } else {
        (p.fargate_vcpu_hour_x86, p.fargate_gb_hour_x86)
    };
    let job_basis = if u.jobs.iter().all(|j| j.sql_ms.is_some()) && !u.jobs.is_empty() {
        Basis::Measured
    } else {
        Basis::Counted
    };
    lines.push(line(
        "Fargate",
        format!(
            "vCPU, {} job(s): running + {:.0} s pull, 1 min min.",
            u.jobs.len(),
            a.image_pull_seconds
        ),
        vcpu_hours,
        vcpu_price,
        job_basis,
    ));
    lines.push(line("Fargate", "memory", gb_hours, gb_price, job_basis));
    // Redshift Serverless: each busy period at base capacity, 60 s at least.
    let periods = busy_periods(u);
    let rpu_hours: f64 = periods
        .iter()
        .map(|(_, _, sql)| sql.max(60.0) * a.base_rpu / 3600.0)
        .sum();
    lines.push(line(
        "Redshift Serverless",
        format!(
            "{} busy period(s) at {} RPU, 60 s min. each",
            periods.len(),
            a.base_rpu
        ),
        rpu_hours,
        p.rpu_hour,
        Basis::Modelled,
    ));
    let job_logs: u64 = u
        .jobs
        .iter()
        .map(|j| j.log_bytes.unwrap_or(a.job_log_bytes_unmeasured))
        .sum();
    let log_bytes = job_logs + invocations * a.lambda_log_bytes;
    let logs_measured = u.jobs.iter().all(|j| j.log_bytes.is_some());
    lines.push(line(
        "CloudWatch Logs",
        "ingested (job logs, Lambda logs)",
        log_bytes as f64 / 1e9,
        p.logs_ingested_gb,
        if logs_measured {
            Basis::Measured
        } else {
            Basis::Modelled
        },
    ));
    // Each job: submit-job and check-job read and write its step in the submissions table;
    // the job reads its script from S3.
    let steps = u.jobs.len() as f64;
    lines.push(line(
        "DynamoDB",
        "writes (submissions ledger)",
        2.0 * steps,
        p.dynamodb_write,
        Basis::Modelled,
    ));
    lines.push(line(
        "DynamoDB",
        "reads (submissions ledger)",
        2.0 * steps,
        p.dynamodb_read,
        Basis::Modelled,
    ));
    let attempts: u32 = u.jobs.iter().map(|j| j.attempts.max(1)).sum();
    lines.push(line(
        "S3",
        "GET (each attempt reads its script)",
        f64::from(attempts),
        p.s3_get,
        Basis::Modelled,
    ));
    if u.ended {
        lines.push(line(
            "SNS",
            "publish (the notification)",
            1.0,
            p.sns_publish,
            Basis::Counted,
        ));
    }
    let total_usd = lines.iter().map(|l| l.usd).sum();
    Estimate {
        title: "Estimated cost of this execution in AWS".into(),
        region: p.region,
        lines,
        total_usd,
        prices_read: READ,
    }
}

pub use report::html::usd;

impl Estimate {
    /// What the estimate is, in one sentence.
    pub fn note(&self) -> String {
        format!(
            "An estimate, not a bill: on-demand prices for {} read {}, free tiers not subtracted; \
             counted from the history, measured by the local run, or modelled (rsqlflow cost \
             --explain lists the prices and their sources).",
            self.region, self.prices_read
        )
    }

    /// The estimate as the HTML report's table.
    pub fn to_report_table(&self) -> report::CostTable {
        report::CostTable {
            region: self.region.to_string(),
            rows: self
                .lines
                .iter()
                .map(|l| report::CostRow {
                    service: l.service.to_string(),
                    item: l.item.clone(),
                    quantity: l.quantity,
                    unit: l.unit.to_string(),
                    usd: l.usd,
                    basis: match l.basis {
                        Basis::Counted => "counted",
                        Basis::Measured => "measured",
                        Basis::Modelled => "modelled",
                    }
                    .to_string(),
                })
                .collect(),
            total_usd: self.total_usd,
            note: self.note(),
        }
    }

    /// The estimate as a text table, ending with what it is.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} ({}):", self.title, self.region);
        for l in &self.lines {
            let _ = writeln!(
                out,
                "  {:<20} {:<52} {:>14.6} {:<34} {:>11}  {}",
                l.service,
                l.item,
                l.quantity,
                l.unit,
                usd(l.usd),
                match l.basis {
                    Basis::Counted => "counted",
                    Basis::Measured => "measured",
                    Basis::Modelled => "modelled",
                }
            );
        }
        let _ = writeln!(
            out,
            "  {:<20} {:<52} {:>14} {:<34} {:>11}",
            "Total",
            "",
            "",
            "",
            usd(self.total_usd)
        );
        let _ = writeln!(out, "  {}", self.note());
        out
    }
}

/// The interface VPC endpoints a default deployment creates (ECR api, ECR dkr, Logs, STS, and
/// Redshift Serverless or Redshift): tests/template.rs checks the template has this many.
pub const DEFAULT_INTERFACE_ENDPOINTS: u32 = 5;

/// The idle cost of a deployment per month: what bills with no execution running.
#[derive(Debug, Clone, PartialEq)]
pub struct Idle {
    /// Interface endpoints, and the Availability Zones each one is in.
    pub interface_endpoints: u32,
    pub endpoint_azs: u32,
    pub nat_gateways: u32,
    pub kms_keys: u32,
    pub secrets: u32,
}

/// The idle cost's lines per month (storage, which grows with use, is left out).
pub fn idle(i: &Idle, p: &Prices) -> Estimate {
    let mut lines = vec![
        line(
            "VPC endpoints",
            format!(
                "{} interface endpoints x {} AZ x {} h",
                i.interface_endpoints, i.endpoint_azs, HOURS_PER_MONTH
            ),
            f64::from(i.interface_endpoints * i.endpoint_azs) * HOURS_PER_MONTH,
            p.endpoint_az_hour,
            Basis::Counted,
        ),
        line(
            "KMS",
            "customer managed key",
            f64::from(i.kms_keys),
            p.kms_key_month,
            Basis::Counted,
        ),
        line(
            "Secrets Manager",
            "the workgroup's admin password",
            f64::from(i.secrets),
            p.secret_month,
            Basis::Counted,
        ),
    ];
    if i.nat_gateways > 0 {
        lines.push(line(
            "VPC",
            "NAT gateway hours",
            f64::from(i.nat_gateways) * HOURS_PER_MONTH,
            p.nat_hour,
            Basis::Counted,
        ));
    }
    let total_usd = lines.iter().map(|l| l.usd).sum();
    Estimate {
        title: "Estimated idle cost per month of the deployment, storage aside".into(),
        region: p.region,
        lines,
        total_usd,
        prices_read: READ,
    }
}
