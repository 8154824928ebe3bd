//! asl::distributed's ResultWriter: files written through `objects::LocalS3`, read back and
//! compared with AWSDOC "ResultWriter (Map)" (the state's result, the NONE record, COMPACT and
//! FLATTEN outputs, the file names) and with the manifest fields LocalStack's AWS-validated
//! `test_map_state_result_writer` asserts (DestinationBucket, MapRunArn, ResultFiles).

use asl::distributed::{
    ChildOutcome, ChildStatus, FailureKind, OutputType, ResultWriterSpec, S3Destination,
    WriterConfig, WriterTransformation,
};
use chrono::{DateTime, Utc};
use objects::{LocalS3, ObjectStore};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;

// AWSDOC "ResultWriter (Map)", "Exporting to Amazon S3" (account id filled in).
const MAP_RUN_ARN: &str = "arn:aws:states:us-east-2:123456789012:mapRun:csvProcess/Map:ad9b5f27-090b-3ac6-9beb-243cd77144a7";
const SM_ARN: &str = "arn:aws:states:us-east-2:123456789012:stateMachine:orderProcessing/getOrders";

fn date(s: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

/// A child as AWSDOC's NONE example shows them: output an array of two orders.
fn succeeded(name: &str, orders: [(&str, &str); 2]) -> ChildOutcome {
    ChildOutcome {
        execution_arn: Some(format!(
            "arn:aws:states:us-east-2:123456789012:execution:orderProcessing/getOrders:{name}"
        )),
        name: Some(name.to_string()),
        state_machine_arn: Some(SM_ARN.to_string()),
        status: ChildStatus::Succeeded,
        input: json!({"orders": name}),
        output: Some(json!([
            {"customer_id": orders[0].0, "order_id": orders[0].1},
            {"customer_id": orders[1].0, "order_id": orders[1].1},
        ])),
        error: None,
        cause: None,
        start_date: date("2025-02-04T01:49:50.099Z"),
        stop_date: date("2025-02-04T01:49:50.163Z"),
        redrive_count: 0,
    }
}

fn children() -> Vec<ChildOutcome> {
    let mut failed = succeeded("f0", [("1", "2"), ("3", "4")]);
    failed.status = ChildStatus::Failed;
    failed.output = None;
    failed.error = Some("States.TaskFailed".into());
    failed.cause = Some("boom".into());
    let pending = ChildOutcome {
        execution_arn: None,
        name: None,
        state_machine_arn: None,
        status: ChildStatus::Pending,
        input: json!({"orders": "p0"}),
        output: None,
        error: None,
        cause: None,
        start_date: None,
        stop_date: None,
        redrive_count: 0,
    };
    vec![
        succeeded(
            "da4e9fc7-abab-3b27-9a77-a277e463b709",
            [("145538", "100000"), ("898037", "100001")],
        ),
        failed,
        succeeded(
            "f43a56f7-d21e-3fe9-a40c-9b9b8d0adf5a",
            [("169881", "100005"), ("797471", "100006")],
        ),
        pending,
    ]
}

async fn get(s3: &LocalS3, bucket: &str, key: &str) -> Vec<u8> {
    let mut r = s3.get(bucket, key).await.unwrap();
    let mut b = Vec::new();
    r.read_to_end(&mut b).await.unwrap();
    b
}

async fn get_json(s3: &LocalS3, bucket: &str, key: &str) -> Value {
    serde_json::from_slice(&get(s3, bucket, key).await).unwrap()
}

fn dest(prefix: &str) -> S3Destination {
    S3Destination::from_value(&json!({"Bucket": "dest-bucket", "Prefix": prefix})).unwrap()
}

#[tokio::test]
async fn export_writes_manifest_and_status_files() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = LocalS3::new(dir.path());
    let result = ResultWriterSpec::export(
        &s3,
        &dest("csvProcessJobs"),
        None,
        MAP_RUN_ARN,
        &children(),
        asl::distributed::MAX_RESULT_FILE_BYTES,
    )
    .await
    .unwrap();
    // The state's result as AWSDOC shows it.
    assert_eq!(
        result,
        json!({
            "MapRunArn": MAP_RUN_ARN,
            "ResultWriterDetails": {
                "Bucket": "dest-bucket",
                "Key": "csvProcessJobs/ad9b5f27-090b-3ac6-9beb-243cd77144a7/manifest.json"
            }
        })
    );
    let dir_key = "csvProcessJobs/ad9b5f27-090b-3ac6-9beb-243cd77144a7";
    let manifest = get_json(&s3, "dest-bucket", &format!("{dir_key}/manifest.json")).await;
    assert_eq!(manifest["DestinationBucket"], "dest-bucket");
    assert_eq!(manifest["MapRunArn"], MAP_RUN_ARN);
    for status in ["SUCCEEDED", "FAILED", "PENDING"] {
        let files = manifest["ResultFiles"][status].as_array().unwrap();
        assert_eq!(files.len(), 1, "{status}");
        let key = format!("{dir_key}/{status}_0.json");
        assert_eq!(files[0]["Key"], key.as_str());
        let body = get(&s3, "dest-bucket", &key).await;
        assert_eq!(files[0]["Size"], body.len());
    }
    let ok = get_json(&s3, "dest-bucket", &format!("{dir_key}/SUCCEEDED_0.json")).await;
    let ok = ok.as_array().unwrap();
    assert_eq!(ok.len(), 2);
    // AWSDOC's NONE record: these keys, in this order, Output as JSON text, dates with ms.
    let keys: Vec<&String> = ok[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "ExecutionArn",
            "Input",
            "InputDetails",
            "Name",
            "Output",
            "OutputDetails",
            "RedriveCount",
            "RedriveStatus",
            "RedriveStatusReason",
            "StartDate",
            "StateMachineArn",
            "Status",
            "StopDate"
        ]
    );
    assert_eq!(
        ok[0]["Output"],
        r#"[{"customer_id":"145538","order_id":"100000"},{"customer_id":"898037","order_id":"100001"}]"#
    );
    assert_eq!(ok[0]["InputDetails"], json!({"Included": true}));
    assert_eq!(ok[0]["RedriveStatus"], "NOT_REDRIVABLE");
    assert_eq!(
        ok[0]["RedriveStatusReason"],
        "Execution is SUCCEEDED and cannot be redriven"
    );
    assert_eq!(ok[0]["StartDate"], "2025-02-04T01:49:50.099Z");
    assert_eq!(ok[0]["StateMachineArn"], SM_ARN);
    assert_eq!(ok[1]["Name"], "f43a56f7-d21e-3fe9-a40c-9b9b8d0adf5a");
    let failed = get_json(&s3, "dest-bucket", &format!("{dir_key}/FAILED_0.json")).await;
    assert_eq!(failed[0]["Status"], "FAILED");
    assert_eq!(failed[0]["Error"], "States.TaskFailed");
    assert_eq!(failed[0]["Cause"], "boom");
    assert!(failed[0].get("Output").is_none());
    let pending = get_json(&s3, "dest-bucket", &format!("{dir_key}/PENDING_0.json")).await;
    assert_eq!(pending[0]["Status"], "PENDING");
    assert_eq!(pending[0]["Input"], r#"{"orders":"p0"}"#);
}

