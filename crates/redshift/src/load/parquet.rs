//! The Parquet producer: one Parquet file read whole, each row's values loaded as quoted
//! fields (so NULL AS does not apply), numbered from 1.

use std::borrow::Cow;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::end::Stop;
use super::rows::{Origin, Target};
use super::sink::Sink;
use crate::records::Fields;

/// Loads the rows of one Parquet file.
pub(super) async fn load_file(
    target: &Target,
    sink: &mut Sink,
    file_name: &str,
    mut raw: Box<dyn AsyncRead + Send + Unpin>,
) -> Result<(), Stop> {
    let mut data = Vec::new();
    raw.read_to_end(&mut data)
        .await
        .map_err(|e| Stop::Failed(format!("{file_name}: {e}")))?;
    let rows = tokio::task::spawn_blocking(move || crate::parquet_io::read_rows(data))
        .await
        .map_err(|e| Stop::Failed(e.to_string()))?
        .map_err(|e| Stop::Failed(format!("{file_name}: not a readable Parquet file: {e}")))?;
    for (i, row) in rows.into_iter().enumerate() {
        let record: Vec<&str> = row.iter().map(|v| v.as_deref().unwrap_or("")).collect();
        let record = record.join("|");
        let fields: Fields = row.into_iter().map(|v| (v.map(Cow::Owned), true)).collect();
        let origin = Origin {
            file: file_name,
            line: i as u64 + 1,
            record: &record,
        };
        sink.row(target, fields, &origin).await?;
    }
    Ok(())
}
