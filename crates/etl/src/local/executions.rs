//! Local execution records: `.rsqlflow/executions/<name>.json` says each execution's true
//! status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED), rewritten atomically at every
//! transition. A running execution holds an exclusive lock on `<name>.lock` for as long as its
//! process lives, so a RUNNING record whose lock is free belongs to a process that died: the
//! next command finds it and ends it as ABORTED, as Step Functions records a stopped execution.
//!
//! Names follow StartExecution's rules (1 to 80 characters; no white space, brackets, wildcard
//! or special characters, control characters:
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>),
//! and a name is used once, as StartExecution refuses a name used in the last 90 days.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// StartExecution's limit on the length of a name.
pub const MAX_NAME_CHARS: usize = 80;

/// An execution's status, as DescribeExecution reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    #[default]
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    /// AWS's string.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }

    /// Whether a redrive may restart it: FAILED, TIMED_OUT or ABORTED
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/redrive-executions.html>).
    pub fn is_redrivable(self) -> bool {
        matches!(
            self,
            ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted
        )
    }
}

impl From<asl::Status> for ExecutionStatus {
    fn from(s: asl::Status) -> Self {
        match s {
            asl::Status::Succeeded => ExecutionStatus::Succeeded,
            asl::Status::Failed => ExecutionStatus::Failed,
            asl::Status::TimedOut => ExecutionStatus::TimedOut,
            asl::Status::Aborted => ExecutionStatus::Aborted,
        }
    }
}

/// What `<name>.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRecord {
    pub execution_arn: String,
    pub name: String,
    #[serde(default)]
    pub state_machine_arn: String,
    /// The definition file the execution runs (a redrive runs the same one).
    #[serde(default)]
    pub definition: Option<PathBuf>,
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub status: ExecutionStatus,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub start_date: i64,
    #[serde(default)]
    pub stop_date: Option<i64>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub cause: Option<String>,
    #[serde(default)]
    pub redrive_count: u32,
    #[serde(default)]
    pub redrive_date: Option<i64>,
    /// The process that runs (or ran) it.
    #[serde(default)]
    pub pid: u32,
    /// What a redrive resumes from (the executor's checkpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Value>,
}

impl ExecutionRecord {
    /// A new RUNNING record owned by this process.
    pub fn new(execution_arn: &str, name: &str, state_machine_arn: &str, input: Value) -> Self {
        ExecutionRecord {
            execution_arn: execution_arn.into(),
            name: name.into(),
            state_machine_arn: state_machine_arn.into(),
            definition: None,
            input,
            status: ExecutionStatus::Running,
            start_date: chrono::Utc::now().timestamp_millis(),
            stop_date: None,
            error: None,
            cause: None,
            redrive_count: 0,
            redrive_date: None,
            pid: std::process::id(),
            checkpoint: None,
        }
    }
}

/// Why an execution record could not be claimed, read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("invalid execution name {name:?}: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("execution {name} exists already ({status}); names are used once, as in Step Functions{hint}", status = .record.status.as_str(), name = .record.name, hint = if .record.status.is_redrivable() { format!(": `rsqlflow redrive {}` restarts it", .record.name) } else { String::new() })]
    Exists { record: Box<ExecutionRecord> },
    #[error("execution {0} is running in another process")]
    Busy(String),
    #[error("no execution named {0}")]
    NotFound(String),
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
}

/// Checks a name against StartExecution's rules.
pub fn validate_name(name: &str) -> Result<(), RecordError> {
    let bad = |reason: String| RecordError::InvalidName {
        name: name.chars().take(100).collect(),
        reason,
    };
    let n = name.chars().count();
    if n == 0 {
        return Err(bad("it is empty".into()));
    }
    if n > MAX_NAME_CHARS {
        return Err(bad(format!(
            "{n} characters, at most {MAX_NAME_CHARS} are allowed"
        )));
    }
    for c in name.chars() {
        let why = if c.is_whitespace() {
            Some("white space")
        } else if "<>{}[]".contains(c) {
            Some("a bracket")
        } else if "?*".contains(c) {
            Some("a wildcard character")
        } else if "\"#%\\^|~`$&,;:/".contains(c) {
            Some("a special character")
        } else if c.is_control() || ('\u{7f}'..='\u{9f}').contains(&c) {
            Some("a control character")
        } else if matches!(c, '\u{fffe}' | '\u{ffff}') {
            Some("an invalid character")
        } else {
            None
        };
        if let Some(why) = why {
            return Err(bad(format!(
                "{c:?} is {why}; a name must not contain white space, brackets < > {{ }} [ ], \
                 wildcards ? *, special characters \" # % \\ ^ | ~ ` $ & , ; : / or control \
                 characters"
            )));
        }
    }
    if name == "." || name == ".." {
        return Err(bad("it names a directory".into()));
    }
    Ok(())
}

