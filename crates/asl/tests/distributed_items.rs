//! asl::distributed's item side: ItemReader parsing and reading through `objects::LocalS3`,
//! ItemBatcher, and the CSV parser's properties. Golden outputs are AWS's: recorded executions
//! (LocalStack `tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json`,
//! named per test) and AWSDOC examples (pages named per test; data in `tests/distributed/`).

use std::io::Write as _;

use asl::distributed::{
    BatchLimits, FailureKind, ItemBatcherSpec, ItemReaderSpec, MapRunFailure, ReadOptions,
    S3Target, csv, max_items_from_value,
};
use objects::{LocalS3, ObjectStore};
use proptest::prelude::*;
use serde_json::{Value, json};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/distributed");
const OPTIONS: ReadOptions = ReadOptions {
    listing_last_modified: 1668699881,
};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}/{name}")).unwrap()
}

fn local() -> (tempfile::TempDir, LocalS3) {
    let dir = tempfile::tempdir().unwrap();
    let s3 = LocalS3::new(dir.path());
    (dir, s3)
}

async fn put(s3: &LocalS3, bucket: &str, key: &str, body: &[u8]) {
    s3.put(bucket, key, body.to_vec()).await.unwrap();
}

/// Reads with the ItemReader `reader` (JSONPath) and evaluated parameters `params`.
async fn read(s3: &LocalS3, reader: Value, params: Value) -> Result<Vec<Value>, MapRunFailure> {
    let spec = ItemReaderSpec::parse(&reader, "/States/Map/ItemReader", false)
        .unwrap_or_else(|p| panic!("{p:?}"));
    let target = S3Target::from_value(spec.resource, &params)?;
    let max = spec.static_max_items().unwrap();
    spec.read(s3, &target, max, &OPTIONS).await
}

fn csv_reader(config: Value) -> Value {
    json!({
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": config,
        "Parameters": {"Bucket.$": "$.Bucket", "Key.$": "$.Key"},
    })
}

fn compact(items: &[Value]) -> String {
    serde_json::to_string(items).unwrap()
}

// Recorded: test_map_item_reader_base_csv_headers_first_line (the file is the test's).
const RECORDED_CSV: &str = "Col1,Col2,Col3\nValue1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n";

#[tokio::test]
async fn csv_first_row_as_aws_recorded() {
    let (_d, s3) = local();
    put(&s3, "bkt", "file.csv", RECORDED_CSV.as_bytes()).await;
    let items = read(
        &s3,
        csv_reader(json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})),
        json!({"Bucket": "bkt", "Key": "file.csv"}),
    )
    .await
    .unwrap();
    assert_eq!(
        compact(&items),
        r#"[{"Col1":"Value1","Col2":"Value2","Col3":"Value3"},{"Col1":"Value4","Col2":"Value5","Col3":"Value6"},{"Col1":"","Col2":"","Col3":""},{"Col1":"true","Col2":"1","Col3":"'HelloWorld'"},{"Col1":"Null","Col2":"None","Col3":""},{"Col1":"   ","Col2":"","Col3":""}]"#
    );
}

