//! Distributed Maps run by the executor over local S3 (`objects::LocalS3` in a temporary
//! directory): items from an S3 listing, a CSV file and JSON Lines, ItemSelector, ItemBatcher,
//! ResultWriter files, JSONata Arguments, and the events and failures AWS records (LocalStack's
//! AWS-recorded `test_base_scenarios.snapshot.json`: MapStateStarted length 0 with an
//! ItemReader, MapRunFailed with the reader's error and cause, States.Runtime for a MaxItemsPath
//! that is not an integer before MapRunStarted).

use std::sync::Arc;

use asl::distributed::Store;
use asl::history::EventType;
use asl::{DefinitionError, ExecutionResult, Executor, Options, Registry, Status};
use objects::{LocalS3, ObjectStore};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;

struct S3 {
    _dir: tempfile::TempDir,
    s3: Arc<LocalS3>,
}

impl S3 {
    fn new() -> S3 {
        let dir = tempfile::tempdir().unwrap();
        let s3 = Arc::new(LocalS3::new(dir.path()));
        S3 { _dir: dir, s3 }
    }

    async fn put(&self, bucket: &str, key: &str, body: &str) {
        self.s3
            .put(bucket, key, body.as_bytes().to_vec())
            .await
            .unwrap();
    }

    async fn get(&self, bucket: &str, key: &str) -> String {
        let mut r = self.s3.get(bucket, key).await.unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).await.unwrap();
        s
    }

    async fn run(&self, def: Value, input: Value) -> ExecutionResult {
        let m = asl::validate(&def).unwrap_or_else(|e| panic!("{e}"));
        let opts = Options {
            state_machine_name: "etl".into(),
            object_store: Some(Store(self.s3.clone())),
            ..Options::default()
        };
        Executor::new(m, Registry::new()).run(input, opts).await
    }
}

/// A Distributed Map state named `Map` around `fields`, its processor one Pass state.
fn machine(fields: Value) -> Value {
    let mut map = json!({
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Each",
            "States": {"Each": {"Type": "Pass", "End": true}}
        },
        "End": true
    });
    for (k, v) in fields.as_object().unwrap() {
        map[k] = v.clone();
    }
    json!({"StartAt": "Map", "States": {"Map": map}})
}

fn kinds(r: &ExecutionResult) -> Vec<EventType> {
    r.history.events().iter().map(|e| e.kind).collect()
}

fn event(r: &ExecutionResult, kind: EventType) -> Value {
    r.history
        .events()
        .into_iter()
        .find(|e| e.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} in {:?}", kinds(r)))
        .to_json()
}

#[tokio::test]
async fn a_listing_gives_one_child_per_object_with_its_metadata() {
    let s3 = S3::new();
    s3.put("data", "in/a.csv", "1|x|").await;
    s3.put("data", "in/b.csv", "2|y|").await;
    s3.put("data", "other/c.csv", "3|z|").await;
    let def = machine(json!({
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:listObjectsV2",
            "Parameters": {"Bucket": "data", "Prefix.$": "$.prefix"}
        },
        "ItemSelector": {"key.$": "$$.Map.Item.Value.Key", "size.$": "$$.Map.Item.Value.Size"}
    }));
    let r = s3.run(def, json!({"prefix": "in/"})).await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    assert_eq!(
        r.output.clone().unwrap(),
        json!([{"key": "in/a.csv", "size": 4}, {"key": "in/b.csv", "size": 4}])
    );
    // As AWS records it (test_map_item_reader_base_list_objects_v2): length 0, then the run.
    assert_eq!(
        event(&r, EventType::MapStateStarted)["mapStateStartedEventDetails"],
        json!({"length": 0})
    );
    let k = kinds(&r);
    let at = |t: EventType| k.iter().position(|x| *x == t).unwrap();
    assert!(at(EventType::MapStateStarted) < at(EventType::MapRunStarted));
    assert!(at(EventType::MapRunStarted) < at(EventType::MapRunSucceeded));
    let arn = event(&r, EventType::MapRunStarted)["mapRunStartedEventDetails"]["mapRunArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:etl/"),
        "{arn}"
    );
    // Each child is an execution with its own history, as AWS records one: ExecutionStarted
    // with the child's input, the processor's states (the first follows event 0), then
    // ExecutionSucceeded with its output.
    assert_eq!(r.child_executions.len(), 2);
    let c = &r.child_executions[0];
    assert_eq!(c.map_run_arn, arn);
    assert_eq!(c.status, Status::Succeeded);
    let label = arn.rsplit_once(':').unwrap().0.rsplit('/').next().unwrap();
    assert_eq!(
        c.execution_arn,
        format!(
            "arn:aws:states:us-east-1:123456789012:execution:etl/{label}:{}",
            c.name
        )
    );
    let events: Vec<Value> = c.history.events().iter().map(|e| e.to_json()).collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(events[1]["previousEventId"], json!(0));
    assert_eq!(
        events[0]["executionStartedEventDetails"]["input"],
        json!("{\"key\":\"in/a.csv\",\"size\":4}")
    );
    assert_eq!(
        events[3]["executionSucceededEventDetails"]["output"],
        json!("{\"key\":\"in/a.csv\",\"size\":4}")
    );
    // None of the children's events is in the parent's history.
    assert!(!kinds(&r).contains(&EventType::StateEntered(asl::history::StateType::Pass)));
}

