//! The state machine rules over small definitions, JSONPath and JSONata: what a job passes,
//! where its Catch leads, its Retry and timeout, computed fields, bad text; each seeded defect
//! found at its line and its clean counterpart not reported. The job spec's rules here are a
//! stand-in contract (the framework's own are tested through the binary in tests/check_cli.rs).

use std::path::PathBuf;

use check::{Finding, JobContract, Options, Project, Severity, check_project};
use serde_json::Value;

/// A contract with one rule: `name` must be present.
struct Contract;

impl JobContract for Contract {
    fn check_spec(&self, job: &Value) -> Result<(), String> {
        match job.get("name") {
            Some(Value::String(_)) => Ok(()),
            _ => Err("job.name: missing".into()),
        }
    }

    fn retryable_errors(&self) -> &[&str] {
        &["Rsqlflow.InfrastructureError", "Lambda.ServiceException"]
    }
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etl/tpch")).unwrap();
        std::fs::write(
            dir.path().join("etl/tpch/load.rsql"),
            "\\set ON_ERROR_STOP on\nCOPY t FROM :'data_uri' IAM_ROLE default;\n",
        )
        .unwrap();
        Fixture { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Checks `targets` in a project whose machines are `machines`.
    fn check(&self, machines: &[PathBuf], targets: &[PathBuf]) -> Vec<Finding> {
        let project = Project {
            machines: machines.to_vec(),
            scripts_root: Some(self.path("etl")),
            template: None,
            contract: Some(&Contract),
        };
        check_project(targets, &project, &Options::default())
            .unwrap()
            .findings
    }
}

fn codes(findings: &[Finding]) -> Vec<(&str, usize, Severity)> {
    findings
        .iter()
        .map(|f| (f.rule.code(), f.line, f.severity))
        .collect()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

const RETRY: &str = r#""Retry": [{"ErrorEquals": ["Rsqlflow.InfrastructureError", "Lambda.ServiceException"], "MaxAttempts": 2}]"#;

fn jsonpath_task(job: &str, extra: &str) -> String {
    format!(
        r#"{{
  "StartAt": "Load",
  "States": {{
    "Load": {{
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Parameters": {{
        "FunctionName": "submit",
        "Payload": {{
          "job": {job},
          "taskToken.$": "$$.Task.Token"
        }}
      }},
      "TimeoutSeconds": 900,
      {extra}
    }},
    "Failed": {{"Type": "Fail", "Error": "X"}},
    "Quiet": {{"Type": "Pass", "Next": "Done"}},
    "Done": {{"Type": "Succeed"}}
  }}
}}
"#
    )
}

#[test]
fn a_clean_jsonpath_job_passes_its_variables_to_its_script() {
    let fx = Fixture::new();
    let text = jsonpath_task(
        r#"{"name": "load", "script": "tpch/load.rsql", "timeoutSeconds": 600, "variables": {"data_uri.$": "$.uri"}}"#,
        &format!(
            r#"{RETRY}, "Catch": [{{"ErrorEquals": ["States.ALL"], "Next": "Failed"}}], "End": true"#
        ),
    );
    // "Quiet" and "Done" are unreachable: use a definition where they are reached.
    let text = text.replace(
        r#""Failed": {"Type": "Fail", "Error": "X"},"#,
        r#""Failed": {"Type": "Fail", "Error": "X"}"#,
    );
    let text = text.replace(
        "    \"Quiet\": {\"Type\": \"Pass\", \"Next\": \"Done\"},\n    \"Done\": {\"Type\": \"Succeed\"}\n",
        "",
    );
    let m = fx.write("m.asl.json", &text);
    let script = fx.path("etl/tpch/load.rsql");
    let findings = fx.check(std::slice::from_ref(&m), &[m.clone(), script]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn seeded_jsonpath_defects() {
    let fx = Fixture::new();
    let text = jsonpath_task(
        r#"{"script": "tpch/lod.rsql", "timeoutSeconds": 900, "variables": {"other": "x"}}"#,
        r#""Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Quiet"}], "Next": "Failed""#,
    );
    let m = fx.write("m.asl.json", &text);
    let findings = fx.check(std::slice::from_ref(&m), std::slice::from_ref(&m));
    let got = codes(&findings);
    let job_line = line_of(&text, "\"job\"");
    assert!(
        got.contains(&("invalid-job-spec", job_line, Severity::Error)),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            "missing-script",
            line_of(&text, "\"script\""),
            Severity::Error
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            "job-timeout",
            line_of(&text, "\"timeoutSeconds\""),
            Severity::Error
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            "retry-coverage",
            line_of(&text, "\"Load\": {"),
            Severity::Warning
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            "catch-swallows-failure",
            line_of(&text, "\"Catch\""),
            Severity::Warning
        )),
        "{got:?}"
    );
    let suggestion = findings
        .iter()
        .find(|f| f.rule.code() == "missing-script")
        .and_then(|f| f.help.clone());
    assert_eq!(suggestion.as_deref(), Some("did you mean tpch/load.rsql?"));
}