#[tokio::test]
async fn csv_given_headers_as_aws_recorded() {
    let (_d, s3) = local();
    let body = RECORDED_CSV.split_once('\n').unwrap().1;
    put(&s3, "bkt", "file.csv", body.as_bytes()).await;
    let given = |h: Value| {
        csv_reader(json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": h}))
    };
    let p = json!({"Bucket": "bkt", "Key": "file.csv"});
    // test_map_item_reader_base_csv_headers_decl
    let items = read(&s3, given(json!(["H1", "H2", "H3"])), p.clone())
        .await
        .unwrap();
    assert_eq!(
        compact(&items),
        r#"[{"H1":"Value1","H2":"Value2","H3":"Value3"},{"H1":"Value4","H2":"Value5","H3":"Value6"},{"H1":"","H2":"","H3":""},{"H1":"true","H2":"1","H3":"'HelloWorld'"},{"H1":"Null","H2":"None","H3":""},{"H1":"   ","H2":"","H3":""}]"#
    );
    // test_map_item_reader_csv_headers_decl_extra_fields
    let items = read(&s3, given(json!(["H1"])), p.clone()).await.unwrap();
    assert_eq!(
        compact(&items),
        r#"[{"H1":"Value1"},{"H1":"Value4"},{"H1":""},{"H1":"true"},{"H1":"Null"},{"H1":"   "}]"#
    );
    // test_map_item_reader_csv_headers_decl_duplicate_headers
    let err = read(&s3, given(json!(["H1", "H1", "H3"])), p)
        .await
        .unwrap_err();
    assert_eq!(err.error(), "States.ItemReaderFailed");
    assert_eq!(err.cause, "CSV headers cannot contain duplicates.");
}

#[tokio::test]
async fn csv_key_order_is_aws_recorded() {
    let (_d, s3) = local();
    let p = json!({"Bucket": "bkt", "Key": "file.csv"});
    let first_row = csv_reader(json!({"InputType": "CSV"}));
    // test_map_item_reader_csv_headers_first_row_typed_headers
    put(
        &s3,
        "bkt",
        "file.csv",
        b"0,True,{}\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n",
    )
    .await;
    let items = read(&s3, first_row.clone(), p.clone()).await.unwrap();
    assert_eq!(
        compact(&items),
        r#"[{"0":"Value4","{}":"Value6","True":"Value5"},{"0":"","{}":"","True":""},{"0":"true","{}":"'HelloWorld'","True":"1"},{"0":"Null","{}":"","True":"None"},{"0":"   ","{}":"","True":""}]"#
    );
    // test_map_item_reader_csv_first_row_extra_fields
    put(
        &s3,
        "bkt",
        "file.csv",
        b"H1,\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n",
    )
    .await;
    let items = read(&s3, first_row, p).await.unwrap();
    assert_eq!(
        compact(&items),
        r#"[{"":"Value5","H1":"Value4"},{"":"","H1":""},{"":"1","H1":"true"},{"":"None","H1":"Null"},{"":"","H1":"   "}]"#
    );
}

#[tokio::test]
async fn csv_docs_examples() {
    let (_d, s3) = local();
    // AWSDOC "ItemReader (Map)", CSV file example: PIPE delimiter, the child's input
    // `{"rating": "3.5", "movieId": "307", "userId": "1", "timestamp": "1256677221"}`.
    put(
        &s3,
        "bkt",
        "csvDataset/ratings.csv",
        b"userId|movieId|rating|timestamp\n1|307|3.5|1256677221\n1|481|3.5|1256677456\n",
    )
    .await;
    let items = read(
        &s3,
        csv_reader(
            json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "CSVDelimiter": "PIPE"}),
        ),
        json!({"Bucket": "bkt", "Key": "csvDataset/ratings.csv"}),
    )
    .await
    .unwrap();
    assert_eq!(
        items[0].to_string(),
        r#"{"rating":"3.5","movieId":"307","userId":"1","timestamp":"1256677221"}"#
    );
    assert_eq!(items.len(), 2);
    // AWSDOC "How Step Functions parses input CSV files": quoted commas, `""`, a quoted newline;
    // the page's output (after States.StringToJson) has MyObject {"MyKey": "MyValue"}.
    put(&s3, "bkt", "myCSVInput.csv", &data("myCSVInput.csv")).await;
    let items = read(
        &s3,
        csv_reader(json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN",
            "CSVHeaders": ["MyLetters", "MyNumbers", "MyString", "MyObject", "MyArray"]})),
        json!({"Bucket": "bkt", "Key": "myCSVInput.csv"}),
    )
    .await
    .unwrap();
    assert_eq!(items.len(), 1);
    let row = &items[0];
    assert_eq!(row["MyLetters"], "abc");
    assert_eq!(row["MyNumbers"], "123");
    assert_eq!(
        row["MyString"],
        "This string contains commas, a double quotation marks (\"), and a newline (\n)"
    );
    assert_eq!(row["MyObject"], r#"{"MyKey":"MyValue"}"#);
    assert_eq!(row["MyArray"], "[1,2,3]");
    // The page's output lists the keys in this order.
    let keys: Vec<_> = row.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["MyNumbers", "MyObject", "MyString", "MyLetters", "MyArray"]
    );
    // Backslashes (same page): `C:\\Program Files\\MyApp.exe` reads with single backslashes.
    put(
        &s3,
        "bkt",
        "paths.csv",
        b"path,size\nC:\\\\Program Files\\\\MyApp.exe,6534512\n",
    )
    .await;
    let items = read(
        &s3,
        csv_reader(json!({"InputType": "CSV"})),
        json!({"Bucket": "bkt", "Key": "paths.csv"}),
    )
    .await
    .unwrap();
    assert_eq!(items[0]["path"], "C:\\Program Files\\MyApp.exe");
}