#[tokio::test]
async fn no_children_of_a_status_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = LocalS3::new(dir.path());
    let only_ok = vec![children().remove(0)];
    let result =
        ResultWriterSpec::export(&s3, &dest("jobs/"), None, MAP_RUN_ARN, &only_ok, 1 << 20)
            .await
            .unwrap();
    let key = result["ResultWriterDetails"]["Key"].as_str().unwrap();
    assert_eq!(
        key,
        "jobs/ad9b5f27-090b-3ac6-9beb-243cd77144a7/manifest.json"
    );
    let manifest = get_json(&s3, "dest-bucket", key).await;
    assert_eq!(manifest["ResultFiles"]["FAILED"], json!([]));
    assert_eq!(manifest["ResultFiles"]["PENDING"], json!([]));
    assert_eq!(
        manifest["ResultFiles"]["SUCCEEDED"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let listed = s3.list("dest-bucket", "jobs/").await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    // No prefix: the run's directory is at the bucket's top.
    let r = ResultWriterSpec::export(&s3, &dest(""), None, MAP_RUN_ARN, &only_ok, 1 << 20)
        .await
        .unwrap();
    assert_eq!(
        r["ResultWriterDetails"]["Key"],
        "ad9b5f27-090b-3ac6-9beb-243cd77144a7/manifest.json"
    );
}

#[tokio::test]
async fn large_results_split_into_numbered_files() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = LocalS3::new(dir.path());
    let many: Vec<ChildOutcome> = (0..40)
        .map(|i| {
            let mut c = succeeded(&format!("c{i}"), [("1", "2"), ("3", "4")]);
            c.output = Some(json!({"i": i, "pad": "y".repeat(i * 3)}));
            c
        })
        .collect();
    for (output_type, limit) in [(OutputType::Json, 600u64), (OutputType::Jsonl, 450)] {
        let config = WriterConfig {
            output_type,
            transformation: WriterTransformation::Compact,
        };
        let prefix = format!("{output_type:?}");
        let r = ResultWriterSpec::export(
            &s3,
            &dest(&prefix),
            Some(&config),
            MAP_RUN_ARN,
            &many,
            limit,
        )
        .await
        .unwrap();
        let manifest = get_json(
            &s3,
            "dest-bucket",
            r["ResultWriterDetails"]["Key"].as_str().unwrap(),
        )
        .await;
        let files = manifest["ResultFiles"]["SUCCEEDED"].as_array().unwrap();
        assert!(files.len() > 2, "{output_type:?}: {}", files.len());
        let mut all = Vec::new();
        for (n, f) in files.iter().enumerate() {
            let key = f["Key"].as_str().unwrap();
            assert!(key.ends_with(&format!("/SUCCEEDED_{n}.json")), "{key}");
            let body = get(&s3, "dest-bucket", key).await;
            assert!(body.len() as u64 <= limit, "{key}: {}", body.len());
            assert_eq!(f["Size"], body.len());
            match output_type {
                OutputType::Json => {
                    let v: Vec<Value> = serde_json::from_slice(&body).unwrap();
                    all.extend(v);
                }
                OutputType::Jsonl => {
                    let text = String::from_utf8(body).unwrap();
                    assert!(text.ends_with('\n'));
                    all.extend(
                        text.lines()
                            .map(|l| serde_json::from_str::<Value>(l).unwrap()),
                    );
                }
            }
        }
        let expected: Vec<Value> = many.iter().map(|c| c.output.clone().unwrap()).collect();
        assert_eq!(all, expected, "{output_type:?}");
    }
}

