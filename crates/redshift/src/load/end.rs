//! How a load ends: why its producer stopped early ([`Stop`]), what it produced ([`Produced`]),
//! and the statement's result users see ("Load into table ... completed" or "... failed").

use rsql::{Completion, Notice, SqlError};

use super::load_errors::LoadError;

/// Why the producer stopped before the end of its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stop {
    /// More rows were rejected than MAXERROR allows: the load fails.
    TooManyErrors,
    /// The load fails with this message: an input file could not be read, decompressed or
    /// parsed (or the producer itself failed).
    Failed(String),
    /// The COPY stopped reading (the server ended it): nothing more is sent, and the COPY's
    /// own result stands.
    Closed,
}

impl std::fmt::Display for Stop {
    /// The reason the COPY is aborted with (CopyFail).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::TooManyErrors => f.write_str("too many load errors"),
            Stop::Failed(msg) => f.write_str(msg),
            Stop::Closed => f.write_str("the COPY ended"),
        }
    }
}

/// Rows loaded and rejected.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Rows sent to the table.
    pub loaded: u64,
    /// Rows rejected, in input order.
    pub rejected: Vec<LoadError>,
}

/// What the producer left: the tally, and why it stopped early if it did.
#[derive(Debug, Default)]
pub(super) struct Produced {
    /// Rows loaded and rejected.
    pub tally: Tally,
    /// `None` when it read all its input.
    pub stop: Option<Stop>,
}

/// The statement's result, from the COPY's result and what the producer left; a load that
/// completes adds its INFO notice to `notices`.
pub(super) fn result(
    table_name: &str,
    copied: Result<Completion, SqlError>,
    produced: &Produced,
    notices: &mut Vec<Notice>,
) -> Result<Completion, SqlError> {
    let Tally { loaded, rejected } = &produced.tally;
    match (&produced.stop, copied) {
        (Some(Stop::TooManyErrors), _) => Err(SqlError {
            severity: "ERROR".into(),
            sqlstate: "XX000".into(),
            message: format!(
                "Load into table '{table_name}' failed.  Check 'stl_load_errors' system table for details."
            ),
            detail: rejected.first().map(|e| {
                format!(
                    "error: {} (code {}), file {}, line {}, column {}, value '{}'",
                    e.reason, e.code, e.file, e.line, e.column, e.raw_value
                )
            }),
            hint: None,
        }),
        (Some(Stop::Failed(msg)), _) => Err(SqlError {
            severity: "ERROR".into(),
            sqlstate: "XX000".into(),
            message: msg.clone(),
            detail: None,
            hint: None,
        }),
        (None | Some(Stop::Closed), Err(e)) => Err(e),
        (None | Some(Stop::Closed), Ok(_)) => {
            let message = if rejected.is_empty() {
                format!(
                    "Load into table '{table_name}' completed, {loaded} record(s) loaded successfully."
                )
            } else {
                format!(
                    "Load into table '{table_name}' completed, {loaded} record(s) loaded successfully, {} record(s) could not be loaded.  Check 'stl_load_errors' system table for details.",
                    rejected.len()
                )
            };
            notices.push(Notice {
                severity: "INFO".into(),
                message,
            });
            Ok(Completion {
                tag: format!("COPY {loaded}"),
                rows: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn produced(loaded: u64, rejected: usize, stop: Option<Stop>) -> Produced {
        let e = LoadError::record("s3://bkt/f", 2, "x", 1214, "Delimiter not found".into());
        Produced {
            tally: Tally {
                loaded,
                rejected: vec![e; rejected],
            },
            stop,
        }
    }

    fn copied() -> Result<Completion, SqlError> {
        Ok(Completion {
            tag: "COPY 3".into(),
            rows: None,
        })
    }

    #[test]
    fn too_many_errors_fail_the_load() {
        let mut notices = Vec::new();
        let p = produced(3, 2, Some(Stop::TooManyErrors));
        let e = result("t", copied(), &p, &mut notices).unwrap_err();
        assert_eq!(
            e.message,
            "Load into table 't' failed.  Check 'stl_load_errors' system table for details."
        );
        assert_eq!(
            e.detail.as_deref(),
            Some(
                "error: Delimiter not found (code 1214), file s3://bkt/f, line 2, column , value ''"
            )
        );
        assert!(notices.is_empty());
        let p = produced(0, 0, Some(Stop::Failed("s3://bkt/f: bad".into())));
        let e = result("t", copied(), &p, &mut notices).unwrap_err();
        assert_eq!(
            (e.sqlstate.as_str(), e.message.as_str()),
            ("XX000", "s3://bkt/f: bad")
        );
    }

    #[test]
    fn a_completed_load_counts_its_rows() {
        let mut notices = Vec::new();
        let done = result("t", copied(), &produced(3, 0, None), &mut notices).unwrap();
        assert_eq!(done.tag, "COPY 3");
        let closed = produced(3, 1, Some(Stop::Closed));
        result("t", copied(), &closed, &mut notices).unwrap();
        let messages: Vec<_> = notices.iter().map(|n| n.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "Load into table 't' completed, 3 record(s) loaded successfully.",
                "Load into table 't' completed, 3 record(s) loaded successfully, 1 record(s) could not be loaded.  Check 'stl_load_errors' system table for details."
            ]
        );
    }
}