#[tokio::test]
async fn max_items_as_aws_recorded() {
    let (_d, s3) = local();
    put(
        &s3,
        "bkt",
        "file.csv",
        b"Col1,Col2\nValue1,Value2\nValue3,Value4\nValue5,Value6\nValue7,Value8\n",
    )
    .await;
    let p = json!({"Bucket": "bkt", "Key": "file.csv"});
    // test_map_item_reader_csv_max_items[0], [2], [100000000]
    for (max, n) in [(0, 4), (2, 2), (100_000_000, 4)] {
        let items = read(
            &s3,
            csv_reader(json!({"InputType": "CSV", "MaxItems": max})),
            p.clone(),
        )
        .await
        .unwrap();
        assert_eq!(items.len(), n, "MaxItems {max}");
    }
    assert_eq!(
        compact(
            &read(
                &s3,
                csv_reader(json!({"InputType": "CSV", "MaxItems": 2})),
                p
            )
            .await
            .unwrap()
        ),
        r#"[{"Col1":"Value1","Col2":"Value2"},{"Col1":"Value3","Col2":"Value4"}]"#
    );
    // test_map_item_reader_csv_max_items_paths[-1], [1.5], [100000001]
    let e = max_items_from_value(&json!(-1), "$.MaxItems").unwrap_err();
    assert_eq!(
        (e.kind, e.cause.as_str()),
        (
            FailureKind::ItemReaderFailed,
            "field MaxItems must be positive"
        )
    );
    let e = max_items_from_value(&json!(1.5), "$.MaxItems").unwrap_err();
    assert_eq!(e.error(), "States.Runtime");
    assert_eq!(
        e.cause,
        "The MaxItemsPath field refers to value \"1.5\" which is not a valid integer: $.MaxItems"
    );
    assert_eq!(
        max_items_from_value(&json!(100_000_001), "$.MaxItems").unwrap(),
        100_000_000
    );
    assert_eq!(
        max_items_from_value(&json!(0), "$.MaxItems").unwrap(),
        100_000_000
    );
    assert_eq!(max_items_from_value(&json!(2), "$.MaxItems").unwrap(), 2);
}

