//! TPC-H as Redshift users load it: `rsqlflow sample-data` writes dbgen's `.tbl` files (every
//! line ends with `|`) at every compression COPY reads, the tables are created with plain
//! Redshift DDL (no column for the trailing delimiter), each is loaded with COPY, and every
//! table's row count and checksums of a few columns must equal what this test reads from the
//! generated files itself. Also: a column list, an old-style table with an extra trailing
//! column, and IGNOREHEADER on a header that ends with the delimiter. On the embedded engine,
//! and (ignored without a server; `.ci/run` runs it) on a native PostgreSQL server.

mod support;

use std::io::Read;
use std::path::Path;

/// Redshift DDL for the eight tables, from the TPC-H column list (no extra trailing column).
const DDL: &str = "
create table region (r_regionkey int4 not null, r_name char(25) not null, r_comment varchar(152) not null, primary key (r_regionkey)) diststyle all;
create table nation (n_nationkey int4 not null, n_name char(25) not null, n_regionkey int4 not null, n_comment varchar(152) not null, primary key (n_nationkey)) diststyle all;
create table supplier (s_suppkey int4 not null, s_name char(25) not null, s_address varchar(40) not null, s_nationkey int4 not null, s_phone char(15) not null, s_acctbal numeric(12,2) not null, s_comment varchar(101) not null, primary key (s_suppkey)) distkey(s_suppkey) sortkey(s_suppkey);
create table customer (c_custkey int8 not null, c_name varchar(25) not null, c_address varchar(40) not null, c_nationkey int4 not null, c_phone char(15) not null, c_acctbal numeric(12,2) not null, c_mktsegment char(10) not null, c_comment varchar(117) not null, primary key (c_custkey)) distkey(c_custkey) sortkey(c_custkey);
create table part (p_partkey int8 not null, p_name varchar(55) not null, p_mfgr char(25) not null, p_brand char(10) not null, p_type varchar(25) not null, p_size int4 not null, p_container char(10) not null, p_retailprice numeric(12,2) not null, p_comment varchar(23) not null, primary key (p_partkey)) distkey(p_partkey) sortkey(p_partkey);
create table partsupp (ps_partkey int8 not null, ps_suppkey int4 not null, ps_availqty int4 not null, ps_supplycost numeric(12,2) not null, ps_comment varchar(199) not null, primary key (ps_partkey, ps_suppkey)) distkey(ps_partkey) sortkey(ps_partkey);
create table orders (o_orderkey int8 not null, o_custkey int8 not null, o_orderstatus char(1) not null, o_totalprice numeric(12,2) not null, o_orderdate date not null, o_orderpriority char(15) not null, o_clerk char(15) not null, o_shippriority int4 not null, o_comment varchar(79) not null, primary key (o_orderkey)) distkey(o_orderkey) sortkey(o_orderdate, o_orderkey);
create table lineitem (l_orderkey int8 not null, l_partkey int8 not null, l_suppkey int4 not null, l_linenumber int4 not null, l_quantity numeric(12,2) not null, l_extendedprice numeric(12,2) not null, l_discount numeric(12,2) not null, l_tax numeric(12,2) not null, l_returnflag char(1) not null, l_linestatus char(1) not null, l_shipdate date not null, l_commitdate date not null, l_receiptdate date not null, l_shipinstruct char(25) not null, l_shipmode char(10) not null, l_comment varchar(44) not null, primary key (l_orderkey, l_linenumber)) distkey(l_orderkey) sortkey(l_shipdate, l_orderkey);
";