#[test]
fn compact_and_flatten_as_the_docs_show_them() {
    let ok: Vec<ChildOutcome> = children()
        .into_iter()
        .filter(|c| c.status == ChildStatus::Succeeded)
        .collect();
    let cfg = |t| WriterConfig {
        output_type: OutputType::Json,
        transformation: t,
    };
    let a = json!({"customer_id": "145538", "order_id": "100000"});
    let b = json!({"customer_id": "898037", "order_id": "100001"});
    let c = json!({"customer_id": "169881", "order_id": "100005"});
    let d = json!({"customer_id": "797471", "order_id": "100006"});
    assert_eq!(
        ResultWriterSpec::preview(&cfg(WriterTransformation::Compact), &ok),
        json!([[a, b], [c, d]])
    );
    assert_eq!(
        ResultWriterSpec::preview(&cfg(WriterTransformation::Flatten), &ok),
        json!([a, b, c, d])
    );
    // A failed child's record is kept whole whatever the transformation.
    let all = children();
    let flat = ResultWriterSpec::preview(&cfg(WriterTransformation::Flatten), &all);
    assert_eq!(flat[2]["Status"], "FAILED");
    assert_eq!(flat.as_array().unwrap().len(), 6);
    let lines = ResultWriterSpec::preview(
        &WriterConfig {
            output_type: OutputType::Jsonl,
            transformation: WriterTransformation::Compact,
        },
        &ok,
    );
    assert_eq!(lines.as_str().unwrap().lines().count(), 2);
}

#[tokio::test]
async fn write_failure_is_result_writer_failed() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = LocalS3::new(dir.path());
    let bad = S3Destination::from_value(&json!({"Bucket": "Bad_Bucket"})).unwrap();
    let e = ResultWriterSpec::export(&s3, &bad, None, MAP_RUN_ARN, &children(), 1 << 20)
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::ResultWriterFailed);
    assert_eq!(e.error(), "States.ResultWriterFailed");
    assert!(e.cause.contains("Bad_Bucket"), "{}", e.cause);
    let e = S3Destination::from_value(&json!({"Prefix": "p"})).unwrap_err();
    assert_eq!(e.kind, FailureKind::ResultWriterFailed);
}

#[test]
fn writer_validation_problems() {
    let p = |v: Value, jsonata: bool| match ResultWriterSpec::parse(
        &v,
        "/States/M/ResultWriter",
        jsonata,
    ) {
        Ok(_) => vec![],
        Err(p) => p.into_iter().map(|p| p.to_string()).collect::<Vec<_>>(),
    };
    // AWSDOC's three valid combinations.
    let put = json!("arn:aws:states:::s3:putObject");
    assert!(
        p(
            json!({"WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSON"}}),
            false
        )
        .is_empty()
    );
    assert!(
        p(
            json!({"Resource": put, "Parameters": {"Bucket": "b", "Prefix": "p"}}),
            false
        )
        .is_empty()
    );
    assert!(p(json!({"Resource": put, "WriterConfig": {"OutputType": "JSONL"}, "Parameters": {"Bucket": "b"}}), false).is_empty());
    assert!(p(json!({"Resource": put, "Arguments": {"Bucket": "b"}}), true).is_empty());
    assert_eq!(
        p(json!({}), false),
        ["/States/M/ResultWriter: ResultWriter needs WriterConfig, or Resource and Parameters"]
    );
    assert!(p(json!({"Resource": put}), false)[0].contains("Resource and Parameters together"));
    assert!(
        p(json!({"WriterConfig": {"OutputType": "CSV"}}), false)[0]
            .contains("OutputType JSON or JSONL")
    );
    assert!(
        p(
            json!({"WriterConfig": {"OutputType": "JSON", "Transformation": "SQUASH"}}),
            false
        )[0]
        .contains("NONE, COMPACT or FLATTEN")
    );
    assert!(
        p(
            json!({"Resource": "arn:aws:states:::s3:getObject", "Parameters": {}}),
            false
        )[0]
        .contains("putObject")
    );
    assert!(
        p(
            json!({"Resource": put, "Parameters": {"Bucket": "b"}}),
            true
        )[0]
        .contains("Parameters is not allowed in a JSONata state")
    );
    let spec =
        ResultWriterSpec::parse(&json!({"WriterConfig": {"OutputType": "JSON"}}), "/", false)
            .unwrap();
    assert_eq!(spec.parameters, None);
    assert_eq!(
        spec.config.unwrap().transformation,
        WriterTransformation::None
    );
}