#[tokio::test]
async fn csv_rows_batched_with_batch_input_and_max_items_from_the_input() {
    let s3 = S3::new();
    s3.put("data", "orders.csv", "id,qty\n1,5\n2,6\n3,7\n4,8\n5,9\n")
        .await;
    let def = machine(json!({
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW",
                "MaxItemsPath": "$.max"},
            "Parameters": {"Bucket": "data", "Key": "orders.csv"}
        },
        "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$.run"}}
    }));
    let r = s3.run(def, json!({"max": 4, "run": "r1"})).await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    // AWSDOC "ItemBatcher (Map)": each child gets {"BatchInput": …, "Items": [...]}; CSV
    // values are strings (AWSDOC "ItemReader (Map)", CSV example).
    assert_eq!(
        r.output.unwrap(),
        json!([
            {"BatchInput": {"run": "r1"}, "Items": [{"id": "1", "qty": "5"}, {"id": "2", "qty": "6"}]},
            {"BatchInput": {"run": "r1"}, "Items": [{"id": "3", "qty": "7"}, {"id": "4", "qty": "8"}]}
        ])
    );
}

#[tokio::test]
async fn results_are_written_to_s3_with_a_manifest() {
    let s3 = S3::new();
    s3.put("data", "items.jsonl", "{\"n\":1}\n{\"n\":2}\n{\"n\":0}\n")
        .await;
    // The child fails on n = 0 (tolerated), so one FAILED and two SUCCEEDED records.
    let mut def = machine(json!({
        "Label": "Load",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSONL"},
            "Parameters": {"Bucket": "data", "Key": "items.jsonl"}
        },
        "ToleratedFailureCount": 1,
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "results", "Prefix": "runs/"}
        }
    }));
    def["States"]["Map"]["ItemProcessor"]["StartAt"] = json!("Check");
    def["States"]["Map"]["ItemProcessor"]["States"] = json!({
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 0, "Next": "Bad"}],
            "Default": "Each"},
        "Bad": {"Type": "Fail", "Error": "Zero", "Cause": "n is 0"},
        "Each": {"Type": "Pass", "End": true}
    });
    let r = s3.run(def, json!({})).await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    let out = r.output.unwrap();
    let arn = out["MapRunArn"].as_str().unwrap();
    assert!(arn.contains(":mapRun:etl/Load:"), "{arn}");
    let run_id = arn.rsplit(':').next().unwrap();
    // AWS-recorded (test_map_state_result_writer): the result names the manifest.
    assert_eq!(
        out["ResultWriterDetails"],
        json!({"Bucket": "results", "Key": format!("runs/{run_id}/manifest.json")})
    );
    let manifest: Value = serde_json::from_str(
        &s3.get("results", &format!("runs/{run_id}/manifest.json"))
            .await,
    )
    .unwrap();
    assert_eq!(manifest["MapRunArn"], json!(arn));
    assert_eq!(manifest["DestinationBucket"], json!("results"));
    let succeeded: Value = serde_json::from_str(
        &s3.get("results", &format!("runs/{run_id}/SUCCEEDED_0.json"))
            .await,
    )
    .unwrap();
    let succeeded = succeeded.as_array().unwrap();
    assert_eq!(succeeded.len(), 2);
    assert_eq!(succeeded[0]["Status"], json!("SUCCEEDED"));
    assert_eq!(succeeded[0]["Input"], json!("{\"n\":1}"));
    assert_eq!(succeeded[0]["Output"], json!("{\"n\":1}"));
    assert!(
        succeeded[0]["ExecutionArn"]
            .as_str()
            .unwrap()
            .contains(":execution:etl/Load:")
    );
    let failed: Value = serde_json::from_str(
        &s3.get("results", &format!("runs/{run_id}/FAILED_0.json"))
            .await,
    )
    .unwrap();
    assert_eq!(failed[0]["Status"], json!("FAILED"));
    assert_eq!(failed[0]["Error"], json!("Zero"));
    assert_eq!(failed[0]["Cause"], json!("n is 0"));
    // The record names the child execution whose history ends with that failure.
    let child = r
        .child_executions
        .iter()
        .find(|c| json!(c.execution_arn) == failed[0]["ExecutionArn"])
        .expect("the failed child's execution");
    assert_eq!(child.status, Status::Failed);
    let last = child.history.events().last().unwrap().to_json();
    assert_eq!(last["type"], json!("ExecutionFailed"));
    assert_eq!(
        last["executionFailedEventDetails"],
        json!({"error": "Zero", "cause": "n is 0"})
    );
}