/// Per table: the key column, a decimal column (if any), the comment column, and a date
/// column (if any), by position and name.
struct Check {
    table: &'static str,
    key: (usize, &'static str),
    money: Option<(usize, &'static str)>,
    comment: (usize, &'static str),
    date: Option<(usize, &'static str)>,
}

const CHECKS: [Check; 8] = [
    Check {
        table: "region",
        key: (0, "r_regionkey"),
        money: None,
        comment: (2, "r_comment"),
        date: None,
    },
    Check {
        table: "nation",
        key: (0, "n_nationkey"),
        money: None,
        comment: (3, "n_comment"),
        date: None,
    },
    Check {
        table: "supplier",
        key: (0, "s_suppkey"),
        money: Some((5, "s_acctbal")),
        comment: (6, "s_comment"),
        date: None,
    },
    Check {
        table: "customer",
        key: (0, "c_custkey"),
        money: Some((5, "c_acctbal")),
        comment: (7, "c_comment"),
        date: None,
    },
    Check {
        table: "part",
        key: (0, "p_partkey"),
        money: Some((7, "p_retailprice")),
        comment: (8, "p_comment"),
        date: None,
    },
    Check {
        table: "partsupp",
        key: (1, "ps_suppkey"),
        money: Some((3, "ps_supplycost")),
        comment: (4, "ps_comment"),
        date: None,
    },
    Check {
        table: "orders",
        key: (0, "o_orderkey"),
        money: Some((3, "o_totalprice")),
        comment: (8, "o_comment"),
        date: Some((4, "o_orderdate")),
    },
    Check {
        table: "lineitem",
        key: (0, "l_orderkey"),
        money: Some((5, "l_extendedprice")),
        comment: (15, "l_comment"),
        date: Some((10, "l_shipdate")),
    },
];

/// (extension, COPY keyword).
const COMPRESSIONS: [(&str, &str, &str); 5] = [
    ("gzip", ".gz", "GZIP"),
    ("bzip2", ".bz2", "BZIP2"),
    ("zstd", ".zst", "ZSTD"),
    ("lzop", ".lzo", "LZOP"),
    ("none", "", ""),
];

fn decompress(path: &Path, ext: &str) -> String {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    match ext {
        ".gz" => {
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .unwrap();
        }
        ".bz2" => {
            bzip2::read::BzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .unwrap();
        }
        ".zst" => out = zstd::decode_all(&raw[..]).unwrap(),
        ".lzo" => out = redshift::lzop::decompress(&raw).unwrap(),
        _ => out = raw,
    }
    String::from_utf8(out).unwrap()
}

/// The expected `count,sum(key),sum(money),sum(length(comment)),count(distinct date)` line,
/// computed from the file.
fn expected(c: &Check, text: &str) -> String {
    let (mut n, mut keys, mut cents, mut chars) = (0u64, 0i128, 0i128, 0u64);
    let mut dates = std::collections::BTreeSet::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f.last(), Some(&""), "dbgen lines end with '|': {line}");
        n += 1;
        keys += f[c.key.0].parse::<i128>().unwrap();
        if let Some((i, _)) = c.money {
            let (units, frac) = f[i].split_once('.').unwrap_or((f[i], "0"));
            let neg = units.starts_with('-');
            let v = units.trim_start_matches('-').parse::<i128>().unwrap() * 100
                + format!("{frac:0<2}")[..2].parse::<i128>().unwrap();
            cents += if neg { -v } else { v };
        }
        chars += f[c.comment.0].chars().count() as u64;
        if let Some((i, _)) = c.date {
            dates.insert(f[i].to_string());
        }
    }
    let money = if c.money.is_some() {
        let sign = if cents < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
    } else {
        "0".into()
    };
    format!("{n},{keys},{money},{chars},{}", dates.len())
}

fn query(c: &Check) -> String {
    format!(
        "select count(*), sum({key}), {money}, sum(length({comment})), {dates} from {t};",
        key = c.key.1,
        money = c
            .money
            .map_or("0".to_string(), |(_, m)| format!("sum({m})")),
        comment = c.comment.1,
        dates = c
            .date
            .map_or("0".to_string(), |(_, d)| format!("count(distinct {d})")),
        t = c.table
    )
}

/// Generates the data once per test run directory.
fn generate(dir: &Path) {
    for (name, _, _) in COMPRESSIONS {
        let out = support::run(
            dir,
            &[
                "sample-data".into(),
                "--scale".into(),
                "0.01".into(),
                "--compression".into(),
                name.into(),
                "--prefix".into(),
                format!("tpch-{name}"),
                "--s3-root".into(),
                "s3".into(),
            ],
            None,
        );
        assert!(
            out.status.success(),
            "sample-data --compression {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Loads and checks every table at every compression, with `db` selecting the engine (and a
/// fresh database per compression from `fresh`).
fn load_and_check(dir: &Path, fresh: &dyn Fn(&str) -> Vec<String>) {
    for (name, ext, keyword) in COMPRESSIONS {
        let mut script = String::from("\\set ON_ERROR_STOP 1\n");
        script.push_str(DDL);
        for c in &CHECKS {
            script.push_str(&format!(
                "copy {t} from 's3://rsqlflow-data/tpch-{name}/{t}/' iam_role default delimiter '|' {keyword};\n",
                t = c.table
            ));
        }
        for c in &CHECKS {
            script.push_str(&query(c));
            script.push('\n');
        }
        let file = format!("load_{name}.sql");
        std::fs::write(dir.join(&file), script).unwrap();
        let mut args = vec!["rsql".to_string()];
        args.extend(fresh(name));
        args.extend(
            ["--s3-root", "s3", "-t", "-A", "-F", ",", "-f", &file]
                .iter()
                .map(|s| s.to_string()),
        );
        let out = support::run(dir, &args, None);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "[{name}] {stderr}");
        let lines: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), CHECKS.len(), "[{name}] {stdout}");
        for (c, got) in CHECKS.iter().zip(&lines) {
            let path = dir
                .join("s3/rsqlflow-data")
                .join(format!("tpch-{name}"))
                .join(c.table)
                .join(format!("{}.tbl{ext}", c.table));
            let want = expected(c, &decompress(&path, ext));
            assert_eq!(*got, want, "[{name}] {}", c.table);
        }
        assert!(
            stderr.contains(
                "Load into table 'lineitem' completed, 60175 record(s) loaded successfully."
            ),
            "[{name}] {stderr}"
        );
    }
}

/// A column list, an old-style table with a column for the trailing delimiter, and a header
/// line that ends with the delimiter.
fn column_list_extra_column_and_header(dir: &Path, db: &[String]) {
    std::fs::create_dir_all(dir.join("s3/rsqlflow-data/headed")).unwrap();
    std::fs::write(
        dir.join("s3/rsqlflow-data/headed/h.txt"),
        "id|name|\n1|one|\n2|two|\n",
    )
    .unwrap();
    let script = "\\set ON_ERROR_STOP 1
create table r_list (r_regionkey int4, r_name char(25), r_comment varchar(152), loaded_at date default '2024-01-01');
copy r_list (r_regionkey, r_name, r_comment) from 's3://rsqlflow-data/tpch-none/region/' delimiter '|';
select count(*), count(distinct loaded_at), sum(r_regionkey) from r_list;
create table r_eol (r_regionkey int4, r_name char(25), r_comment varchar(152), r_eol varchar(1));
copy r_eol from 's3://rsqlflow-data/tpch-gzip/region/' delimiter '|' gzip;
select count(*), count(r_eol), max(length(r_eol)) from r_eol;
create table headed (id int, name varchar(10));
copy headed from 's3://rsqlflow-data/headed/' delimiter '|' ignoreheader 1;
select count(*), sum(id), max(name) from headed;
";
    std::fs::write(dir.join("extras.sql"), script).unwrap();
    let mut args = vec!["rsql".to_string()];
    args.extend(db.iter().cloned());
    args.extend(
        ["--s3-root", "s3", "-t", "-A", "-F", ",", "-f", "extras.sql"]
            .iter()
            .map(|s| s.to_string()),
    );
    let out = support::run(dir, &args, None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines, ["5,1,10", "5,5,0", "2,3,two"]);
}

#[test]
fn tpch_loads_with_redshift_ddl_at_every_compression_on_the_embedded_engine() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    load_and_check(dir.path(), &|_| vec!["--ephemeral".to_string()]);
    column_list_extra_column_and_header(dir.path(), &["--ephemeral".to_string()]);
}

#[test]
#[ignore = "needs a native PostgreSQL server's initdb and pg_ctl (pg_config --bindir or /usr/lib/postgresql/*/bin); .ci/run installs Debian's postgresql"]
fn tpch_loads_with_redshift_ddl_at_every_compression_on_postgresql() {
    let cluster = support::pg::Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    load_and_check(dir.path(), &|name| {
        vec![
            "--database".to_string(),
            support::fresh_database(&cluster, &format!("tpch_{name}")),
        ]
    });
    let url = support::fresh_database(&cluster, "tpch_extras");
    column_list_extra_column_and_header(dir.path(), &["--database".to_string(), url]);
}
