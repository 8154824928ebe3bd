//! The per-session prelude: Redshift functions PostgreSQL lacks, created as temporary functions
//! (`pg_temp.*`, gone at session end, invisible to other sessions). The translator qualifies
//! calls to them with `pg_temp.`.

/// SQL that creates the compatibility functions; run once per session before the first statement.
pub const PRELUDE: &str = r#"
CREATE FUNCTION pg_temp.dateadd(part text, n bigint, ts timestamp) RETURNS timestamp
LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE part
    WHEN 'quarter' THEN ts + make_interval(months => (n * 3)::int)
    ELSE ts + (n::text || ' ' || part)::interval END
$f$;
CREATE FUNCTION pg_temp.dateadd(part text, n bigint, d date) RETURNS timestamp
LANGUAGE sql IMMUTABLE AS $f$ SELECT pg_temp.dateadd(part, n, d::timestamp) $f$;
CREATE FUNCTION pg_temp.dateadd(part text, n bigint, ts timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE AS $f$
  SELECT CASE part
    WHEN 'quarter' THEN ts + make_interval(months => (n * 3)::int)
    ELSE ts + (n::text || ' ' || part)::interval END
$f$;
CREATE FUNCTION pg_temp.dateadd(part text, n bigint, s text) RETURNS timestamp
LANGUAGE sql IMMUTABLE AS $f$ SELECT pg_temp.dateadd(part, n, s::timestamp) $f$;

CREATE FUNCTION pg_temp.datediff(part text, a timestamp, b timestamp) RETURNS bigint
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
CREATE FUNCTION pg_temp.datediff(part text, a date, b date) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $f$ SELECT pg_temp.datediff(part, a::timestamp, b::timestamp) $f$;
CREATE FUNCTION pg_temp.datediff(part text, a timestamptz, b timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $f$ SELECT pg_temp.datediff(part, a::timestamp, b::timestamp) $f$;
CREATE FUNCTION pg_temp.datediff(part text, a text, b text) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $f$ SELECT pg_temp.datediff(part, a::timestamp, b::timestamp) $f$;

CREATE FUNCTION pg_temp.trunc(ts timestamp) RETURNS date
LANGUAGE sql IMMUTABLE AS $f$ SELECT ts::date $f$;
CREATE FUNCTION pg_temp.trunc(ts timestamptz) RETURNS date
LANGUAGE sql STABLE AS $f$ SELECT ts::date $f$;
CREATE FUNCTION pg_temp.trunc(d date) RETURNS date
LANGUAGE sql IMMUTABLE AS $f$ SELECT d $f$;
CREATE FUNCTION pg_temp.trunc(n numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $f$ SELECT pg_catalog.trunc(n) $f$;
CREATE FUNCTION pg_temp.trunc(n double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $f$ SELECT pg_catalog.trunc(n) $f$;

CREATE FUNCTION pg_temp.convert_timezone(dst text, ts timestamp) RETURNS timestamp
LANGUAGE sql STABLE AS $f$ SELECT (ts AT TIME ZONE 'UTC') AT TIME ZONE dst $f$;
CREATE FUNCTION pg_temp.convert_timezone(src text, dst text, ts timestamp) RETURNS timestamp
LANGUAGE sql STABLE AS $f$ SELECT (ts AT TIME ZONE src) AT TIME ZONE dst $f$;

CREATE FUNCTION pg_temp.is_valid_json(s text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
  PERFORM s::json;
  RETURN s IS NOT NULL;
EXCEPTION WHEN others THEN
  RETURN false;
END
$f$;
CREATE FUNCTION pg_temp.is_valid_json_array(s text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
  RETURN json_typeof(s::json) = 'array';
EXCEPTION WHEN others THEN
  RETURN false;
END
$f$;
"#;