#[test]
fn a_catch_that_notifies_or_fails_is_not_reported() {
    let fx = Fixture::new();
    let text = r#"{
  "StartAt": "Load",
  "States": {
    "Load": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Parameters": {"FunctionName": "f", "Payload": {"job": {"name": "a", "script": "tpch/load.rsql", "variables": {"data_uri": "s3://b/k"}}}},
      "TimeoutSeconds": 900,
      "Retry": [{"ErrorEquals": ["States.ALL"]}],
      "Catch": [
        {"ErrorEquals": ["Rsqlflow.ScriptFailed"], "Next": "Tell"},
        {"ErrorEquals": ["States.ALL"], "Next": "Decide"}
      ],
      "End": true
    },
    "Tell": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Parameters": {"TopicArn": "t", "Message": "m"}, "End": true},
    "Decide": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "Tell"}], "Default": "Stop"},
    "Stop": {"Type": "Fail"}
  }
}
"#;
    let m = fx.write("m.asl.json", text);
    let findings = fx.check(std::slice::from_ref(&m), std::slice::from_ref(&m));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn jsonata_jobs_and_computed_fields() {
    let fx = Fixture::new();
    let text = r#"{
  "QueryLanguage": "JSONata",
  "StartAt": "Load",
  "States": {
    "Load": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
      "Arguments": {
        "FunctionName": "f",
        "Payload": {
          "job": {
            "name": "load",
            "script": "tpch/load.rsql",
            "timeoutSeconds": "{% $states.input.timeout %}",
            "variables": {"data_uri": "{% $states.input.uri %}", "unused": "x"}
          },
          "taskToken": "{% $states.context.Task.Token %}"
        }
      },
      "Retry": [{"ErrorEquals": ["States.TaskFailed"]}],
      "Next": "Each"
    },
    "Each": {
      "Type": "Map",
      "Items": "{% $states.input.files %}",
      "ItemProcessor": {
        "StartAt": "LoadOne",
        "States": {
          "LoadOne": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Arguments": {"FunctionName": "f", "Payload": {"job": {"name": "one", "script": "{% $states.input.script %}"}}},
            "TimeoutSeconds": 100,
            "Retry": [{"ErrorEquals": ["States.ALL"]}],
            "End": true
          }
        }
      },
      "End": true
    }
  }
}
"#;
    let m = fx.write("m.asl.json", text);
    let script = fx.path("etl/tpch/load.rsql");
    let findings = fx.check(std::slice::from_ref(&m), &[m.clone(), script]);
    let got = codes(&findings);
    // No TimeoutSeconds on the first Task (a warning), its computed timeout (a note), the
    // unused variable at the job, and the computed script of the Map's Task (a note).
    assert!(
        got.contains(&(
            "job-timeout",
            line_of(text, "\"Load\": {"),
            Severity::Warning
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            "computed-job-field",
            line_of(text, "\"timeoutSeconds\""),
            Severity::Note
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            "unused-variable",
            line_of(text, "\"unused\""),
            Severity::Warning
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            "computed-job-field",
            line_of(text, "$states.input.script"),
            Severity::Note
        )),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|(_, _, s)| *s == Severity::Error),
        "{got:?}"
    );
}

