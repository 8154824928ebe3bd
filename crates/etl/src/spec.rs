//! Job specs: what a Task state asks submit-job to run, and its validation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::contract::script::valid_script_key;
use crate::contract::{check_variable, sanitize};
use crate::error::{ErrorKind, JobError};

/// One RSQL job, as written in the state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobSpec {
    /// A short name for the job (letters, digits, `-`, `_`).
    pub name: String,
    /// The script: `s3://bucket/key`, or a key in the scripts bucket.
    pub script: String,
    /// RSQL variables, passed as `-v NAME=VALUE`.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Job timeout in seconds (Batch attemptDurationSeconds; at least 60).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
    /// vCPU override.
    #[serde(default)]
    pub vcpus: Option<f64>,
    /// Memory override in MiB.
    #[serde(default)]
    pub memory_mib: Option<u64>,
}

/// submit-job's input: the spec plus what Step Functions adds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitRequest {
    pub job: JobSpec,
    pub task_token: String,
    pub execution_arn: String,
    #[serde(default)]
    pub state_name: Option<String>,
    /// `$$.Execution.RedriveCount`: "the number of times you've redriven an execution. If you
    /// have not yet redriven an execution, the redriveCount is 0"
    /// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ExecutionRedrivenEventDetails.html;
    /// the context object carries it:
    /// https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html).
    /// Absent: 0.
    #[serde(default)]
    pub redrive_count: u32,
}

fn invalid(field: &str, msg: impl std::fmt::Display) -> JobError {
    JobError::new(ErrorKind::InvalidJobSpec, format!("job.{field}: {msg}"))
}

/// A script location, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptLocation {
    pub bucket: String,
    pub key: String,
}

impl ScriptLocation {
    /// `s3://bucket/key`.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

impl JobSpec {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), JobError> {
        if self.name.is_empty() || self.name.len() > 64 {
            return Err(invalid("name", "must be 1 to 64 characters"));
        }
        if !self
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "name",
                format!(
                    "\"{}\" may only hold letters, digits, '-' and '_'",
                    self.name
                ),
            ));
        }
        if self.script.trim().is_empty() {
            return Err(invalid("script", "must name a script"));
        }
        for (k, v) in &self.variables {
            check_variable(k, v).map_err(|e| invalid(&format!("variables.{k}"), e.problem))?;
        }
        if let Some(t) = self.timeout_seconds
            && t < 60
        {
            return Err(invalid(
                "timeoutSeconds",
                "must be at least 60 (AWS Batch's minimum)",
            ));
        }
        if let Some(v) = self.vcpus
            && !(v > 0.0 && v <= 16.0)
        {
            return Err(invalid("vcpus", "must be greater than 0 and at most 16"));
        }
        if let Some(m) = self.memory_mib
            && !(512..=122_880).contains(&m)
        {
            return Err(invalid("memoryMib", "must be from 512 to 122880"));
        }
        Ok(())
    }

    /// Where the script lives: an `s3://` URI, or a key in `scripts_bucket`. The key must
    /// name an object, not a folder (as the container requires).
    pub fn script_location(&self, scripts_bucket: &str) -> Result<ScriptLocation, JobError> {
        if let Some(rest) = self.script.strip_prefix("s3://") {
            let (bucket, key) = rest
                .split_once('/')
                .filter(|(b, k)| !b.is_empty() && valid_script_key(k))
                .ok_or_else(|| {
                    invalid(
                        "script",
                        format!("'{}' is not s3://bucket/key", self.script),
                    )
                })?;
            Ok(ScriptLocation {
                bucket: bucket.into(),
                key: key.into(),
            })
        } else {
            let key = self.script.trim_start_matches('/');
            if !valid_script_key(key) {
                return Err(invalid(
                    "script",
                    format!("'{}' names a folder, not a script", self.script),
                ));
            }
            Ok(ScriptLocation {
                bucket: scripts_bucket.into(),
                key: key.into(),
            })
        }
    }
}

/// A job spec given as JSON (the `job` of submit-job's payload), checked as submit-job checks
/// it: its fields and types (no unknown field), each field's rules, and that the script names
/// an object. `rsqlflow check` runs this on the literal specs of the state machines.
pub fn check_json(job: &serde_json::Value) -> Result<JobSpec, JobError> {
    let spec: JobSpec = serde_json::from_value(job.clone()).map_err(|e| {
        JobError::new(
            ErrorKind::InvalidJobSpec,
            format!("the job spec does not parse: {e}"),
        )
    })?;
    spec.validate()?;
    spec.script_location("scripts")?;
    Ok(spec)
}

/// A Batch job name from the execution and state names: legal characters only, at most 128,
/// and unique per execution and attempt.
pub fn batch_job_name(execution_arn: &str, state_name: &str, job: &str, nonce: &str) -> String {
    let exec = execution_arn.rsplit(':').next().unwrap_or(execution_arn);
    let mut name = format!(
        "{}-{}-{}",
        sanitize(job),
        sanitize(state_name),
        sanitize(exec)
    );
    name.truncate(128 - nonce.len() - 1);
    format!("{name}-{nonce}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> JobSpec {
        JobSpec {
            name: "load_customer".into(),
            script: "etl/load.rsql".into(),
            variables: [("run_date".to_string(), "2024-01-01".to_string())].into(),
            timeout_seconds: Some(600),
            vcpus: None,
            memory_mib: None,
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert!(spec().validate().is_ok());
        let mut s = spec();
        s.name = "bad name".into();
        assert!(s.validate().unwrap_err().cause.starts_with("job.name:"));
        let mut s = spec();
        s.variables.insert("x-y".into(), "v".into());
        assert!(
            s.validate()
                .unwrap_err()
                .cause
                .starts_with("job.variables.x-y:")
        );
        let mut s = spec();
        s.variables.insert("x".into(), "a\nb".into());
        assert!(s.validate().unwrap_err().cause.contains("line breaks"));
        let mut s = spec();
        s.variables.insert("x".into(), "v".repeat(4097));
        assert_eq!(
            s.validate().unwrap_err().cause,
            "job.variables.x: is longer than 4096 bytes"
        );
        let mut s = spec();
        s.timeout_seconds = Some(5);
        assert!(
            s.validate()
                .unwrap_err()
                .cause
                .starts_with("job.timeoutSeconds")
        );
    }

    #[test]
    fn script_locations_and_job_names() {
        let s = spec();
        assert_eq!(
            s.script_location("scripts").unwrap().uri(),
            "s3://scripts/etl/load.rsql"
        );
        let mut s = spec();
        s.script = "s3://other/x.rsql".into();
        assert_eq!(s.script_location("scripts").unwrap().bucket, "other");
        s.script = "s3://nokey".into();
        assert!(s.script_location("scripts").is_err());
        for folder in ["s3://other/dir/", "dir/", "/"] {
            s.script = folder.into();
            let e = s.script_location("scripts").unwrap_err();
            assert!(e.cause.starts_with("job.script:"), "{folder}: {e}");
        }
        let n = batch_job_name(
            "arn:aws:states:us-east-1:1:execution:sm:run 1",
            "Load Customer",
            "load",
            "a1b2",
        );
        assert_eq!(n, "load-Load-Customer-run-1-a1b2");
        let long = batch_job_name("x", &"s".repeat(300), "j", "n");
        assert!(long.len() <= 128);
    }
}
