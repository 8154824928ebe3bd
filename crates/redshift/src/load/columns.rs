//! The target table's columns ([`Column`]): read from the catalog, narrowed to the COPY's
//! column list.

use rsql::Backend;

use super::error::CopyError;
use crate::convert::ColumnType;
use crate::copy_spec::CopySpec;

/// A target column.
#[derive(Debug, Clone)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: ColumnType,
    /// PostgreSQL's name of the type (`int4`, `varchar`, `bpchar`, ...).
    pub typname: String,
    /// Declared length of a character type, else 0.
    pub length: i32,
    /// NOT NULL.
    pub not_null: bool,
}

/// The columns the COPY loads: the table's, or those of its column list, in that order.
pub(super) async fn target_columns(
    backend: &mut dyn Backend,
    spec: &CopySpec,
) -> Result<Vec<Column>, CopyError> {
    let all_columns = table_columns(backend, &spec.table).await?;
    if spec.columns.is_empty() {
        return Ok(all_columns);
    }
    spec.columns
        .iter()
        .map(|name| {
            let n = name.trim_matches('"').to_lowercase();
            match all_columns.iter().find(|c| c.name == n) {
                Some(c) => Ok(c.clone()),
                None => Err(CopyError::NoSuchColumn {
                    column: n,
                    table: spec.table.clone(),
                }),
            }
        })
        .collect()
}

/// Reads the table's columns from the session.
async fn table_columns(backend: &mut dyn Backend, table: &str) -> Result<Vec<Column>, CopyError> {
    let lit = format!("'{}'", table.replace('\'', "''"));
    let q = format!(
        "SELECT a.attname, t.typname, a.atttypmod, a.attnotnull FROM pg_catalog.pg_attribute a \
         JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
         WHERE a.attrelid = to_regclass({lit}) AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum"
    );
    let rows = match backend.execute(&q).await?.result {
        Ok(c) => c.rows.map(|r| r.rows).unwrap_or_default(),
        Err(e) => return Err(CopyError::Server(e)),
    };
    if rows.is_empty() {
        return Err(CopyError::NoSuchTable(table.to_string()));
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let name = r[0].clone().unwrap_or_default();
            let typname = r[1].clone().unwrap_or_default();
            let typmod: i32 = r[2].as_deref().and_then(|s| s.parse().ok()).unwrap_or(-1);
            let length = if matches!(typname.as_str(), "varchar" | "bpchar") && typmod >= 4 {
                typmod - 4
            } else {
                0
            };
            Column {
                name,
                ty: ColumnType::from_pg(&typname, typmod),
                typname,
                length,
                not_null: r.get(3).and_then(|v| v.as_deref()) == Some("t"),
            }
        })
        .collect())
}
