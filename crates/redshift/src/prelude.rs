//! The compatibility functions: Redshift functions PostgreSQL lacks or computes differently
//! (DATEADD, DATEDIFF, TRUNC of a timestamp, CONVERT_TIMEZONE, IS_VALID_JSON, AVG with
//! Redshift's result type, CONCAT that propagates NULL, the `pg_last_*` answers). The
//! translator qualifies calls to them with their schema.
//!
//! They live in the `rsqlflow_sys` schema, created once per database and refreshed when this
//! text changes (a version stamp), so that a view or table a script defines with them
//! outlives the session as on Redshift. Where `rsqlflow_sys` cannot be created (no CREATE
//! privilege on the database), the session creates them as temporary functions (`pg_temp`)
//! instead, and views that call them last only as long as the session.

use crate::system::{FunctionSchema, SYSTEM_SCHEMA};

/// Session settings that make PostgreSQL print values as Redshift does: floating-point values
/// with 15 significant digits (`select pi();` gives 3.14159265358979, r_PI), where PostgreSQL
/// 12 and later print the shortest exact form (3.141592653589793) unless extra_float_digits
/// is 0.
pub const SETTINGS: &str = "SET extra_float_digits TO 0";

/// The function definitions; `@S@` stands for the schema. In the shared schema they are
/// replaced in place (CREATE OR REPLACE): a definition may change its body but never its
/// arguments or result type, which views built on it depend on.
const FUNCTIONS: &str = r#"
CREATE OR REPLACE FUNCTION @S@.dateadd(part text, n bigint, ts timestamp) RETURNS timestamp
LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE part
    WHEN 'quarter' THEN ts + make_interval(months => (n * 3)::int)
    ELSE ts + (n::text || ' ' || part)::interval END
