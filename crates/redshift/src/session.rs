//! [`Translating`]: a [`Backend`] that translates each Redshift statement before the wrapped
//! PostgreSQL session runs it, loads the compatibility prelude once per session, answers no-op
//! statements itself (with a one-time note), and can show every translation.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use rsql::{Backend, Completion, ConnectionLost, Notice, Outcome, SqlError};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::load::{load_errors_not_recorded, run_copy};
use crate::prelude::{SETTINGS, install_sql};
use crate::system::{FunctionSchema, SessionFacts, storage, unavailable, views};
use crate::translate::{Translation, translate_with};
use crate::unload::run_unload;
use objects::ObjectStore;

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
    /// What the `pg_last_*` functions answer.
    facts: SessionFacts,
    /// The facts when the open transaction block began: a ROLLBACK restores them ("If the
    /// COPY transaction is rolled back, the COPY ID is not updated", PG_LAST_COPY_ID).
    facts_at_begin: Option<SessionFacts>,
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
            facts: SessionFacts::default(),
            facts_at_begin: None,
        }
    }

    /// What the `pg_last_*` functions answer now.
    pub fn facts(&self) -> SessionFacts {
        self.facts
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
        let mut notices = Vec::new();
        if let Err(shared) = self
            .inner
            .execute(&install_sql(FunctionSchema::Shared))
            .await?
            .result
        {
            self.facts.functions = FunctionSchema::Session;
            notices.push(Notice {
                severity: "NOTICE".into(),
                message: format!(
                    "the Redshift compatibility functions are temporary in this session (schema {} could not be set up: {}); views that call them last only as long as the session",
                    crate::system::SYSTEM_SCHEMA,
                    shared.message
                ),
            });
            if let Err(e) = self
                .inner
                .execute(&install_sql(FunctionSchema::Session))
                .await?
                .result
            {
                notices.push(Notice {
                    severity: "WARNING".into(),
                    message: format!(
                        "the Redshift compatibility functions failed to load: {}",
                        e.message
                    ),
                });
            }
        }
        // The system views are a separate round trip so that a failure there leaves the
        // functions in place.
        let setup = format!("{SETTINGS};\n{}", views::VIEWS);
        if let Err(e) = self.inner.execute(&setup).await?.result {
            notices.push(Notice {
                severity: "WARNING".into(),
                message: format!("the Redshift system views failed to load: {}", e.message),
            });
        }
        Ok(notices)
    }

    /// Follows transaction blocks by their command tags, so that a ROLLBACK can restore the
    /// facts a rolled-back COPY changed.
    fn track_transaction(&mut self, outcome: &Outcome) {
        let Ok(c) = &outcome.result else {
            return;
        };
        match c.tag.as_str() {
            "BEGIN" | "START TRANSACTION" => {
                self.facts_at_begin.get_or_insert(self.facts);
            }
            "COMMIT" => self.facts_at_begin = None,
            "ROLLBACK" => {
                if let Some(f) = self.facts_at_begin.take() {
                    self.facts = f;
                }
            }
            _ => {}
        }
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

/// True when a statement names one of the emulated system views.
fn mentions_system_view(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    views::EMULATED.iter().any(|v| lower.contains(v))
}

/// True for `ANALYZE VERBOSE ...`.
fn analyze_verbose(sql: &str) -> bool {
    let mut words = sql.split_whitespace();
    words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("ANALYZE"))
        && words
            .next()
            .is_some_and(|w| w.trim_end_matches(';').eq_ignore_ascii_case("VERBOSE"))
}

/// The ANALYZE VERBOSE notices that are kept: one `analyzing "schema.table"` line per table of
/// the user's. PostgreSQL also analyzes its own catalogs (about 95 more tables) and adds
/// statistics lines whose wording changes between versions; Redshift's system tables are not
/// the user's to analyze ("You don't need to analyze Amazon Redshift system tables", ANALYZE,
/// r_ANALYZE), so those lines are dropped.
fn user_table_analyzed(n: &Notice) -> bool {
    let Some(rel) = n
        .message
        .strip_prefix("analyzing \"")
        .and_then(|r| r.strip_suffix('"'))
    else {
        return n.severity != "INFO";
    };
    let schema = rel.split('.').next().unwrap_or("");
    !(schema == "pg_catalog"
        || schema == "information_schema"
        || schema == crate::system::SYSTEM_SCHEMA
        || schema.starts_with("pg_toast"))
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
        let translation = translate_with(sql, &self.facts);
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
                if let Some(b) = run.began {
                    if let Some(id) = b.query_id {
                        self.facts.last_copy_id = id;
                        self.facts.last_query_id = id;
                    }
                    self.facts.last_copy_count = b.loaded as i64;
                }
                run.outcome
            }
            Translation::Unload(spec) => {
                if self.explain {
                    notices.push(explain(
                        sql,
                        Some("(query run, files written to object storage by rsqlflow)"),
                    ));
                }
                let out = run_unload(&mut self.inner, &spec, self.store.clone()).await?;
                if let Ok(c) = &out.result {
                    if let Some(id) = storage::next_query_id(&mut self.inner).await? {
                        self.facts.last_unload_id = id;
                        self.facts.last_query_id = id;
                    }
                    self.facts.last_unload_count = c.activity_count() as i64;
                }
                out
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
        if analyze_verbose(sql) {
            outcome.notices.retain(user_table_analyzed);
        }
        if mentions_system_view(sql) {
            // A view over the session's system views becomes a temporary one in PostgreSQL;
            // the README says so, the notice would only be noise.
            outcome
                .notices
                .retain(|n| !n.message.ends_with("will be a temporary view"));
        }
        outcome.result = outcome
            .result
            .map_err(|e| crate::messages::redshift_wording(unavailable(e)));
        self.track_transaction(&outcome);
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