#[tokio::test]
async fn a_reader_failure_is_the_map_runs_and_can_be_caught() {
    let s3 = S3::new();
    s3.put("data", "dup.csv", "a,a\n1,2\n").await;
    let def = json!({"StartAt": "Map", "States": {
        "Map": {"Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                "Parameters": {"Bucket": "data", "Key": "dup.csv"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "Catch": [{"ErrorEquals": ["States.ItemReaderFailed"], "Next": "Caught"}],
            "End": true},
        "Caught": {"Type": "Pass", "End": true}}});
    let r = s3.run(def, json!({})).await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    // Recorded: test_map_item_reader_csv_headers_decl_duplicate_headers.
    assert_eq!(
        event(&r, EventType::MapRunFailed)["mapRunFailedEventDetails"],
        json!({"error": "States.ItemReaderFailed", "cause": "CSV headers cannot contain duplicates."})
    );
    assert_eq!(
        r.output.unwrap(),
        json!({"Error": "States.ItemReaderFailed", "Cause": "CSV headers cannot contain duplicates."})
    );
}

#[tokio::test]
async fn a_max_items_path_that_is_not_an_integer_fails_before_the_run() {
    let s3 = S3::new();
    s3.put("data", "f.csv", "a\n1\n").await;
    let def = machine(json!({
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW",
                "MaxItemsPath": "$.MaxItems"},
            "Parameters": {"Bucket": "data", "Key": "f.csv"}}
    }));
    let r = s3.run(def, json!({"MaxItems": 1.5})).await;
    assert_eq!(r.status, Status::Failed);
    // Recorded: test_map_item_reader_csv_max_items_paths[1.5].
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        r.cause.as_deref(),
        Some(
            "An error occurred while executing the state 'Map' (entered at the event id #2). \
             The MaxItemsPath field refers to value \"1.5\" which is not a valid integer: $.MaxItems"
        )
    );
    assert!(!kinds(&r).contains(&EventType::MapRunStarted));
    // Recorded [-1]: the run starts, then fails with the reader's error.
    let r = s3
        .run(
            machine(json!({
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW",
                        "MaxItemsPath": "$.MaxItems"},
                    "Parameters": {"Bucket": "data", "Key": "f.csv"}}
            })),
            json!({"MaxItems": -1}),
        )
        .await;
    assert_eq!(r.error.as_deref(), Some("States.ItemReaderFailed"));
    assert_eq!(r.cause.as_deref(), Some("field MaxItems must be positive"));
}