$f$;
CREATE OR REPLACE FUNCTION @S@.dateadd(part text, n bigint, d date) RETURNS timestamp
LANGUAGE sql IMMUTABLE AS $f$ SELECT @S@.dateadd(part, n, d::timestamp) $f$;
CREATE OR REPLACE FUNCTION @S@.dateadd(part text, n bigint, ts timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $f$
  SELECT CASE part
    WHEN 'quarter' THEN ts + make_interval(months => (n * 3)::int)
    ELSE ts + (n::text || ' ' || part)::interval END
$f$;
CREATE OR REPLACE FUNCTION @S@.dateadd(part text, n bigint, s text) RETURNS timestamp
LANGUAGE sql IMMUTABLE AS $f$ SELECT @S@.dateadd(part, n, s::timestamp) $f$;

CREATE OR REPLACE FUNCTION @S@.datediff(part text, a timestamp, b timestamp) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $f$
  SELECT (CASE part
    WHEN 'millennium' THEN floor(extract(year FROM b) / 1000) - floor(extract(year FROM a) / 1000)
    WHEN 'century' THEN floor(extract(year FROM b) / 100) - floor(extract(year FROM a) / 100)
    WHEN 'decade' THEN floor(extract(year FROM b) / 10) - floor(extract(year FROM a) / 10)
    WHEN 'year' THEN extract(year FROM b) - extract(year FROM a)
    WHEN 'quarter' THEN (extract(year FROM b) * 4 + extract(quarter FROM b))
                      - (extract(year FROM a) * 4 + extract(quarter FROM a))
    WHEN 'month' THEN (extract(year FROM b) * 12 + extract(month FROM b))
                    - (extract(year FROM a) * 12 + extract(month FROM a))
    WHEN 'week' THEN (date_trunc('week', b)::date - date_trunc('week', a)::date) / 7
    WHEN 'day' THEN b::date - a::date
    WHEN 'hour' THEN extract(epoch FROM date_trunc('hour', b) - date_trunc('hour', a)) / 3600
    WHEN 'minute' THEN extract(epoch FROM date_trunc('minute', b) - date_trunc('minute', a)) / 60
    WHEN 'second' THEN extract(epoch FROM date_trunc('second', b) - date_trunc('second', a))
    WHEN 'millisecond' THEN floor(extract(epoch FROM date_trunc('milliseconds', b) - date_trunc('milliseconds', a)) * 1000)
    WHEN 'microsecond' THEN extract(epoch FROM b - a) * 1000000
  END)::bigint
$f$;
CREATE OR REPLACE FUNCTION @S@.datediff(part text, a date, b date) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $f$ SELECT @S@.datediff(part, a::timestamp, b::timestamp) $f$;
CREATE OR REPLACE FUNCTION @S@.datediff(part text, a timestamptz, b timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $f$ SELECT @S@.datediff(part, a::timestamp, b::timestamp) $f$;
CREATE OR REPLACE FUNCTION @S@.datediff(part text, a text, b text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $f$ SELECT @S@.datediff(part, a::timestamp, b::timestamp) $f$;

CREATE OR REPLACE FUNCTION @S@.trunc(ts timestamp) RETURNS date
LANGUAGE sql IMMUTABLE AS $f$ SELECT ts::date $f$;
CREATE OR REPLACE FUNCTION @S@.trunc(ts timestamptz) RETURNS date
LANGUAGE sql STABLE AS $f$ SELECT ts::date $f$;
CREATE OR REPLACE FUNCTION @S@.trunc(d date) RETURNS date
LANGUAGE sql IMMUTABLE AS $f$ SELECT d $f$;
CREATE OR REPLACE FUNCTION @S@.trunc(n numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $f$ SELECT pg_catalog.trunc(n) $f$;
CREATE OR REPLACE FUNCTION @S@.trunc(n double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $f$ SELECT pg_catalog.trunc(n) $f$;

CREATE OR REPLACE FUNCTION @S@.convert_timezone(dst text, ts timestamp) RETURNS timestamp
LANGUAGE sql STABLE AS $f$ SELECT (ts AT TIME ZONE 'UTC') AT TIME ZONE dst $f$;
CREATE OR REPLACE FUNCTION @S@.convert_timezone(src text, dst text, ts timestamp) RETURNS timestamp
LANGUAGE sql STABLE AS $f$ SELECT (ts AT TIME ZONE src) AT TIME ZONE dst $f$;

CREATE OR REPLACE FUNCTION @S@.is_valid_json(s text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
  PERFORM s::json;
  RETURN s IS NOT NULL;
EXCEPTION WHEN others THEN
  RETURN false;
END
$f$;
CREATE OR REPLACE FUNCTION @S@.is_valid_json_array(s text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
  RETURN json_typeof(s::json) = 'array';
EXCEPTION WHEN others THEN
  RETURN false;
END
$f$;

CREATE OR REPLACE FUNCTION @S@.avg(a numeric, t smallint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $f$ SELECT trunc(a)::bigint $f$;
CREATE OR REPLACE FUNCTION @S@.avg(a numeric, t integer) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $f$ SELECT trunc(a)::bigint $f$;
CREATE OR REPLACE FUNCTION @S@.avg(a numeric, t bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $f$ SELECT trunc(a)::bigint $f$;
CREATE OR REPLACE FUNCTION @S@.avg(a numeric, t numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $f$ SELECT trunc(a, scale(t)) $f$;
CREATE OR REPLACE FUNCTION @S@.avg(a double precision, t real) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $f$ SELECT a $f$;
CREATE OR REPLACE FUNCTION @S@.avg(a double precision, t double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $f$ SELECT a $f$;
CREATE OR REPLACE FUNCTION @S@.avg(a interval, t interval) RETURNS interval
LANGUAGE sql IMMUTABLE AS $f$ SELECT a $f$;

CREATE OR REPLACE FUNCTION @S@.concat(a text, b text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$ SELECT a || b $f$;

CREATE OR REPLACE FUNCTION @S@.pg_last_copy_count(v bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $f$ SELECT v $f$;
CREATE OR REPLACE FUNCTION @S@.pg_last_copy_id(v integer) RETURNS integer
LANGUAGE sql IMMUTABLE AS $f$ SELECT v $f$;
CREATE OR REPLACE FUNCTION @S@.pg_last_unload_count(v bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $f$ SELECT v $f$;
CREATE OR REPLACE FUNCTION @S@.pg_last_unload_id(v integer) RETURNS integer
LANGUAGE sql IMMUTABLE AS $f$ SELECT v $f$;
CREATE OR REPLACE FUNCTION @S@.pg_last_query_id(v integer) RETURNS integer
LANGUAGE sql IMMUTABLE AS $f$ SELECT v $f$;
"#;

/// The definitions for one schema.
fn functions_in(schema: &str) -> String {
    FUNCTIONS.replace("@S@", schema)
}

/// A stamp of the definitions (FNV-1a of their text), recorded in the shared schema.
fn version() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in FUNCTIONS.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// SQL that installs the functions for `schema`: for the shared schema, one DO block that
/// checks the version stamp and, when it differs, (re)creates everything under an advisory
/// lock (concurrent sessions wait for the first instead of racing); for the session schema,
/// the plain definitions.
pub fn install_sql(schema: FunctionSchema) -> String {
    match schema {
        FunctionSchema::Session => functions_in("pg_temp"),
        FunctionSchema::Shared => {
            let v = version();
            format!(
                "DO $rsqlflow_install$ BEGIN
  IF to_regprocedure('{SYSTEM_SCHEMA}.prelude_version()') IS NOT NULL THEN
    IF {SYSTEM_SCHEMA}.prelude_version() = '{v}' THEN
      RETURN;
    END IF;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('rsqlflow prelude'));
  IF to_regprocedure('{SYSTEM_SCHEMA}.prelude_version()') IS NOT NULL THEN
    IF {SYSTEM_SCHEMA}.prelude_version() = '{v}' THEN
      RETURN;
    END IF;
  END IF;
  CREATE SCHEMA IF NOT EXISTS {SYSTEM_SCHEMA};
  GRANT USAGE ON SCHEMA {SYSTEM_SCHEMA} TO PUBLIC;
{}
  CREATE OR REPLACE FUNCTION {SYSTEM_SCHEMA}.prelude_version() RETURNS text
  LANGUAGE sql IMMUTABLE AS $f$ SELECT '{v}'::text $f$;
END $rsqlflow_install$",
                functions_in(SYSTEM_SCHEMA)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_definition_is_qualified() {
        let shared = install_sql(FunctionSchema::Shared);
        assert!(!shared.contains("@S@"));
        assert!(!shared.contains("pg_temp"));
        let session = install_sql(FunctionSchema::Session);
        assert!(!session.contains(SYSTEM_SCHEMA));
        assert_eq!(version().len(), 16);
    }
}
