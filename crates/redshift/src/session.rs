//! [`Translating`]: a [`Backend`] that translates each Redshift statement before the wrapped
//! PostgreSQL session runs it, loads the compatibility prelude once per session, answers no-op
//! statements itself (with a one-time note), and can show every translation.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use rsql::{Backend, Completion, ConnectionLost, Notice, Outcome, SqlError};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::load::{load_errors_not_recorded, run_copy};
use crate::objects::ObjectStore;
use crate::prelude::PRELUDE;
use crate::translate::{Translation, translate};
use crate::unload::run_unload;

/// Severity used for `--explain-translation` lines.
pub const EXPLAIN_SEVERITY: &str = "TRANSLATION";

/// A translating wrapper around a PostgreSQL session.
pub struct Translating<B> {
    inner: B,
    store: Arc<dyn ObjectStore>,
    explain: bool,
    prelude_loaded: bool,
    noted: HashSet<String>,
    /// Load-error records waiting for the aborted transaction around a failed COPY to end.
    deferred_load_errors: Vec<String>,
}

impl<B: Backend> Translating<B> {
    /// Wraps a session; with `explain`, each statement's translation is reported as a notice.
    pub fn new(inner: B, store: Arc<dyn ObjectStore>, explain: bool) -> Self {
        Translating {
            inner,
            store,
            explain,
            prelude_loaded: false,
            noted: HashSet::new(),
            deferred_load_errors: Vec::new(),
        }
    }

    /// The wrapped session.
    pub fn into_inner(self) -> B {
        self.inner
    }

    async fn ensure_prelude(&mut self) -> Result<Vec<Notice>, ConnectionLost> {
        if self.prelude_loaded {
            return Ok(Vec::new());
        }
        self.prelude_loaded = true;
        let out = self.inner.execute(PRELUDE).await?;
        Ok(match out.result {
            Ok(_) => Vec::new(),
            Err(e) => vec![Notice {
                severity: "WARNING".into(),
                message: format!(
                    "the Redshift compatibility prelude failed to load: {}",
                    e.message
                ),
            }],
        })
    }

    /// Writes the load errors of COPYs that failed inside a transaction, now that it is over.
    async fn flush_load_errors(&mut self) -> Result<Vec<Notice>, ConnectionLost> {
        let mut notices = Vec::new();
        for sql in std::mem::take(&mut self.deferred_load_errors) {
            if let Err(e) = self.inner.execute(&sql).await?.result {
                notices.push(load_errors_not_recorded(&e.message));
            }
        }
        Ok(notices)
    }

    fn note_once(&mut self, construct: &str) -> Option<Notice> {
        self.noted.insert(construct.to_string()).then(|| Notice {
            severity: "INFO".into(),
            message: format!("{construct} is accepted and has no effect on the local engine"),
        })
    }
}

/// Whether a statement left the session outside any transaction block.
fn ends_transaction(outcome: &Outcome) -> bool {
    matches!(&outcome.result, Ok(c) if c.tag == "ROLLBACK" || c.tag == "COMMIT")
}

fn explain(before: &str, after: Option<&str>) -> Notice {
    Notice {
        severity: EXPLAIN_SEVERITY.into(),
        message: match after {
            None => format!("unchanged: {}", before.trim()),
            Some(a) => format!("{}\n  => {}", before.trim(), a.trim()),
        },
    }
}

#[async_trait]
impl<B: Backend> Backend for Translating<B> {
    async fn execute(&mut self, sql: &str) -> Result<Outcome, ConnectionLost> {
        let mut notices = self.ensure_prelude().await?;
        let translation = translate(sql);
        let mut outcome = match translation {
            Translation::Unchanged => {
                if self.explain {
                    notices.push(explain(sql, None));
                }
                self.inner.execute(sql).await?
            }
            Translation::Rewritten(text) => {
                if self.explain {
                    notices.push(explain(sql, Some(&text)));
                }
                self.inner.execute(&text).await?
            }
            Translation::CommitThen(text) => {
                if self.explain {
                    notices.push(explain(sql, Some(&format!("COMMIT; {}", text.trim()))));
                }
                // Redshift's TRUNCATE commits the open transaction; outside one, COMMIT only
                // warns, and that warning is not Redshift's, so it is dropped.
                let commit = self.inner.execute("COMMIT").await?;
                if let Err(e) = commit.result {
                    Outcome {
                        result: Err(e),
                        notices: Vec::new(),
                    }
                } else {
                    self.inner.execute(&text).await?
                }
            }
            Translation::NoOp { tag, construct } => {
                if self.explain {
                    notices.push(explain(sql, Some("(no-op)")));
                }
                notices.extend(self.note_once(&construct));
                Outcome {
                    result: Ok(Completion {
                        tag: tag.to_string(),
                        rows: None,
                    }),
                    notices: Vec::new(),
                }
            }
            Translation::Copy(spec) => {
                if self.explain {
                    notices.push(explain(
                        sql,
                        Some("(loaded from object storage by rsqlflow, then COPY ... FROM STDIN)"),
                    ));
                }
                let run = run_copy(&mut self.inner, &spec, self.store.clone()).await?;
                self.deferred_load_errors.extend(run.deferred);
                run.outcome
            }
            Translation::Unload(spec) => {
                if self.explain {
                    notices.push(explain(
                        sql,
                        Some("(query run, files written to object storage by rsqlflow)"),
                    ));
                }
                run_unload(&mut self.inner, &spec, self.store.clone()).await?
            }
            Translation::Invalid(message) => Outcome {
                result: Err(SqlError {
                    severity: "ERROR".into(),
                    sqlstate: "42601".into(),
                    message,
                    detail: None,
                    hint: None,
                }),
                notices: Vec::new(),
            },
            Translation::Unsupported { construct, reason } => Outcome {
                result: Err(SqlError {
                    severity: "ERROR".into(),
                    sqlstate: "0A000".into(),
                    message: format!("{construct} is not supported on the local engine: {reason}"),
                    detail: None,
                    hint: Some("run this statement against Amazon Redshift (--database)".into()),
                }),
                notices: Vec::new(),
            },
        };
        notices.append(&mut outcome.notices);
        if !self.deferred_load_errors.is_empty() && ends_transaction(&outcome) {
            notices.extend(self.flush_load_errors().await?);
        }
        outcome.notices = notices;
        Ok(outcome)
    }

    async fn copy_in(
        &mut self,
        sql: &str,
        data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        self.inner.copy_in(sql, data).await
    }

    async fn copy_out(
        &mut self,
        sql: &str,
        sink: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        self.inner.copy_out(sql, sink).await
    }
}