#[test]
fn bad_definitions_are_findings_not_failures() {
    let fx = Fixture::new();
    let broken = fx.write(
        "broken.asl.json",
        "{\n  \"StartAt\": \"A\",\n  \"States\": {\n",
    );
    let invalid = fx.write(
        "invalid.asl.json",
        "{\n  \"StartAt\": \"A\",\n  \"States\": {\n    \"A\": {\"Type\": \"Pass\", \"Next\": \"B\"}\n  }\n}\n",
    );
    let findings = fx.check(&[], &[broken, invalid]);
    let got = codes(&findings);
    assert!(
        got.iter()
            .filter(|(c, _, s)| *c == "invalid-state-machine" && *s == Severity::Error)
            .count()
            >= 2,
        "{got:?}"
    );
    // The missing target at its Next (line 4), and no end at States (line 3).
    let mut lines: Vec<usize> = findings
        .iter()
        .filter(|f| f.file.ends_with("invalid.asl.json"))
        .map(|f| f.line)
        .collect();
    lines.sort();
    assert_eq!(lines, vec![3, 4], "{findings:#?}");
}

#[test]
fn a_variable_only_some_jobs_pass_is_an_error_naming_the_job() {
    let fx = Fixture::new();
    let job = |vars: &str| {
        jsonpath_task(
            &format!(r#"{{"name": "load", "script": "tpch/load.rsql", "timeoutSeconds": 600, "variables": {vars}}}"#),
            &format!(r#"{RETRY}, "End": true"#),
        )
        .replace(
            "    \"Failed\": {\"Type\": \"Fail\", \"Error\": \"X\"},\n    \"Quiet\": {\"Type\": \"Pass\", \"Next\": \"Done\"},\n    \"Done\": {\"Type\": \"Succeed\"}\n",
            "",
        )
        .replace("\"End\": true\n    },", "\"End\": true\n    }")
    };
    let a = fx.write("a.asl.json", &job(r#"{"data_uri": "s3://b/k"}"#));
    let b = fx.write("b.asl.json", &job("{}"));
    let script = fx.path("etl/tpch/load.rsql");
    let findings = fx.check(&[a, b], std::slice::from_ref(&script));
    let f = findings
        .iter()
        .find(|f| f.rule.code() == "undefined-variable")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!((f.line, f.severity), (2, Severity::Error));
    assert!(f.message.contains("b.asl.json"), "{}", f.message);
}

#[test]
fn any_text_as_a_definition_is_checked_without_panic() {
    use proptest::prelude::*;
    let fx = Fixture::new();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    runner
        .run(&"[{}\\[\\]\",:a-zA-Z0-9 .$%\\n]{0,300}", |text| {
            let m = fx.write("p.asl.json", &text);
            let _ = fx.check(std::slice::from_ref(&m), std::slice::from_ref(&m));
            Ok(())
        })
        .unwrap();
    // Nested Parallel states far deeper than the walk goes.
    let mut def = String::from(r#"{"StartAt":"P","States":{"P":"#);
    for _ in 0..60 {
        def.push_str(r#"{"Type":"Parallel","End":true,"Branches":[{"StartAt":"P","States":{"P":"#);
    }
    def.push_str(r#"{"Type":"Pass","End":true}"#);
    for _ in 0..60 {
        def.push_str("}}]}");
    }
    def.push_str("}}");
    let m = fx.write("deep.asl.json", &def);
    let _ = fx.check(std::slice::from_ref(&m), std::slice::from_ref(&m));
}
