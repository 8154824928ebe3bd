//! Deployment checks over the parsed template.yaml: placeholders of every state machine are
//! substituted, IAM stays least-privilege (no `*` action; `*` resource only where AWS requires
//! it, each listed with the reason), log groups have retention, buckets have the security
//! settings, every event rule and schedule has an existing target, and every reference resolves.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use etl::template::{Resource, Template};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn template() -> Template {
    Template::load(&root().join("template.yaml")).expect("template.yaml parses")
}

/// `Resource: "*"` is allowed only here: (logical id, action) -> why AWS requires it.
const STAR_RESOURCE_ALLOWED: &[(&str, &str, &str)] = &[
    (
        "Key",
        "*",
        "in a KMS key policy, Resource \"*\" means the key itself",
    ),
    (
        "JobExecutionRole",
        "ecr:GetAuthorizationToken",
        "ECR GetAuthorizationToken has no resource-level permissions",
    ),
    (
        "CheckJobFunction",
        "batch:DescribeJobs",
        "Batch DescribeJobs has no resource-level permissions",
    ),
    (
        "NotifyFunction",
        "batch:DescribeJobs",
        "Batch DescribeJobs has no resource-level permissions",
    ),
    (
        "NotifyFunction",
        "batch:ListJobs",
        "Batch ListJobs has no resource-level permissions",
    ),
    (
        "SubmitJobFunction",
        "batch:ListJobs",
        "Batch ListJobs has no resource-level permissions (a retried submission finds its job by name)",
    ),
    (
        "StateMachine",
        "logs:*",
        "CloudWatch Logs vended-log delivery actions have no resource-level permissions",
    ),
    (
        "StateMachine",
        "xray:*",
        "X-Ray trace-writing actions have no resource-level permissions",
    ),
    (
        "JsonataStateMachine",
        "logs:*",
        "CloudWatch Logs vended-log delivery actions have no resource-level permissions",
    ),
    (
        "JsonataStateMachine",
        "xray:*",
        "X-Ray trace-writing actions have no resource-level permissions",
    ),
    (
        "NightlySummaryStateMachine",
        "logs:*",
        "CloudWatch Logs vended-log delivery actions have no resource-level permissions",
    ),
    (
        "NightlySummaryStateMachine",
        "xray:*",
        "X-Ray trace-writing actions have no resource-level permissions",
    ),
    (
        "OrdersIncrementalStateMachine",
        "logs:*",
        "CloudWatch Logs vended-log delivery actions have no resource-level permissions",
    ),
    (
        "OrdersIncrementalStateMachine",
        "xray:*",
        "X-Ray trace-writing actions have no resource-level permissions",
    ),
    (
        "LoadPrefixStateMachine",
        "logs:*",
        "CloudWatch Logs vended-log delivery actions have no resource-level permissions",
    ),
    (
        "LoadPrefixStateMachine",
        "xray:*",
        "X-Ray trace-writing actions have no resource-level permissions",
    ),
];

/// Whether one allowlist entry covers `action` on resource `id`.
fn entry_allows(entry: &(&str, &str, &str), id: &str, action: &str) -> bool {
    let (rid, act, _) = entry;
    *rid == id
        && (*act == "*"
            || *act == action
            || act
                .strip_suffix('*')
                .is_some_and(|prefix| action.starts_with(prefix)))
}

fn star_resource_allowed(id: &str, action: &str) -> bool {
    STAR_RESOURCE_ALLOWED
        .iter()
        .any(|entry| entry_allows(entry, id, action))
}

/// Both branches of every `Fn::If`, flattened: a statement list may hold conditional statements.
fn branches(v: &Value) -> Vec<&Value> {
    match v.get("Fn::If").and_then(Value::as_array) {
        Some(parts) if parts.len() == 3 => {
            let mut out = branches(&parts[1]);
            out.extend(branches(&parts[2]));
            out
        }
        _ => vec![v],
    }
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().flat_map(branches).collect(),
        Value::Null => vec![],
        other => branches(other),
    }
}

