//! The estimate's arithmetic pinned on a known history: the sample workflow as `rsqlflow run`
//! recorded it (tests/data/sample.history.json: five jobs, one Parallel, no retries), priced
//! with the us-east-1 table and the template's defaults. Every expected figure is worked out
//! here by hand from the prices, so a change of price, rule or model shows up as a failure.

use cost::{Assumptions, Basis, Usage, estimate, for_region};

fn sample() -> Usage {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/sample.history.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    Usage::from_history(&report::history::parse(&text).unwrap())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12_f64.max(b.abs() * 1e-9)
}

#[test]
fn the_sample_execution_is_priced_line_by_line() {
    let u = sample();
    // Seven states entered (five Tasks, the Parallel, the Succeed state), no retries.
    assert_eq!(u.transitions, 7);
    let calls: Vec<(&str, u64)> = u
        .lambdas
        .iter()
        .map(|l| (l.function.as_str(), l.invocations))
        .collect();
    assert_eq!(calls, [("submit-job", 5), ("check-job", 5), ("notify", 1)]);
    let running: Vec<u64> = u.jobs.iter().map(|j| j.running_ms).collect();
    let mut sorted = running.clone();
    sorted.sort();
    assert_eq!(sorted, [11, 56, 140, 141, 241]);
    assert!(u.jobs.iter().all(|j| j.attempts == 1 && j.vcpus.is_none()));

    let p = for_region("us-east-1").unwrap();
    let e = estimate(&u, p, &Assumptions::default());
    let usd = |service: &str, item_starts: &str| {
        let l = e
            .lines
            .iter()
            .find(|l| l.service == service && l.item.starts_with(item_starts))
            .unwrap_or_else(|| panic!("{service} {item_starts}: {:#?}", e.lines));
        (l.quantity, l.usd, l.basis)
    };
    // Step Functions: 7 transitions at $0.025 per 1,000.
    let (q, d, b) = usd("Step Functions", "state transitions");
    assert!(close(q, 7.0) && close(d, 7.0 * 0.000025) && b == Basis::Counted);
    // Lambda: 11 requests at $0.20 per million; 11 x 100 ms (modelled) x 0.25 GB at the Arm
    // GB-second price.
    let (q, d, _) = usd("Lambda", "requests");
    assert!(close(q, 11.0) && close(d, 11.0 * 0.0000002));
    let (q, d, b) = usd("Lambda", "duration");
    assert!(close(q, 1.1 * 0.25) && close(d, 0.275 * 0.0000133334) && b == Basis::Modelled);
    // Fargate: every job is under the one-minute minimum even with its 30 s image pull: five
    // tasks of 60 s at 1 vCPU and 2 GB.
    let (q, d, _) = usd("Fargate", "vCPU, 5 job(s)");
    assert!(close(q, 300.0 / 3600.0) && close(d, 300.0 / 3600.0 * 0.04048));
    let (q, d, _) = usd("Fargate", "memory");
    assert!(close(q, 600.0 / 3600.0) && close(d, 600.0 / 3600.0 * 0.004445));
    // Redshift Serverless: the jobs ran within a second of each other, one busy period, billed
    // its 60-second minimum at 8 RPU.
    let (q, d, b) = usd("Redshift Serverless", "1 busy period");
    assert!(close(q, 8.0 * 60.0 / 3600.0) && close(d, 8.0 / 60.0 * 0.375));
    assert_eq!(b, Basis::Modelled);
    // Logs: 5 jobs x 4,096 bytes + 11 invocations x 1,024 bytes (modelled) at $0.50 per GB.
    let (q, d, _) = usd("CloudWatch Logs", "ingested");
    assert!(close(q, 31_744.0 / 1e9) && close(d, 31_744.0 / 1e9 * 0.50));
    let (_, d, _) = usd("DynamoDB", "writes");
    assert!(close(d, 10.0 * 0.000000625));
    let (_, d, _) = usd("DynamoDB", "reads");
    assert!(close(d, 10.0 * 0.000000125));
    let (_, d, _) = usd("S3", "GET");
    assert!(close(d, 5.0 * 0.0000004));
    let (_, d, _) = usd("SNS", "publish");
    assert!(close(d, 0.0000005));
    let expected = 7.0 * 0.000025
        + 11.0 * 0.0000002
        + 0.275 * 0.0000133334
        + 300.0 / 3600.0 * 0.04048
        + 600.0 / 3600.0 * 0.004445
        + 8.0 / 60.0 * 0.375
        + 31_744.0 / 1e9 * 0.50
        + 10.0 * 0.000000625
        + 10.0 * 0.000000125
        + 5.0 * 0.0000004
        + 0.0000005;
    assert!(
        close(e.total_usd, expected),
        "{} vs {expected}",
        e.total_usd
    );
    assert!(e.to_text().contains("An estimate, not a bill"));
}

#[test]
fn minimum_charges_and_overrides() {
    let mut u = sample();
    // A long job (10 minutes) with a vCPU override and two attempts: each attempt pulls the
    // image; RUNNING time is the last attempt's.
    let j = &mut u.jobs[0];
    j.running_ms = 600_000;
    j.started = j.stopped.map(|s| s - 600_000);
    j.vcpus = Some(2.0);
    j.memory_mib = Some(4096);
    j.attempts = 2;
    let long = j.clone();
    u.jobs = vec![long];
    let e = estimate(
        &u,
        for_region("us-east-1").unwrap(),
        &Assumptions::default(),
    );
    let vcpu = e
        .lines
        .iter()
        .find(|l| l.item.starts_with("vCPU, 1 job(s)"))
        .unwrap();
    // (2 x 30 s pull + 600 s) = 660 s, above 2 x 60 s; at 2 vCPU.
    assert!(close(vcpu.quantity, 2.0 * 660.0 / 3600.0), "{vcpu:?}");
    let mem = e.lines.iter().find(|l| l.item == "memory").unwrap();
    assert!(close(mem.quantity, 4.0 * 660.0 / 3600.0), "{mem:?}");
    // 600 s of SQL in one period: above the minimum.
    let rs = e
        .lines
        .iter()
        .find(|l| l.service == "Redshift Serverless")
        .unwrap();
    assert!(close(rs.quantity, 8.0 * 600.0 / 3600.0), "{rs:?}");
}

#[test]
fn idle_cost_of_the_default_and_the_one_zone_network() {
    let p = for_region("us-east-1").unwrap();
    let default = cost::idle(
        &cost::Idle {
            interface_endpoints: 5,
            endpoint_azs: 3,
            nat_gateways: 0,
            kms_keys: 1,
            secrets: 1,
        },
        p,
    );
    // 5 x 3 x 730 endpoint-hours at $0.01, a key at $1, a secret at $0.40.
    assert!(close(default.total_usd, 109.5 + 1.0 + 0.4), "{default:?}");
    let one = cost::idle(
        &cost::Idle {
            interface_endpoints: 5,
            endpoint_azs: 1,
            nat_gateways: 0,
            kms_keys: 1,
            secrets: 1,
        },
        p,
    );
    assert!(close(one.total_usd, 36.5 + 1.0 + 0.4), "{one:?}");
}
