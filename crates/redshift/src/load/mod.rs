//! COPY FROM S3 on PostgreSQL: list the objects under the key prefix (or read the manifest),
//! decompress and parse each file as Redshift does (CSV, delimited text, JSON, Parquet),
//! convert and check every field against the target column, and stream the good rows into the
//! table with `COPY ... FROM STDIN`. Rejected rows go to `stl_load_errors`; more than MAXERROR
//! of them fail the whole load the way Redshift fails it.
//!
//! [`run_copy`] prepares a [`Load`] (target columns, input files and format, query ID; a
//! [`CopyError`] when that fails), spawns the producer that turns the files into COPY rows, and
//! sends them to the server; [`end`] turns how the producer stopped into the statement's result.

mod channel;
mod columns;
mod decode;
mod end;
mod error;
mod input;
mod load_errors;
mod parquet;
mod produce;
mod rows;
mod sink;
mod text;

use std::sync::Arc;

use rsql::{Backend, ConnectionLost, Outcome};

use crate::copy_spec::CopySpec;
use objects::{ObjectStore, S3Uri};

pub(crate) use error::sql_error;
pub(crate) use load_errors::load_errors_not_recorded;

use error::CopyError;
use input::Input;
use load_errors::LoadRun;
use produce::Producer;
use rows::Target;

/// Runs a COPY FROM S3 on a PostgreSQL session.
///
/// Rejected rows that cannot be recorded yet, because the COPY failed inside a transaction
/// block (which PostgreSQL has aborted), come back as [`CopyRun::deferred`]: the statement that
/// records them, to run once the transaction has ended. Redshift's `stl_load_errors` is a
/// system table that keeps them whatever happens to the transaction.
pub async fn run_copy(
    backend: &mut dyn Backend,
    spec: &CopySpec,
    store: Arc<dyn ObjectStore>,
) -> Result<CopyRun, ConnectionLost> {
    match Load::prepare(backend, spec, store).await {
        Ok(load) => load.run(backend).await,
        Err(e) => Ok(CopyRun {
            outcome: e.into_outcome()?,
            deferred: None,
            began: None,
        }),
    }
}

/// What a COPY gave, and the load-error record it could not write yet.
pub struct CopyRun {
    /// The statement's result.
    pub outcome: Outcome,
    /// SQL that appends the rejected rows to `stl_load_errors`, to run after the current
    /// (aborted) transaction ends.
    pub deferred: Option<String>,
    /// Set when the load process began (the table and the files were found): what
    /// `pg_last_copy_id()` and `pg_last_copy_count()` then report.
    pub began: Option<LoadBegan>,
}

/// A COPY whose load process began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadBegan {
    /// Its query ID, when one could be had.
    pub query_id: Option<i64>,
    /// Rows loaded: 0 when the load failed (PG_LAST_COPY_COUNT).
    pub loaded: u64,
}

/// A COPY ready to load: the target, what it reads, and what the system tables record about it.
struct Load {
    target: Target,
    input: Input,
    files: Vec<S3Uri>,
    store: Arc<dyn ObjectStore>,
    run: LoadRun,
}

impl Load {
    /// Finds the target columns, the input files and how to parse them, and takes a query ID.
    async fn prepare(
        backend: &mut dyn Backend,
        spec: &CopySpec,
        store: Arc<dyn ObjectStore>,
    ) -> Result<Load, CopyError> {
        let columns = columns::target_columns(backend, spec).await?;
        let files = input::resolve_files(spec, store.as_ref()).await?;
        let input = Input::of(spec, &columns, store.as_ref()).await?;
        let run = LoadRun {
            table: spec.table.clone(),
            query_id: crate::system::storage::next_query_id(backend).await?,
            starttime: chrono::Utc::now()
                .format("%Y-%m-%d %H:%M:%S%.6f")
                .to_string(),
        };
        Ok(Load {
            target: Target {
                spec: spec.clone(),
                columns,
            },
            input,
            files,
            store,
            run,
        })
    }

    /// Streams the rows into the table, records the rejected ones, and reports.
    async fn run(self, backend: &mut dyn Backend) -> Result<CopyRun, ConnectionLost> {
        let Load {
            target,
            input,
            files,
            store,
            run,
        } = self;
        let mut began = LoadBegan {
            query_id: run.query_id,
            loaded: 0,
        };
        let copy_sql = target.copy_sql();
        let (tx, mut reader) = channel::channel();
        let producer = Producer {
            target,
            input,
            files,
            store,
        }
        .spawn(tx);
        let copied = backend.copy_in(&copy_sql, &mut reader).await;
        drop(reader);
        let produced = produce::finished(producer).await;
        let copied = copied?;
        let mut notices = copied.notices;
        let mut deferred = None;
        if !produced.tally.rejected.is_empty() {
            deferred =
                load_errors::record(backend, &run, &produced.tally.rejected, &mut notices).await?;
        }
        let table_name = run.table.trim_matches('"');
        let result = end::result(table_name, copied.result, &produced, &mut notices);
        if result.is_ok() {
            began.loaded = produced.tally.loaded;
        }
        Ok(CopyRun {
            outcome: Outcome { result, notices },
            deferred,
            began: Some(began),
        })
    }
}