/// Every IAM statement of the template with the logical id it belongs to (identity policies,
/// key, bucket and queue policies; trust policies excluded).
fn statements(t: &Template) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut push_doc = |id: &str, doc: &Value| {
        for s in as_list(&doc["Statement"]) {
            out.push((id.to_string(), s.clone()));
        }
    };
    for (id, r) in &t.resources {
        let p = &r.properties;
        match r.kind.as_str() {
            "AWS::IAM::Role" => {
                for pol in as_list(&p["Policies"]) {
                    push_doc(id, &pol["PolicyDocument"]);
                }
            }
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => push_doc(id, &p["PolicyDocument"]),
            "AWS::KMS::Key" => push_doc(id, &p["KeyPolicy"]),
            "AWS::S3::BucketPolicy" | "AWS::SQS::QueuePolicy" | "AWS::SNS::TopicPolicy" => {
                push_doc(id, &p["PolicyDocument"])
            }
            "AWS::Serverless::Function" | "AWS::Serverless::StateMachine" => {
                // Inline statements; SAM policy templates (LambdaInvokePolicy, ...) are scoped
                // by their parameters and checked by cfn-lint on the expanded template.
                for pol in as_list(&p["Policies"]) {
                    if pol.get("Statement").is_some() {
                        push_doc(id, pol);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => vec![],
    }
}

#[test]
fn every_state_machine_placeholder_is_substituted() {
    let t = template();
    let sms = t.state_machines();
    assert!(!sms.is_empty(), "template.yaml deploys no state machine");
    let mut deployed = BTreeSet::new();
    for sm in &sms {
        let uri = sm
            .definition_uri
            .as_deref()
            .unwrap_or_else(|| panic!("{}: no DefinitionUri", sm.logical_id));
        let path = root().join(uri);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {}: {e}", sm.logical_id, path.display()));
        let used: BTreeSet<String> = etl::template::sub_names(&text).into_iter().collect();
        for name in &used {
            assert!(
                sm.substitutions.contains_key(name),
                "{uri}: placeholder ${{{name}}} has no DefinitionSubstitutions entry in {}",
                sm.logical_id
            );
        }
        for name in sm.substitutions.keys() {
            assert!(
                used.contains(name),
                "{}: DefinitionSubstitutions has {name}, which {uri} never uses",
                sm.logical_id
            );
        }
        deployed.insert(path.canonicalize().unwrap());
    }
    for entry in std::fs::read_dir(root().join("state-machines")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "json") {
            assert!(
                deployed.contains(&p.canonicalize().unwrap()),
                "{} is not deployed by any state machine in template.yaml",
                p.display()
            );
        }
    }
}

#[test]
fn iam_has_no_wildcard_action_and_star_resources_only_where_aws_requires() {
    let t = template();
    let all = statements(&t);
    assert!(all.len() > 20, "found only {} statements", all.len());
    for (id, s) in &all {
        let actions = strings(&s["Action"]);
        assert!(
            s.get("NotAction").is_none() && s.get("NotResource").is_none(),
            "{id}: NotAction/NotResource widen a statement: {s}"
        );
        if s["Effect"] == "Deny" {
            continue;
        }
        assert!(!actions.is_empty(), "{id}: statement without Action: {s}");
        for a in &actions {
            assert_ne!(a, "*", "{id}: Action \"*\" in {s}");
        }
        let star = strings(&s["Resource"]).iter().any(|r| r == "*");
        if star {
            for a in &actions {
                assert!(
                    star_resource_allowed(id, a),
                    "{id}: Resource \"*\" for {a} is not in STAR_RESOURCE_ALLOWED: {s}"
                );
            }
        }
        if s.get("Principal").is_some_and(|p| p == "*") {
            panic!("{id}: an Allow to Principal \"*\": {s}");
        }
    }
    // Every allowance is still needed (a stale entry would hide a future wildcard).
    for (rid, act, why) in STAR_RESOURCE_ALLOWED {
        let used = all.iter().any(|(id, s)| {
            id == rid
                && strings(&s["Resource"]).iter().any(|r| r == "*")
                && strings(&s["Action"])
                    .iter()
                    .any(|a| star_resource_allowed(rid, a) && (act.ends_with('*') || a == act))
        });
        assert!(
            used,
            "STAR_RESOURCE_ALLOWED ({rid}, {act}: {why}) is unused"
        );
    }
}

#[test]
fn every_log_group_has_retention_and_every_log_destination_is_one() {
    let t = template();
    let groups: BTreeMap<&str, &Resource> = t.of_kind("AWS::Logs::LogGroup").collect();
    assert!(groups.len() >= 6, "{:?}", groups.keys());
    for (id, g) in &groups {
        assert!(
            g.properties.get("RetentionInDays").is_some(),
            "{id}: log group without RetentionInDays"
        );
        assert!(
            g.properties.get("KmsKeyId").is_some(),
            "{id}: log group without KmsKeyId"
        );
    }
    let is_group = |v: &Value, what: &str| {
        let target = v["Ref"]
            .as_str()
            .or_else(|| v["Fn::GetAtt"][0].as_str())
            .unwrap_or_else(|| panic!("{what}: {v} does not reference a template log group"));
        assert!(
            groups.contains_key(target),
            "{what}: {target} is not a log group of the template"
        );
    };
    for (id, f) in t.of_kind("AWS::Serverless::Function") {
        is_group(
            &f.properties["LoggingConfig"]["LogGroup"],
            &format!("{id}/LoggingConfig/LogGroup"),
        );
        assert_eq!(
            f.properties["LoggingConfig"]["LogFormat"], "JSON",
            "{id}: logs must be JSON"
        );
    }
    for (id, sm) in t.of_kind("AWS::Serverless::StateMachine") {
        let logging = &sm.properties["Logging"];
        assert_eq!(logging["Level"], "ALL", "{id}");
        assert_eq!(logging["IncludeExecutionData"], true, "{id}");
        is_group(
            &logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"],
            &format!("{id}/Logging"),
        );
    }
    for (id, jd) in t.of_kind("AWS::Batch::JobDefinition") {
        let lc = &jd.properties["ContainerProperties"]["LogConfiguration"];
        assert_eq!(lc["LogDriver"], "awslogs", "{id}");
        is_group(
            &lc["Options"]["awslogs-group"],
            &format!("{id}/awslogs-group"),
        );
    }
}

#[test]
fn every_bucket_is_encrypted_versioned_private_logged_and_tls_only() {
    let t = template();
    let buckets: Vec<(&str, &Resource)> = t.of_kind("AWS::S3::Bucket").collect();
    assert!(buckets.len() >= 3);
    let log_targets: BTreeSet<&str> = buckets
        .iter()
        .filter_map(|(_, b)| {
            b.properties["LoggingConfiguration"]["DestinationBucketName"]["Ref"].as_str()
        })
        .collect();
    for (id, b) in &buckets {
        let p = &b.properties;
        assert!(
            p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
                ["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
                .is_string(),
            "{id}: no default encryption"
        );
        assert_eq!(p["VersioningConfiguration"]["Status"], "Enabled", "{id}");
        let pab = &p["PublicAccessBlockConfiguration"];
        for k in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(pab[k], true, "{id}: PublicAccessBlockConfiguration/{k}");
        }
        assert!(
            p["LifecycleConfiguration"]["Rules"].is_array(),
            "{id}: no lifecycle rules"
        );
        if log_targets.contains(id) {
            assert!(
                p.get("LoggingConfiguration").is_none(),
                "{id} receives access logs and must not log into a bucket itself"
            );
        } else {
            assert!(
                log_targets.contains(
                    p["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
                        .as_str()
                        .unwrap_or_default()
                ),
                "{id}: no access logging to the logging bucket"
            );
        }
        let tls_only = t.of_kind("AWS::S3::BucketPolicy").any(|(_, pol)| {
            pol.properties["Bucket"]["Ref"] == *id
                && as_list(&pol.properties["PolicyDocument"]["Statement"])
                    .iter()
                    .any(|s| {
                        s["Effect"] == "Deny"
                            && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                    })
        });
        assert!(tls_only, "{id}: no bucket policy denying non-TLS access");
    }
    let data = &t.resources["DataBucket"].properties;
    assert_eq!(
        data["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"], true,
        "the data bucket must send Object Created events to EventBridge"
    );
}

#[test]
fn every_rule_and_schedule_targets_something_that_exists() {
    let t = template();
    let mut sources = BTreeMap::new();
    for (id, f) in t.of_kind("AWS::Serverless::Function") {
        for (name, ev) in f.properties["Events"].as_object().into_iter().flatten() {
            let ty = ev["Type"].as_str().unwrap_or_default();
            assert_eq!(ty, "EventBridgeRule", "{id}/Events/{name}");
            let p = &ev["Properties"];
            let pattern = &p["Pattern"];
            // The rule's target is the function itself; what it filters on must exist.
            for (_, target) in
                etl::template::references_in(pattern, &format!("{id}/Events/{name}/Pattern"))
            {
                assert!(t.defines(&target), "{id}/Events/{name}: {target} undefined");
            }
            let dlq = p["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
                .as_str()
                .unwrap_or_else(|| panic!("{id}/Events/{name}: no dead-letter queue"));
            assert_eq!(
                t.resources[dlq].kind, "AWS::SQS::Queue",
                "{id}/Events/{name}"
            );
            assert!(
                p["RetryPolicy"].is_object(),
                "{id}/Events/{name}: no RetryPolicy"
            );
            sources.insert(id.to_string(), pattern["detail-type"][0].clone());
        }
    }
    assert_eq!(sources["CheckJobFunction"], "Batch Job State Change");
    assert_eq!(
        sources["NotifyFunction"],
        "Step Functions Execution Status Change"
    );
    assert_eq!(sources["StartWorkflowFunction"], "Object Created");
    for (id, rule) in t.of_kind("AWS::Events::Rule") {
        for target in as_list(&rule.properties["Targets"]) {
            let arn = target["Arn"]["Fn::GetAtt"][0]
                .as_str()
                .or(target["Arn"]["Ref"].as_str())
                .unwrap_or_else(|| panic!("{id}: target {target} is not a template resource"));
            assert!(t.resources.contains_key(arn), "{id}: target {arn} missing");
        }
    }
    let schedules: Vec<_> = t.of_kind("AWS::Scheduler::Schedule").collect();
    assert!(!schedules.is_empty());
    for (id, s) in schedules {
        let target = &s.properties["Target"];
        let func = target["Arn"]["Fn::GetAtt"][0].as_str().unwrap();
        assert_eq!(
            t.resources[func].kind, "AWS::Serverless::Function",
            "{id}: target {func}"
        );
        let role = target["RoleArn"]["Fn::GetAtt"][0].as_str().unwrap();
        assert_eq!(
            t.resources[role].kind, "AWS::IAM::Role",
            "{id}: role {role}"
        );
        // The input is the event start-workflow parses.
        let input: Value = serde_json::from_str(target["Input"].as_str().unwrap()).unwrap();
        let parsed =
            etl::events::trigger(&input).expect("start-workflow parses the schedule input");
        assert!(matches!(parsed, etl::events::Trigger::Schedule { .. }));
    }
}

#[test]
fn every_reference_resolves_and_every_condition_exists() {
    let t = template();
    for (at, target) in t.references() {
        assert!(t.defines(&target), "{at}: reference to undefined {target}");
    }
    for (id, r) in &t.resources {
        if let Some(c) = &r.condition {
            assert!(t.conditions.contains_key(c), "{id}: unknown Condition {c}");
        }
    }
}

#[test]
fn lambdas_are_arm64_rust_built_from_this_workspace() {
    let t = template();
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert!(text.contains("Runtime: provided.al2023"));
    assert!(text.contains("Architectures: [arm64]"));
    let functions: Vec<_> = t.of_kind("AWS::Serverless::Function").collect();
    assert_eq!(functions.len(), 4);
    for (id, f) in functions {
        assert_eq!(f.metadata["BuildMethod"], "rust-cargolambda", "{id}");
        let binary = f.metadata["BuildProperties"]["Binary"].as_str().unwrap();
        assert!(
            root()
                .join("functions")
                .join(binary)
                .join("Cargo.toml")
                .exists(),
            "{id}: Binary {binary} is not a functions/ package"
        );
        assert!(
            f.properties["DeadLetterQueue"]["TargetArn"].is_object(),
            "{id}: no dead-letter queue"
        );
    }
}

#[test]
fn every_parameter_has_a_default_that_deploys_as_is() {
    let t = template();
    for (name, p) in &t.parameters {
        assert!(
            p.get("Default").is_some(),
            "parameter {name} has no Default"
        );
        assert!(
            p.get("Description").is_some(),
            "parameter {name} has no Description"
        );
    }
}

#[test]
fn the_environment_the_template_sets_is_the_one_the_code_reads() {
    let t = template();
    // The job definition's variables are `rsqlflow job` settings (its --help lists each env).
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_rsqlflow"))
        .args(["job", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let jd = &t.resources["JobDefinition"].properties["ContainerProperties"];
    let names: Vec<&str> = jd["Environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Name"].as_str().unwrap())
        .collect();
    assert!(names.len() >= 4);
    for n in &names {
        assert!(
            help.contains(&format!("[env: {n}")),
            "JobDefinition sets {n}, which rsqlflow job does not read"
        );
    }
    assert_eq!(jd["Command"], serde_json::json!(["job"]));
    // What submit-job sets per job is what `rsqlflow job` reads, and the job definition does
    // not set it too (the per-job value would silently replace it).
    for n in etl::contract::environment::READ_BY_CONTAINER {
        assert!(
            help.contains(&format!("[env: {n}")),
            "submit-job sets {n}, which rsqlflow job does not read"
        );
    }
    for n in etl::contract::environment::NAMES {
        assert!(
            !names.contains(&n),
            "JobDefinition sets {n}, which submit-job sets for each job"
        );
    }
    // The Lambdas' variables are the ones Settings reads, and it reads no other.
    let mut lambda_vars = BTreeSet::new();
    let globals = &t.globals["Function"]["Environment"]["Variables"];
    let functions = t.of_kind("AWS::Serverless::Function");
    for vars in std::iter::once(globals)
        .chain(functions.map(|(_, f)| &f.properties["Environment"]["Variables"]))
    {
        lambda_vars.extend(
            vars.as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k.as_str())
                .filter(|k| k.starts_with("RSQLFLOW_")),
        );
    }
    let read: BTreeSet<&str> = etl::settings::vars::RSQLFLOW.into_iter().collect();
    assert_eq!(
        lambda_vars, read,
        "template.yaml's RSQLFLOW_* variables for the Lambdas are not the ones Settings reads"
    );
}

#[test]
fn the_job_image_matches_the_job_definition() {
    let t = template();
    let cp = &t.resources["JobDefinition"].properties["ContainerProperties"];
    let dockerfile = std::fs::read_to_string(root().join("rsql-image/Dockerfile")).unwrap();
    let build = std::fs::read_to_string(root().join("rsql-image/build.sh")).unwrap();
    // The same non-root user, and the scratch volume where the read-only image writes.
    let user = cp["User"].as_str().unwrap();
    assert!(
        dockerfile.contains(&format!("USER {user}:{user}")),
        "Dockerfile runs as another user than the job definition's {user}"
    );
    assert_eq!(cp["ReadonlyRootFilesystem"], true);
    let mount = cp["MountPoints"][0]["ContainerPath"].as_str().unwrap();
    let scratch = cp["Environment"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["Name"] == "RSQLFLOW_SCRATCH")
        .unwrap()["Value"]
        .as_str()
        .unwrap();
    assert_eq!(mount, scratch);
    assert!(dockerfile.contains(&format!("RSQLFLOW_SCRATCH={scratch}")));
    // build.sh's pin downloads exactly what the Dockerfile verifies.
    for url in [
        "https://s3.amazonaws.com/redshift-downloads/drivers/odbc/${ODBC_VERSION}/AmazonRedshiftODBC-64-bit-${ODBC_VERSION}.x86_64.rpm",
        "AmazonRedshiftRsql-${RSQL_VERSION}.rhel.x86_64.rpm",
    ] {
        assert!(dockerfile.contains(url), "Dockerfile lacks {url}");
        assert!(build.contains(url), "build.sh lacks {url}");
    }
    for arg in ["ODBC_VERSION", "ODBC_SHA256", "RSQL_VERSION", "RSQL_SHA256"] {
        assert!(dockerfile.contains(&format!("ARG {arg}")), "{arg}");
        assert!(build.contains(&format!("--build-arg \"{arg}=")), "{arg}");
    }
    assert!(dockerfile.contains("sha256sum --check --strict"));
    assert!(dockerfile.contains("CMD [\"job\"]"));
}

/// `!Sub` text with the parameters at their defaults and the stack named as the local run
/// names it.
fn sub_defaults(t: &Template, v: &Value) -> String {
    let text = v["Fn::Sub"]
        .as_str()
        .or(v.as_str())
        .unwrap_or_else(|| panic!("{v}"));
    let mut out = text.to_string();
    for name in etl::template::sub_names(text) {
        let value = match name.as_str() {
            "AWS::StackName" => etl::local::routes::STACK.to_string(),
            n => t.parameters[n]["Default"].as_str().unwrap().to_string(),
        };
        out = out.replace(&format!("${{{name}}}"), &value);
    }
    out
}

#[test]
fn start_workflow_routes_every_triggered_workflow_as_its_rules_and_schedules_deliver() {
    use etl::routes::{RouteTrigger, ScheduleMatch};
    let t = template();
    let local = etl::local::routes::LocalRoutes::from_template(&t)
        .expect("RSQLFLOW_ROUTES resolves locally")
        .expect("start-workflow has RSQLFLOW_ROUTES");
    let sw = &t.resources["StartWorkflowFunction"].properties;
    // Every state machine has a route: its own trigger.
    let routed: BTreeSet<String> = local
        .definitions
        .values()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for sm in t.state_machines() {
        let file = sm
            .definition_uri
            .as_deref()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        assert!(
            routed.contains(&file),
            "{}: {file} has no route",
            sm.logical_id
        );
    }
    // start-workflow may start each routed state machine, and only those.
    let allowed: BTreeSet<String> = statements(&t)
        .into_iter()
        .filter(|(id, s)| {
            id == "StartWorkflowFunction"
                && strings(&s["Action"]).contains(&"states:StartExecution".to_string())
        })
        .flat_map(|(_, s)| {
            as_list(&s["Resource"])
                .into_iter()
                .map(|r| r["Ref"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let text = sw["Environment"]["Variables"]["RSQLFLOW_ROUTES"]["Fn::Sub"]
        .as_str()
        .unwrap();
    let targets: BTreeSet<String> = etl::template::sub_names(text)
        .into_iter()
        .filter(|n| {
            t.resources
                .get(n)
                .is_some_and(|r| r.kind == "AWS::Serverless::StateMachine")
        })
        .collect();
    assert_eq!(
        allowed, targets,
        "StartExecution is allowed on exactly the routed state machines"
    );
    // The ObjectCreated rule delivers exactly the keys the S3 routes take.
    let keys = &sw["Events"]["ObjectCreated"]["Properties"]["Pattern"]["detail"]["object"]["key"];
    let wildcards: BTreeSet<String> = as_list(keys)
        .into_iter()
        .map(|k| sub_defaults(&t, &k["wildcard"]))
        .collect();
    let s3_routes: BTreeSet<String> = local
        .routes
        .iter()
        .filter_map(|r| match &r.trigger {
            RouteTrigger::S3 { prefix, suffix } => Some(format!("{prefix}*{suffix}")),
            _ => None,
        })
        .collect();
    assert_eq!(wildcards, s3_routes);
    // No object starts two workflows with the defaults: the S3 routes' prefixes do not nest.
    let prefixes: Vec<&str> = s3_routes
        .iter()
        .map(|w| w.split('*').next().unwrap())
        .collect();
    for a in &prefixes {
        for b in &prefixes {
            assert!(a == b || !b.starts_with(a), "routes {a} and {b} overlap");
        }
    }
    // Every schedule route is a schedule of the template, by the name its events carry.
    let schedules: BTreeSet<String> = t
        .of_kind("AWS::Scheduler::Schedule")
        .map(|(_, s)| sub_defaults(&t, &s.properties["Name"]))
        .collect();
    let schedule_routes: BTreeSet<String> = local
        .routes
        .iter()
        .filter_map(|r| match &r.trigger {
            RouteTrigger::Schedule(ScheduleMatch::Named(n)) => Some(n.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(schedules, schedule_routes);
    // A schedule's event reaches its route and no other.
    for r in local.schedules() {
        let ev = etl::local::routes::LocalRoutes::scheduled_event(r, "2026-11-01T02:00:00Z");
        let trig = etl::events::trigger(&ev).unwrap();
        let hit: Vec<&str> = etl::routes::matching(&local.routes, &trig)
            .iter()
            .map(|x| x.name.as_str())
            .collect();
        assert_eq!(hit, [r.name.as_str()]);
    }
    // notify hears every state machine's outcome.
    let notify = &t.resources["NotifyFunction"].properties["Events"]["ExecutionStatusChange"]["Properties"]
        ["Pattern"]["detail"]["stateMachineArn"];
    let heard: BTreeSet<&str> = as_list(notify)
        .into_iter()
        .map(|r| r["Ref"].as_str().unwrap())
        .collect();
    for sm in t.state_machines() {
        assert!(
            heard.contains(sm.logical_id.as_str()),
            "notify does not hear {}",
            sm.logical_id
        );
    }
}

#[test]
fn check_job_answers_and_notify_reads_every_workflow_of_the_stack() {
    let t = template();
    let statements = statements(&t);
    let resources_of = |id: &str, action: &str| -> Vec<String> {
        statements
            .iter()
            .filter(|(who, s)| who == id && strings(&s["Action"]).iter().any(|a| a == action))
            .flat_map(|(_, s)| {
                as_list(&s["Resource"])
                    .into_iter()
                    .map(|r| r["Fn::Sub"].as_str().unwrap_or_default().to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let answer = resources_of("CheckJobFunction", "states:SendTaskSuccess");
    let history = resources_of("NotifyFunction", "states:GetExecutionHistory");
    for sm in t.state_machines() {
        let name = t.resources[&sm.logical_id].properties["Name"]["Fn::Sub"]
            .as_str()
            .unwrap_or_else(|| panic!("{} has no Name", sm.logical_id))
            .to_string();
        let suffix = name
            .strip_prefix("${AWS::StackName}-")
            .unwrap_or_else(|| panic!("{}: {name} is not named after the stack", sm.logical_id));
        assert!(
            answer
                .iter()
                .any(|r| r.ends_with(":stateMachine:${AWS::StackName}-*")),
            "check-job cannot answer {name}'s tokens: {answer:?}"
        );
        assert!(
            history
                .iter()
                .any(|r| r.ends_with(&format!(":execution:${{AWS::StackName}}-{suffix}:*"))),
            "notify cannot read {name}'s histories: {history:?}"
        );
    }
}

/// `EndpointAvailabilityZones` (issue 18): 3 by default; with 1, every interface endpoint and
/// the jobs' compute environment are in the first private subnet, while the warehouse keeps
/// its three. The idle cost `rsqlflow cost --idle` computes counts the endpoints created by
/// default, as many as the template has.
#[test]
fn one_endpoint_zone_puts_the_endpoints_and_the_jobs_in_one_subnet() {
    let t = template();
    let p = &t.parameters["EndpointAvailabilityZones"];
    assert_eq!(p["Default"], 3);
    assert_eq!(p["AllowedValues"], serde_json::json!([1, 3]));
    let one = serde_json::json!([{"Ref": "PrivateSubnet1"}]);
    let three = serde_json::json!([
        {"Ref": "PrivateSubnet1"}, {"Ref": "PrivateSubnet2"}, {"Ref": "PrivateSubnet3"}
    ]);
    let chosen = serde_json::json!({"Fn::If": ["OneEndpointZone", one, three]});
    assert_eq!(
        t.conditions["OneEndpointZone"],
        serde_json::json!({"Fn::Equals": [{"Ref": "EndpointAvailabilityZones"}, 1]})
    );
    let mut by_default = 0;
    for (id, r) in &t.resources {
        if r.kind != "AWS::EC2::VPCEndpoint" || r.properties["VpcEndpointType"] != "Interface" {
            continue;
        }
        assert_eq!(r.properties["SubnetIds"], chosen, "{id}");
        // The default deployment: a created VPC and Redshift Serverless.
        if matches!(
            r.condition.as_deref(),
            Some("CreateVpc" | "CreateVpcAndServerless")
        ) {
            by_default += 1;
        }
    }
    assert_eq!(by_default, cost::estimate::DEFAULT_INTERFACE_ENDPOINTS);
    let ce = &t.resources["ComputeEnvironment"].properties["ComputeResources"]["Subnets"];
    assert_eq!(ce["Fn::If"][0], "CreateVpc");
    assert_eq!(ce["Fn::If"][1], chosen);
    let wg = &t.resources["Workgroup"].properties["SubnetIds"];
    assert_eq!(wg["Fn::If"][1], three, "the warehouse keeps three subnets");
}

/// The cost estimate's defaults (crates/cost `Assumptions`) are the template's: the jobs'
/// vCPUs, memory and architecture, the workgroup's base capacity, the Lambdas' memory and
/// architecture. `rsqlflow cost` reads the first three from the template when it is there.
#[test]
fn the_cost_estimate_assumes_what_the_template_deploys() {
    let t = template();
    let a = cost::Assumptions::default();
    let default = |name: &str| t.parameters[name]["Default"].clone();
    assert_eq!(default("JobVcpus"), serde_json::json!("1"));
    assert_eq!(a.job_vcpus, 1.0);
    assert_eq!(default("JobMemoryMiB"), serde_json::json!(a.job_memory_mib));
    assert_eq!(default("RedshiftBaseCapacity"), serde_json::json!(8));
    assert_eq!(a.base_rpu, 8.0);
    assert_eq!(
        t.globals["Function"]["MemorySize"],
        serde_json::json!(a.lambda_memory_mb)
    );
    assert_eq!(
        t.globals["Function"]["Architectures"],
        serde_json::json!([if a.lambda_arm { "arm64" } else { "x86_64" }])
    );
    let platform = &t.resources["JobDefinition"].properties["ContainerProperties"]["RuntimePlatform"]
        ["CpuArchitecture"];
    assert_eq!(platform, if a.job_arm { "ARM64" } else { "X86_64" });
}