/// The directory of execution records.
#[derive(Debug, Clone)]
pub struct ExecutionStore {
    dir: PathBuf,
}

/// A claimed execution: its lock is held until this is dropped.
#[derive(Debug)]
pub struct Claim {
    store: ExecutionStore,
    record: ExecutionRecord,
    _lock: File,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> RecordError + '_ {
    move |e| RecordError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl ExecutionStore {
    pub fn new(dir: impl Into<PathBuf>) -> ExecutionStore {
        ExecutionStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The record file of a (valid) name.
    pub fn record_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// The history file of a (valid) name.
    pub fn history_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.history.json"))
    }

    fn lock_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.lock"))
    }

    fn lock(&self, name: &str) -> Result<Option<File>, RecordError> {
        std::fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let path = self.lock_path(name);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        match f.try_lock() {
            Ok(()) => Ok(Some(f)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
        }
    }

    /// Reads a record.
    pub fn read(&self, name: &str) -> Result<ExecutionRecord, RecordError> {
        validate_name(name)?;
        let path = self.record_path(name);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RecordError::NotFound(name.into()));
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        let record: ExecutionRecord =
            serde_json::from_slice(&text).map_err(|e| RecordError::Io {
                path: path.clone(),
                message: format!("not an execution record: {e}"),
            })?;
        // The name locates the history, lock and report beside the record: one naming
        // another execution (`"name": "../../x"`) would lead out of the directory.
        if record.name != name {
            return Err(RecordError::Io {
                path,
                message: format!(
                    "the record names the execution {:?}, not {name:?}",
                    record.name.chars().take(100).collect::<String>()
                ),
            });
        }
        Ok(record)
    }

    /// Takes a new name: validates it, refuses one that exists, and writes the RUNNING record.
    pub fn claim(&self, record: ExecutionRecord) -> Result<Claim, RecordError> {
        validate_name(&record.name)?;
        let Some(lock) = self.lock(&record.name)? else {
            return Err(RecordError::Busy(record.name));
        };
        match self.read(&record.name) {
            Ok(existing) => {
                return Err(RecordError::Exists {
                    record: Box::new(existing),
                });
            }
            Err(RecordError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let claim = Claim {
            store: self.clone(),
            record,
            _lock: lock,
        };
        claim.save()?;
        Ok(claim)
    }

    /// Takes an existing, unsuccessful execution back for a redrive (its lock, RUNNING again).
    pub fn reclaim(&self, name: &str) -> Result<Claim, RecordError> {
        validate_name(name)?;
        let Some(lock) = self.lock(name)? else {
            return Err(RecordError::Busy(name.into()));
        };
        let record = self.read(name)?;
        Ok(Claim {
            store: self.clone(),
            record,
            _lock: lock,
        })
    }

    /// Every record, newest start first (unreadable files are skipped).
    pub fn list(&self) -> Vec<ExecutionRecord> {
        let mut out: Vec<ExecutionRecord> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.strip_suffix(".json")?.to_string();
                // A history, a Distributed Map's child executions, or what `rsqlflow report`
                // keeps of a run (its jobs and notification), beside a record.
                if name.ends_with(".history")
                    || name.ends_with(".children")
                    || name.ends_with(".report")
                {
                    return None;
                }
                self.read(&name).ok()
            })
            .collect();
        out.sort_by_key(|r| std::cmp::Reverse(r.start_date));
        out
    }