#[tokio::test]
async fn json_and_jsonl_docs_examples() {
    let (_d, s3) = local();
    put(
        &s3,
        "bkt",
        "jsonDataset/factcheck.json",
        &data("factcheck.json"),
    )
    .await;
    put(
        &s3,
        "bkt",
        "jsonlDataset/factcheck.jsonl",
        &data("factcheck.jsonl"),
    )
    .await;
    let first = r#"{"verdict":"true","statement_date":"6/11/2008","statement_source":"speech"}"#;
    let reader = |t: &str| json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": t}, "Parameters": {"Bucket": "bkt", "Key": "k"}});
    // AWSDOC "ItemReader (Map)": JSON file and JSON Lines file examples, and the recorded
    // test_map_item_reader_base_json (same items, key order kept).
    for (t, key) in [
        ("JSON", "jsonDataset/factcheck.json"),
        ("JSONL", "jsonlDataset/factcheck.jsonl"),
    ] {
        let items = read(&s3, reader(t), json!({"Bucket": "bkt", "Key": key}))
            .await
            .unwrap();
        assert_eq!(items.len(), 3, "{t}");
        assert_eq!(items[0].to_string(), first, "{t}");
        assert_eq!(items[2]["verdict"], "mostly-true");
    }
    // test_map_item_reader_json_no_json_list_object
    put(&s3, "bkt", "obj.json", br#"{"Hello": "world"}"#).await;
    let e = read(
        &s3,
        reader("JSON"),
        json!({"Bucket": "bkt", "Key": "obj.json"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (e.error(), e.cause.as_str()),
        (
            "States.ItemReaderFailed",
            "Attempting to map over non-iterable node."
        )
    );
    // ItemsPointer (AWSDOC "ItemReader (Map)")
    put(
        &s3,
        "bkt",
        "nested.json",
        br#"{"inventory": {"products": {"featured": [1, 2]}}}"#,
    )
    .await;
    let mut r = reader("JSON");
    r["ReaderConfig"]["ItemsPointer"] = json!("/inventory/products/featured");
    assert_eq!(
        read(&s3, r, json!({"Bucket": "bkt", "Key": "nested.json"}))
            .await
            .unwrap(),
        vec![json!(1), json!(2)]
    );
}

#[tokio::test]
async fn listing_as_the_docs_show_it() {
    let (_d, s3) = local();
    // Recorded test_map_item_reader_base_list_objects_v2: three 12-byte objects.
    for i in 0..3 {
        put(
            &s3,
            "bkt",
            &format!("file_{i}.txt"),
            format!("{i}HelloWorld!").as_bytes(),
        )
        .await;
    }
    put(&s3, "bkt", "other/x.txt", b"x").await;
    let reader = json!({"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "bkt", "Prefix": "file_"}});
    let items = read(
        &s3,
        reader.clone(),
        json!({"Bucket": "bkt", "Prefix": "file_"}),
    )
    .await
    .unwrap();
    assert_eq!(items.len(), 3);
    // AWSDOC "ItemReader (Map)": {"Etag": "\"<md5>\"", "Key", "LastModified": <epoch s>, "Size",
    // "StorageClass": "STANDARD"}, in that key order.
    // LastModified is the object's own (local S3: the file's modification time, written just
    // now), not the caller's fallback.
    let md5_of_0 = "\"26c6f5d46cc21753686a70d9344a5b4a\"";
    let modified = items[0]["LastModified"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - 600..=now + 5).contains(&modified),
        "{modified} vs {now}"
    );
    assert_eq!(
        items[0].to_string(),
        format!(
            r#"{{"Etag":{},"Key":"file_0.txt","LastModified":{modified},"Size":12,"StorageClass":"STANDARD"}}"#,
            serde_json::to_string(md5_of_0).unwrap()
        )
    );
    assert_eq!(items[2]["Key"], "file_2.txt");
    let all = read(&s3, reader, json!({"Bucket": "bkt"})).await.unwrap();
    assert_eq!(all.len(), 4);
    let e = read(
        &s3,
        json!({"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "nobucket"}}),
        json!({"Bucket": "nobucket"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, FailureKind::ItemReaderFailed);
    assert!(e.cause.contains("nobucket"), "{}", e.cause);
}

#[tokio::test]
async fn s3_inventory_docs_example() {
    let (_d, s3) = local();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&data("inventory.csv")).unwrap();
    let gz = gz.finish().unwrap();
    let manifest_key =
        "destination-prefix/amzn-s3-demo-bucket/config-id/2022-11-16T00-00Z/manifest.json";
    put(
        &s3,
        "demo-destination-bucket",
        manifest_key,
        String::from_utf8(data("inventory-manifest.json"))
            .unwrap()
            // S3 reserves the docs' `amzn-s3-demo-` bucket names (LocalS3 enforces it).
            .replace("amzn-s3-demo-inventory", "demo-inventory")
            .as_bytes(),
    )
    .await;
    put(
        &s3,
        "demo-inventory",
        "amzn-s3-demo-bucket/destination-prefix/data/20e55de8-9c21-45d4-99b9-46c732000228.csv.gz",
        &gz,
    )
    .await;
    let reader = json!({"ReaderConfig": {"InputType": "MANIFEST"}, "Resource": "arn:aws:states:::s3:getObject",
        "Parameters": {"Bucket": "demo-destination-bucket", "Key": manifest_key}});
    let items = read(
        &s3,
        reader,
        json!({"Bucket": "demo-destination-bucket", "Key": manifest_key}),
    )
    .await
    .unwrap();
    assert_eq!(items.len(), 4);
    // AWSDOC "ItemReader (Map)", S3 inventory "Input to a child workflow execution".
    assert_eq!(
        items[1].to_string(),
        r#"{"LastModifiedDate":"2022-11-16T00:29:32.000Z","Bucket":"amzn-s3-demo-source-bucket","Size":"3399671","Key":"csvDataset/titles.csv"}"#
    );
}

#[tokio::test]
async fn load_and_flatten_and_athena() {
    let (_d, s3) = local();
    put(&s3, "bkt", "logs/a.jsonl", b"{\"n\":1}\n{\"n\":2}\n").await;
    put(&s3, "bkt", "logs/b.jsonl", b"{\"n\":3}\n").await;
    let reader = json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
        "ReaderConfig": {"InputType": "JSONL", "Transformation": "LOAD_AND_FLATTEN"},
        "Parameters": {"Bucket": "bkt", "Prefix": "logs/"}});
    let items = read(&s3, reader, json!({"Bucket": "bkt", "Prefix": "logs/"}))
        .await
        .unwrap();
    assert_eq!(
        items,
        vec![json!({"n": 1}), json!({"n": 2}), json!({"n": 3})]
    );
    put(&s3, "bkt", "q/1.csv", b"x,1\ny,2\n").await;
    put(&s3, "bkt", "q/q-manifest.csv", b"s3://bkt/q/1.csv\n").await;
    let reader = json!({"Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"ManifestType": "ATHENA_DATA", "InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["k", "v"]},
        "Parameters": {"Bucket": "bkt", "Key": "q/q-manifest.csv"}});
    let items = read(
        &s3,
        reader,
        json!({"Bucket": "bkt", "Key": "q/q-manifest.csv"}),
    )
    .await
    .unwrap();
    assert_eq!(
        items,
        vec![json!({"k": "x", "v": "1"}), json!({"k": "y", "v": "2"})]
    );
}

#[tokio::test]
async fn malformed_inputs_name_bucket_key_and_line() {
    let (_d, s3) = local();
    let cases: [(&str, &[u8], &str, &str); 6] = [
        (
            "bad.csv",
            b"a,b\n1,2\n3,\"open\n",
            "CSV",
            "s3://bkt/bad.csv: line 3",
        ),
        ("bad.json", b"[1, 2,", "JSON", "s3://bkt/bad.json: line 1"),
        (
            "bad.jsonl",
            b"{\"a\":1}\n{oops}\n",
            "JSONL",
            "s3://bkt/bad.jsonl: line 2",
        ),
        (
            "latin1.csv",
            b"h\n\xe9\n",
            "CSV",
            "s3://bkt/latin1.csv: not UTF-8",
        ),
        ("z.json", b"\x28\xb5\x2f\xfd\x00", "JSON", "zstd"),
        ("missing.json", b"", "JSON", "does not exist"),
    ];
    for (key, body, t, expect) in cases {
        if key != "missing.json" {
            put(&s3, "bkt", key, body).await;
        }
        let reader = json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": t}, "Parameters": {"Bucket": "bkt", "Key": key}});
        let e = read(&s3, reader, json!({"Bucket": "bkt", "Key": key}))
            .await
            .unwrap_err();
        assert_eq!(e.kind, FailureKind::ItemReaderFailed, "{key}");
        assert!(e.cause.contains(expect), "{key}: {}", e.cause);
    }
    let e = S3Target::from_value(
        asl::distributed::ReaderResource::GetObject,
        &json!({"Bucket": "bkt"}),
    )
    .unwrap_err();
    assert_eq!(e.kind, FailureKind::ItemReaderFailed);
}

fn problems(reader: Value, jsonata: bool) -> Vec<String> {
    match ItemReaderSpec::parse(&reader, "/States/M/ItemReader", jsonata) {
        Ok(_) => vec![],
        Err(p) => p.into_iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn reader_validation_problems() {
    let get = |cfg: Value| json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": cfg, "Parameters": {"Bucket": "bkt", "Key": "k"}});
    assert!(
        problems(
            get(json!({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"})),
            false
        )
        .is_empty()
    );
    let p = problems(get(json!({"InputType": "XML"})), false);
    assert_eq!(
        p,
        [
            "/States/M/ItemReader/ReaderConfig/InputType: InputType must be one of CSV, JSON, JSONL, PARQUET, MANIFEST, got 'XML'",
            "/States/M/ItemReader/ReaderConfig: ReaderConfig needs an InputType with arn:aws:states:::s3:getObject"
        ]
    );
    // AWS accepts Parquet; that the local executor cannot read it is not a definition
    // problem (tests/distributed_map.rs: `asl::runnable` refuses it by name).
    assert!(problems(get(json!({"InputType": "PARQUET"})), false).is_empty());
    assert!(
        problems(
            get(json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN"})),
            false
        )[0]
        .contains("needs CSVHeaders")
    );
    assert!(
        problems(
            get(json!({"InputType": "CSV", "CSVDelimiter": "COLON"})),
            false
        )[0]
        .contains("CSVDelimiter must be one of")
    );
    assert!(
        problems(
            get(json!({"InputType": "JSON", "CSVDelimiter": "PIPE"})),
            false
        )[0]
        .contains("only when InputType is CSV or MANIFEST")
    );
    assert!(
        problems(
            get(json!({"InputType": "CSV", "MaxItems": 1, "MaxItemsPath": "$.n"})),
            false
        )[0]
        .contains("cannot both")
    );
    assert!(
        problems(
            get(json!({"InputType": "CSV", "MaxItems": 100_000_001})),
            false
        )[0]
        .contains("from 0 to 100000000")
    );
    assert!(
        problems(
            get(json!({"ManifestType": "S3_INVENTORY", "InputType": "CSV"})),
            false
        )[0]
        .contains("must not be specified")
    );
    assert!(
        problems(
            json!({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {}}),
            false
        )[0]
        .contains("Resource must be")
    );
    // JSONata: Arguments, not Parameters; MaxItems may be an expression.
    let jsonata = json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON", "MaxItems": "{% $states.input.n %}"}, "Arguments": {"Bucket": "bkt", "Key": "k"}});
    assert!(problems(jsonata.clone(), true).is_empty());
    assert!(
        problems(jsonata, false)
            .iter()
            .any(|p| p.contains("Arguments is not allowed in a JSONPath state"))
    );
}

#[test]
fn batches_as_the_docs_describe() {
    // AWSDOC "ItemBatcher (Map)": 1130 items, 100 per batch → 12 batches, the last of 30.
    let items: Vec<Value> = (0..1130).map(|i| json!(i)).collect();
    let batches = BatchLimits::new(Some(100), None).batch(items, None);
    assert_eq!(batches.len(), 12);
    assert_eq!(batches[11]["Items"].as_array().unwrap().len(), 30);
    assert_eq!(
        batches[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["Items"]
    );
    // BatchInput envelope (same page).
    let facts: Vec<Value> = serde_json::from_slice(&data("factcheck.json")).unwrap();
    let b = BatchLimits::new(Some(2), None)
        .batch(facts.clone(), Some(&json!({"factCheck": "December 2022"})));
    assert_eq!(b.len(), 2);
    assert_eq!(
        b[0],
        json!({"BatchInput": {"factCheck": "December 2022"}, "Items": [facts[0], facts[1]]})
    );
    // A byte limit: every batch fits, and no batch could take the next item.
    let items: Vec<Value> = (0..200)
        .map(|i| json!({"n": i, "pad": "x".repeat(i % 37)}))
        .collect();
    let limits = BatchLimits::new(None, Some(300));
    let batches = limits.batch(items.clone(), Some(&json!("bkt")));
    let mut flat = Vec::new();
    for (i, b) in batches.iter().enumerate() {
        assert!(
            b.to_string().len() <= 300,
            "batch {i}: {}",
            b.to_string().len()
        );
        if let Some(next) = batches.get(i + 1) {
            let mut grown = b.clone();
            grown["Items"]
                .as_array_mut()
                .unwrap()
                .push(next["Items"][0].clone());
            assert!(grown.to_string().len() > 300);
        }
        flat.extend(b["Items"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(flat, items);
    // One item alone over the limit still forms a batch.
    let big = BatchLimits::new(None, Some(10)).batch(vec![json!("a long string"), json!(1)], None);
    assert_eq!(big.len(), 2);
}

#[test]
fn batcher_validation_problems() {
    let p = |v: Value| match ItemBatcherSpec::parse(&v, "/States/M/ItemBatcher", false) {
        Ok(_) => vec![],
        Err(p) => p.into_iter().map(|p| p.to_string()).collect::<Vec<_>>(),
    };
    assert!(p(json!({"MaxItemsPerBatch": 100})).is_empty());
    assert!(
        p(json!({"BatchInput": {}}))[0].contains("needs MaxItemsPerBatch or MaxInputBytesPerBatch")
    );
    assert!(
        p(json!({"MaxItemsPerBatch": 1, "MaxItemsPerBatchPath": "$.n"}))[0].contains("cannot both")
    );
    assert!(p(json!({"MaxInputBytesPerBatch": 262145}))[0].contains("from 1 to 262144"));
    assert!(p(json!({"MaxItemsPerBatch": 0}))[0].contains("positive integer"));
    let spec =
        ItemBatcherSpec::parse(&json!({"MaxInputBytesPerBatchPath": "$.n"}), "/", false).unwrap();
    assert_eq!(spec.static_limits(), None);
    assert!(
        asl::distributed::batch_limit_from_value("MaxInputBytesPerBatchPath", &json!(-3)).is_err()
    );
}

fn quoted(field: &str) -> String {
    format!("\"{}\"", field.replace('\\', "\\\\").replace('"', "\"\""))
}

proptest! {
    #[test]
    fn csv_never_panics(text in "(?s).{0,200}", d in prop::sample::select(vec![',', '|', ';', ' ', '\t'])) {
        for r in csv::records(&text, d) {
            let _ = r;
        }
    }

    #[test]
    fn csv_round_trips_quoted_fields(
        rows in prop::collection::vec(prop::collection::vec("[a-z ,|\"\\\\\n]{0,8}", 1..5), 1..5)
    ) {
        let text: String = rows
            .iter()
            .map(|r| r.iter().map(|f| quoted(f)).collect::<Vec<_>>().join(",") + "\n")
            .collect();
        let parsed: Vec<Vec<String>> = csv::records(&text, ',').map(|r| r.unwrap().fields).collect();
        prop_assert_eq!(parsed, rows);
    }

    #[test]
    fn csv_round_trips_plain_fields(
        rows in prop::collection::vec(prop::collection::vec("[a-z0-9 ']{1,8}", 1..5), 1..5)
    ) {
        let text: String = rows.iter().map(|r| r.join("|") + "\n").collect();
        let parsed: Vec<Vec<String>> = csv::records(&text, '|').map(|r| r.unwrap().fields).collect();
        prop_assert_eq!(parsed, rows);
    }
}

#[test]
fn a_map_states_fields_parse_together() {
    use asl::distributed::DistributedSpec;
    // AWSDOC "How Step Functions parses input CSV files": the example's Map state, plus an
    // ItemBatcher and a ResultWriter from their pages.
    let state = json!({
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN",
                "CSVHeaders": ["MyLetters", "MyNumbers", "MyString", "MyObject", "MyArray"]},
            "Parameters": {"Bucket": "amzn-s3-demo-bucket", "Key": "myCSVInput.csv"}
        },
        "ItemBatcher": {"MaxItemsPerBatch": 100, "BatchInput": {"factCheck": "December 2022"}},
        "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "amzn-s3-demo-destination-bucket", "Prefix": "csvProcessJobs"}}
    });
    let spec = DistributedSpec::parse(state.as_object().unwrap(), "/States/Map", false).unwrap();
    assert!(spec.reader.is_some() && spec.batcher.is_some() && spec.writer.is_some());
    assert_eq!(
        spec.batcher.unwrap().static_limits(),
        Some(BatchLimits::new(Some(100), None))
    );
    let bad = json!({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {}},
        "ItemBatcher": {}, "ResultWriter": {}});
    let problems: Vec<String> =
        DistributedSpec::parse(bad.as_object().unwrap(), "/States/Map", false)
            .unwrap_err()
            .into_iter()
            .map(|p| p.location)
            .collect();
    assert_eq!(
        problems,
        [
            "/States/Map/ItemReader/ReaderConfig",
            "/States/Map/ItemBatcher",
            "/States/Map/ResultWriter"
        ]
    );
}

#[tokio::test]
async fn csv_header_limit_and_max_items_across_files() {
    let (_d, s3) = local();
    // AWSDOC "ItemReader (Map)": CSV headers of up to 10 KiB.
    let long = format!("{}\n1\n", "h".repeat(10 * 1024 + 1));
    put(&s3, "bkt", "wide.csv", long.as_bytes()).await;
    let e = read(
        &s3,
        csv_reader(json!({"InputType": "CSV"})),
        json!({"Bucket": "bkt", "Key": "wide.csv"}),
    )
    .await
    .unwrap_err();
    assert!(e.cause.contains("s3://bkt/wide.csv: line 1"), "{}", e.cause);
    let ok = format!("{}\n1\n", "h".repeat(10 * 1024));
    put(&s3, "bkt", "wide.csv", ok.as_bytes()).await;
    let items = read(
        &s3,
        csv_reader(json!({"InputType": "CSV"})),
        json!({"Bucket": "bkt", "Key": "wide.csv"}),
    )
    .await
    .unwrap();
    assert_eq!(items.len(), 1);
    // MaxItems cuts a LOAD_AND_FLATTEN read in the middle of the second file.
    for i in 0..3 {
        put(&s3, "bkt", &format!("d/{i}.csv"), b"a\n1\n2\n").await;
    }
    let reader = json!({"Resource": "arn:aws:states:::s3:listObjectsV2",
        "ReaderConfig": {"InputType": "CSV", "Transformation": "LOAD_AND_FLATTEN", "MaxItems": 3},
        "Parameters": {"Bucket": "bkt", "Prefix": "d/"}});
    let items = read(&s3, reader, json!({"Bucket": "bkt", "Prefix": "d/"}))
        .await
        .unwrap();
    assert_eq!(
        items,
        vec![json!({"a": "1"}), json!({"a": "2"}), json!({"a": "1"})]
    );
}
