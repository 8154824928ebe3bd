//! The per-session views that answer for Redshift's system tables: temporary views (they come
//! first in PostgreSQL's search path, so an unqualified `stl_load_errors` finds them), with the
//! columns and types AWS documents for each, over functions that read what rsqlflow recorded
//! (`rsqlflow_sys`, which may not exist yet) or PostgreSQL's own catalogs.
//!
//! Values Redshift has and a local engine does not (slices, distribution and sort keys, which
//! the translator drops, compression encodings, block counts) are constants or NULL, and said
//! so in the README.

/// The Redshift system relations answered locally.
pub const EMULATED: &[&str] = &[
    "stl_load_errors",
    "stl_loaderror_detail",
    "stv_tbl_perm",
    "svv_table_info",
    "stv_sessions",
    "stv_inflight",
    "pg_table_def",
];

/// SQL that creates the views; run once per session after the prelude.
pub const VIEWS: &str = r#"
CREATE FUNCTION pg_temp.rsqlflow_stl_load_errors() RETURNS TABLE (
  userid integer, slice integer, tbl integer, starttime timestamp, session integer,
  query integer, filename character(256), line_number bigint, colname character(127),
  type character(10), col_length character(10), "position" integer, raw_line character(1024),
  raw_field_value character(1024), err_code integer, err_reason character(100))
LANGUAGE plpgsql STABLE AS $f$
BEGIN
  IF to_regclass('rsqlflow_sys.stl_load_errors') IS NOT NULL THEN
    RETURN QUERY SELECT * FROM rsqlflow_sys.stl_load_errors;
  END IF;
END
$f$;
CREATE TEMP VIEW stl_load_errors AS
  SELECT userid, slice, tbl, starttime, session, query, filename::character(256) AS filename,
    line_number, colname::character(127) AS colname, type::character(10) AS type,
    col_length::character(10) AS col_length, "position",
    raw_line::character(1024) AS raw_line, raw_field_value::character(1024) AS raw_field_value,
    err_code, err_reason::character(100) AS err_reason
  FROM pg_temp.rsqlflow_stl_load_errors();

CREATE FUNCTION pg_temp.rsqlflow_stl_loaderror_detail() RETURNS TABLE (
  userid integer, slice integer, session integer, query integer, filename character(256),
  line_number bigint, field integer, colname character(1024), value character(1024),
  is_null integer, type character(10), col_length integer)
LANGUAGE plpgsql STABLE AS $f$
BEGIN
  IF to_regclass('rsqlflow_sys.stl_loaderror_detail') IS NOT NULL THEN
    RETURN QUERY SELECT * FROM rsqlflow_sys.stl_loaderror_detail;
  END IF;
END
$f$;
CREATE TEMP VIEW stl_loaderror_detail AS
  SELECT userid, slice, session, query, filename::character(256) AS filename, line_number,
    field, colname::character(1024) AS colname, value::character(1024) AS value, is_null,
    type::character(10) AS type, col_length
  FROM pg_temp.rsqlflow_stl_loaderror_detail();

CREATE FUNCTION pg_temp.rsqlflow_user_tables() RETURNS TABLE (
  table_oid oid, schema_name text, table_name text, persistence "char", row_count bigint)
LANGUAGE plpgsql STABLE AS $f$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.oid, n.nspname::text AS nsp, c.relname::text AS rel, c.relpersistence
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'rsqlflow_sys')
      AND n.nspname NOT LIKE 'pg_toast%'
      AND (n.nspname NOT LIKE 'pg_temp%' OR n.oid = pg_catalog.pg_my_temp_schema())
    ORDER BY n.nspname, c.relname
  LOOP
    table_oid := r.oid;
    schema_name := r.nsp;
    table_name := r.rel;
    persistence := r.relpersistence;
    BEGIN
      EXECUTE format('SELECT count(*) FROM %I.%I', r.nsp, r.rel) INTO row_count;
    EXCEPTION WHEN others THEN
      row_count := NULL;
    END;
    RETURN NEXT;
  END LOOP;
END
$f$;

CREATE TEMP VIEW stv_tbl_perm AS
  SELECT 0 AS slice, t.table_oid::integer AS id, t.table_name::character(72) AS name,
    t.row_count AS rows, t.row_count AS sorted_rows,
    CASE WHEN t.persistence = 't' THEN 1 ELSE 0 END AS temp,
    (SELECT d.oid::integer FROM pg_catalog.pg_database d WHERE d.datname = current_database()) AS db_id,
    0 AS insert_pristine, 0 AS delete_pristine,
    CASE WHEN t.persistence = 'u' THEN 0 ELSE 1 END AS backup,
    NULL::integer AS dist_style,
    (pg_catalog.pg_total_relation_size(t.table_oid) + 1048575) / 1048576 AS block_count
  FROM pg_temp.rsqlflow_user_tables() t;

CREATE TEMP VIEW svv_table_info AS
  SELECT current_database()::text AS database, t.schema_name AS schema,
    t.table_oid AS table_id, t.table_name AS "table", 'N'::text AS encoded,
    NULL::text AS diststyle, NULL::text AS sortkey1,
    (SELECT max(a.atttypmod - 4) FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = t.table_oid AND a.attnum > 0 AND NOT a.attisdropped
        AND a.atttypid = 'pg_catalog.varchar'::pg_catalog.regtype AND a.atttypmod > 4)::integer
      AS max_varchar,
    NULL::character(32) AS sortkey1_enc, 0 AS sortkey_num,
    ((pg_catalog.pg_total_relation_size(t.table_oid) + 1048575) / 1048576)::bigint AS size,
    NULL::numeric(10,4) AS pct_used, 0::bigint AS empty, NULL::numeric(5,2) AS unsorted,
    NULL::numeric(5,2) AS stats_off, t.row_count::numeric(38,0) AS tbl_rows,
    NULL::numeric(19,2) AS skew_sortkey1, NULL::numeric(19,2) AS skew_rows,
    t.row_count::numeric(38,0) AS estimated_visible_rows, NULL::text AS risk_event,
    NULL::numeric(12,2) AS vacuum_sort_benefit
  FROM pg_temp.rsqlflow_user_tables() t
  WHERE t.row_count > 0;

CREATE TEMP VIEW stv_sessions AS
  SELECT a.backend_start::timestamp AS starttime, a.pid AS process,
    coalesce(a.usename, current_user)::character(50) AS user_name,
    a.datname::character(50) AS db_name, 0 AS timeout_sec
  FROM pg_catalog.pg_stat_activity a
  WHERE a.backend_type IN ('client backend', 'standalone backend');

CREATE TEMP VIEW stv_inflight AS
  SELECT 100 AS userid, 0 AS slice, a.pid AS query, ''::character(320) AS label,
    pg_catalog.txid_current_if_assigned() AS xid, a.pid AS pid,
    a.query_start::timestamp AS starttime, left(a.query, 100)::character(100) AS text,
    0 AS suspended, 0 AS insert_pristine, 0 AS concurrency_scaling_status
  FROM pg_catalog.pg_stat_activity a
  WHERE a.backend_type IN ('client backend', 'standalone backend') AND a.state = 'active';

CREATE TEMP VIEW pg_table_def AS
  SELECT n.nspname AS schemaname, c.relname AS tablename, a.attname AS "column",
    pg_catalog.format_type(a.atttypid, a.atttypmod)::character varying(128) AS type,
    'none'::character(32) AS encoding, false AS distkey, 0 AS sortkey, a.attnotnull AS notnull
  FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
    AND pg_catalog.pg_table_is_visible(c.oid)
    AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'rsqlflow_sys');
"#;