#[tokio::test]
async fn jsonata_arguments_name_what_to_read() {
    let s3 = S3::new();
    s3.put("data", "list.json", "[{\"v\":1},{\"v\":2},{\"v\":3}]")
        .await;
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "Map", "States": {
        "Map": {"Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON", "MaxItems": "{% $states.input.max %}"},
                "Arguments": {"Bucket": "{% $states.input.bucket %}", "Key": "list.json"}},
            "ItemSelector": {"double": "{% $states.context.Map.Item.Value.v * 2 %}"},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "Output": "{% $sum($states.result.double) %}",
            "End": true}}});
    let r = s3.run(def, json!({"bucket": "data", "max": 2})).await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    assert_eq!(r.output.unwrap(), json!(6));
}

#[tokio::test]
async fn without_an_object_store_the_reader_fails_by_name() {
    let def = machine(json!({
        "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
            "Parameters": {"Bucket": "data"}}
    }));
    let m = asl::validate(&def).unwrap();
    let r = Executor::new(m, Registry::new())
        .run(json!({}), Options::default())
        .await;
    assert_eq!(r.error.as_deref(), Some("States.ItemReaderFailed"));
    assert!(r.cause.unwrap().contains("s3://data"));
}

#[tokio::test]
async fn a_missing_bucket_fails_the_writer_and_a_missing_object_the_reader() {
    let s3 = S3::new();
    let r = s3
        .run(
            machine(json!({
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": "data", "Key": "absent.json"}}
            })),
            json!({}),
        )
        .await;
    assert_eq!(r.error.as_deref(), Some("States.ItemReaderFailed"));
    assert!(r.cause.unwrap().contains("absent.json"));
    let r = s3
        .run(
            machine(json!({
                "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Prefix": "x"}}
            })),
            json!([1, 2]),
        )
        .await;
    assert_eq!(r.error.as_deref(), Some("States.ResultWriterFailed"));
    assert_eq!(
        event(&r, EventType::MapRunFailed)["mapRunFailedEventDetails"]["error"],
        json!("States.ResultWriterFailed")
    );
}

#[test]
fn validation_answers_as_aws_and_running_says_what_the_executor_cannot_do() {
    // Parquet is valid on AWS; the local executor refuses to run it, by field and state.
    let def = machine(json!({
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "PARQUET"},
            "Parameters": {"Bucket": "data", "Key": "f.parquet"}}
    }));
    let m = asl::validate(&def).expect("AWS accepts Parquet");
    match asl::runnable(m) {
        Err(DefinitionError::Unsupported(_)) => {}
        other => panic!("{other:?}"),
    }
    let e = asl::load_runnable(&def.to_string())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "not supported by the local executor yet: ItemReader.ReaderConfig.InputType PARQUET at /States/Map"
    );
    // An ItemReader on an inline Map is a definition error, one per field.
    let mut inline = machine(json!({
        "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
            "Parameters": {"Bucket": "data"}}
    }));
    inline["States"]["Map"]["ItemProcessor"]["ProcessorConfig"]["Mode"] = json!("INLINE");
    match asl::validate(&inline) {
        Err(DefinitionError::Invalid(p)) => {
            assert_eq!(p.len(), 1, "{p:?}");
            assert_eq!(p[0].location, "/States/Map/ItemReader");
        }
        other => panic!("{other:?}"),
    }
    // A bad path in the reader's Parameters is found at validation, where it is.
    let bad = machine(json!({
        "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
            "Parameters": {"Bucket.$": "$$$bad"}}
    }));
    match asl::validate(&bad) {
        Err(DefinitionError::Invalid(p)) => {
            assert!(
                p[0].location
                    .starts_with("/States/Map/ItemReader/Parameters"),
                "{p:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_child_sees_its_own_execution_in_the_context_object() {
    let s3 = S3::new();
    let mut def = machine(json!({"Label": "L"}));
    def["States"]["Map"]["ItemProcessor"]["States"]["Each"]["Parameters"] = json!({
        "id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "input.$": "$$.Execution.Input"
    });
    let r = s3.run(def, json!([{"n": 1}])).await;
    assert_eq!(r.status, Status::Succeeded, "{:?}", r.cause);
    let out = r.output.unwrap();
    let child = &r.child_executions[0];
    assert_eq!(out[0]["id"], json!(child.execution_arn));
    assert_eq!(out[0]["name"], json!(child.name));
    assert_eq!(out[0]["input"], json!({"n": 1}));
}
