//! COPY and UNLOAD against S3 through the real AWS SDK client, served by moto's S3. `#[ignore]`d:
//! run with `-- --include-ignored` and `RSQLFLOW_TEST_MOTO` set to a moto_server executable
//! (`.ci/run` does both); without the variable it fails and says so.

mod support;

fn rsql_aws(
    moto: &support::moto::Moto,
    dir: &std::path::Path,
    script: &str,
) -> (String, String, i32) {
    std::fs::write(dir.join("job.sql"), script).unwrap();
    let out = std::process::Command::new(support::bin())
        .current_dir(dir)
        .args(["rsql", "--ephemeral", "--s3", "aws", "-f", "job.sql"])
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
#[ignore = "needs RSQLFLOW_TEST_MOTO set to a moto_server executable (pip install 'moto[server]'); .ci/run sets it"]
fn unload_and_copy_round_trip_through_the_aws_sdk() {
    let moto = support::moto::Moto::require();
    assert_eq!(
        moto.request("PUT", "/etl-bucket"),
        200,
        "create bucket in moto"
    );
    let dir = tempfile::tempdir().unwrap();
    let (out, err, code) = rsql_aws(
        &moto,
        dir.path(),
        "\\set ON_ERROR_STOP on\n\
         CREATE TABLE src (id INT, name VARCHAR(20));\n\
         INSERT INTO src SELECT n, 'name ' || n FROM generate_series(1, 2500) n;\n\
         UNLOAD ('SELECT * FROM src') TO 's3://etl-bucket/out/src_' GZIP PARALLEL OFF MANIFEST;\n\
         \\echo unloaded :ACTIVITYCOUNT\n\
         CREATE TABLE dst (LIKE src);\n\
         COPY dst FROM 's3://etl-bucket/out/src_000' GZIP;\n\
         \\echo loaded :ACTIVITYCOUNT\n\
         COPY dst FROM 's3://etl-bucket/out/src_manifest' MANIFEST GZIP;\n\
         SELECT count(*) AS n, count(DISTINCT id) AS ids FROM dst;\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("unloaded 2500") && out.contains("loaded 2500"),
        "{out}"
    );
    assert!(out.contains(" 5000 | 2500"), "{out}");

    let (_, err, code) = rsql_aws(
        &moto,
        dir.path(),
        "CREATE TABLE t (id INT);\n\
         COPY t FROM 's3://etl-bucket/nothing/here' CSV;\n\
         COPY t FROM 's3://no-such-bucket/x' CSV;\n",
    );
    assert_eq!(code, 0);
    assert!(
        err.contains("The specified S3 prefix 'nothing/here' does not exist"),
        "{err}"
    );
    assert!(
        err.contains("The specified S3 bucket 'no-such-bucket' does not exist"),
        "{err}"
    );
}

fn asl_aws(
    moto: &support::moto::Moto,
    dir: &std::path::Path,
    def: &str,
    input: &str,
) -> (String, String, i32) {
    std::fs::write(dir.join("m.json"), def).unwrap();
    let out = std::process::Command::new(support::bin())
        .current_dir(dir)
        .args(["asl", "exec", "m.json", "--s3", "aws", "--input", input])
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
#[ignore = "needs RSQLFLOW_TEST_MOTO set to a moto_server executable (pip install 'moto[server]'); .ci/run sets it"]
fn a_distributed_map_writes_and_reads_amazon_s3_through_the_aws_sdk() {
    let moto = support::moto::Moto::require();
    assert_eq!(moto.request("PUT", "/dmap-bucket"), 200, "create bucket");
    let dir = tempfile::tempdir().unwrap();
    // Items from the input, results exported by ResultWriter to S3.
    let (out, err, code) = asl_aws(
        &moto,
        dir.path(),
        r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "Label": "Write",
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "dmap-bucket", "Prefix": "results"}},
            "End": true}}}"#,
        r#"[{"n": 1}, {"n": 2}, {"n": 3}]"#,
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let manifest = v["ResultWriterDetails"]["Key"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(manifest.starts_with("results/") && manifest.ends_with("/manifest.json"));
    // The manifest read back from S3 by an ItemReader: its SUCCEEDED result file.
    let (out, err, code) = asl_aws(
        &moto,
        dir.path(),
        r#"{"StartAt": "M", "States": {"M": {"Type": "Map",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON", "ItemsPointer": "/ResultFiles/SUCCEEDED"},
                "Parameters": {"Bucket": "dmap-bucket", "Key.$": "$.key"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "End": true}}}"#,
        &serde_json::json!({"key": manifest}).to_string(),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let files = v.as_array().unwrap();
    assert_eq!(files.len(), 1, "{v}");
    assert!(
        files[0]["Key"]
            .as_str()
            .unwrap()
            .ends_with("/SUCCEEDED_0.json"),
        "{v}"
    );
}