    /// Finds RUNNING records whose process is gone and ends them as ABORTED. Returns them (now
    /// ABORTED) for the caller to notify.
    pub fn recover_abandoned(&self) -> Vec<ExecutionRecord> {
        let mut ended = Vec::new();
        for r in self.list() {
            if r.status != ExecutionStatus::Running {
                continue;
            }
            let Ok(Some(lock)) = self.lock(&r.name) else {
                continue;
            };
            // Re-read under the lock: the owner may have finished meanwhile.
            let Ok(record) = self.read(&r.name) else {
                continue;
            };
            if record.status != ExecutionStatus::Running {
                continue;
            }
            let mut claim = Claim {
                store: self.clone(),
                record,
                _lock: lock,
            };
            let pid = claim.record.pid;
            let ok = claim
                .finish(
                    ExecutionStatus::Aborted,
                    Some("rsqlflow.ProcessEnded".into()),
                    Some(format!(
                        "the rsqlflow process that ran this execution (pid {pid}) ended before \
                         the execution did"
                    )),
                )
                .is_ok();
            if ok {
                ended.push(claim.record.clone());
            }
        }
        ended
    }
}

impl Claim {
    pub fn record(&self) -> &ExecutionRecord {
        &self.record
    }

    pub fn store(&self) -> &ExecutionStore {
        &self.store
    }

    /// Rewrites the record (atomically).
    pub fn save(&self) -> Result<(), RecordError> {
        let path = self.store.record_path(&self.record.name);
        let bytes = serde_json::to_vec_pretty(&self.record).unwrap_or_default();
        // Whole or not at all: a locked, uniquely named temporary file, synced, renamed.
        objects::write_whole(&path, &bytes).map_err(io_err(&path))
    }

    /// Changes the record and saves it.
    pub fn update(&mut self, f: impl FnOnce(&mut ExecutionRecord)) -> Result<(), RecordError> {
        f(&mut self.record);
        self.save()
    }

    /// Removes the record of an execution that never started (its definition could not be
    /// loaded, its run could not be prepared), so that the name can be used again.
    pub fn discard(self) -> Result<(), RecordError> {
        let path = self.store.record_path(&self.record.name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Ends the execution with `status`.
    pub fn finish(
        &mut self,
        status: ExecutionStatus,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), RecordError> {
        self.update(|r| {
            r.status = status;
            r.stop_date = Some(chrono::Utc::now().timestamp_millis());
            r.error = error;
            r.cause = cause;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str) -> ExecutionRecord {
        ExecutionRecord::new(
            &format!("arn:aws:states:us-east-1:123456789012:execution:sm:{name}"),
            name,
            "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
            serde_json::json!({"a": 1}),
        )
    }

    #[test]
    fn names_follow_start_execution() {
        for ok in ["run-1", "x", "a.b_c-D", &"n".repeat(80), "é-ünïcode"] {
            validate_name(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "",
            "../../../outside/pwned",
            "bad name:chars*?",
            "a/b",
            "tab\there",
            "nul\0",
            "a\u{85}b",
            "{x}",
            "..",
            &"n".repeat(81),
            &"n".repeat(250),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_name_is_used_once_and_a_dead_owner_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = ExecutionStore::new(dir.path());
        let mut claim = store.claim(rec("one")).unwrap();
        // Held: another claim is refused as busy.
        assert!(matches!(store.claim(rec("one")), Err(RecordError::Busy(_))));
        // While the owner lives, recovery leaves it alone.
        assert!(store.recover_abandoned().is_empty());
        claim
            .finish(ExecutionStatus::Failed, Some("E".into()), None)
            .unwrap();
        drop(claim);
        let e = store.claim(rec("one")).unwrap_err();
        assert!(e.to_string().contains("rsqlflow redrive one"), "{e}");
        // A RUNNING record whose lock nobody holds: its process died.
        let claim = store.claim(rec("two")).unwrap();
        drop(claim);
        let ended = store.recover_abandoned();
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].status, ExecutionStatus::Aborted);
        assert_eq!(store.read("two").unwrap().status, ExecutionStatus::Aborted);
        // No temporary files are left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn old_records_without_status_read_as_running() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("old.json"),
            r#"{"executionArn":"arn:x","name":"old","input":{}}"#,
        )
        .unwrap();
        let store = ExecutionStore::new(dir.path());
        assert_eq!(store.read("old").unwrap().status, ExecutionStatus::Running);
        assert_eq!(store.recover_abandoned().len(), 1);
    }
}
