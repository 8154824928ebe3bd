//! Each rule: one seeded defect found at the right line and column, and its clean counterpart
//! not reported.

use check::{Finding, Options, Rule, Severity, check_text};

fn run_with(text: &str, passed: &[&str]) -> Vec<Finding> {
    let options = Options {
        known_passed: passed.iter().map(|s| s.to_string()).collect(),
        ..Options::default()
    };
    check_text("t.rsql", text, None, &options)
}

fn of(findings: &[Finding], rule: Rule) -> Vec<(Severity, usize, usize)> {
    findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| (f.severity, f.line, f.column))
        .collect()
}

/// The defect is found once, at (line, column), with this severity; the clean text has no
/// finding of the rule.
#[track_caller]
fn seeded(rule: Rule, severity: Severity, defect: &str, at: (usize, usize), clean: &str) {
    let found = run_with(defect, &[]);
    assert_eq!(
        of(&found, rule),
        vec![(severity, at.0, at.1)],
        "{rule} in {defect:?}: {found:#?}"
    );
    let clean_found = run_with(clean, &[]);
    assert_eq!(
        of(&clean_found, rule),
        vec![],
        "{rule} in clean {clean:?}: {clean_found:#?}"
    );
}

#[test]
fn lex_error() {
    seeded(
        Rule::LexError,
        Severity::Error,
        "select 1;\nselect 'abc;\n",
        (2, 8),
        "select 1;\nselect 'abc';\n",
    );
    seeded(
        Rule::LexError,
        Severity::Error,
        "select 1;\n  /* open\n",
        (2, 3),
        "select 1;\n  /* closed */\n",
    );
}

#[test]
fn unknown_meta_command() {
    seeded(
        Rule::UnknownMetaCommand,
        Severity::Error,
        "select 1;\n  \\remakr 'x'\n",
        (2, 3),
        "select 1;\n  \\remark 'x'\n",
    );
    let f = run_with("\\remakr 'x'\n", &[]);
    assert_eq!(f[0].help.as_deref(), Some("did you mean \\remark?"));
    // Documented for AWS's rsql, refused locally: a warning.
    seeded(
        Rule::UnknownMetaCommand,
        Severity::Warning,
        "\\dC\n",
        (1, 1),
        "\\echo x\n",
    );
    // RSQL's own commands are case-insensitive.
    assert!(run_with("\\REMARK 'x'\n\\EXIT 0\n", &[]).is_empty());
}

#[test]
fn malformed_meta_command() {
    seeded(
        Rule::MalformedMetaCommand,
        Severity::Error,
        "\\echo a\n\\exit abc\n",
        (2, 7),
        "\\echo a\n\\exit 3\n",
    );
    seeded(
        Rule::MalformedMetaCommand,
        Severity::Error,
        "\\set 1bad-name x\n",
        (1, 6),
        "\\set good_name x\n",
    );
    seeded(
        Rule::MalformedMetaCommand,
        Severity::Warning,
        "\\if :ACTIVITYCOUNT = = 1\n\\endif\n",
        (1, 1),
        "\\if :ACTIVITYCOUNT = 1\n\\endif\n",
    );
    seeded(
        Rule::MalformedMetaCommand,
        Severity::Error,
        "\\goto\n",
        (1, 1),
        "\\goto x\n\\label x\n",
    );
    seeded(
        Rule::MalformedMetaCommand,
        Severity::Error,
        "\\rset colour on\n",
        (1, 7),
        "\\rset rformat on\n",
    );
}

#[test]
fn unbalanced_if() {
    seeded(
        Rule::UnbalancedIf,
        Severity::Error,
        "select 1;\n\\if :ERROR\n\\echo x\n",
        (2, 1),
        "select 1;\n\\if :ERROR\n\\echo x\n\\endif\n",
    );
    seeded(
        Rule::UnbalancedIf,
        Severity::Error,
        "\\if :ERROR\n\\endif\n  \\endif\n",
        (3, 3),
        "\\if :ERROR\n\\endif\n",
    );
    seeded(
        Rule::UnbalancedIf,
        Severity::Error,
        "\\if :ERROR\n\\else\n\\elseif :ERROR\n\\endif\n",
        (3, 1),
        "\\if :ERROR\n\\elseif :ERROR\n\\else\n\\endif\n",
    );
}

#[test]
fn goto_without_label() {
    seeded(
        Rule::GotoWithoutLabel,
        Severity::Error,
        "\\label done\n\\goto done\n",
        (2, 7),
        "\\goto done\n\\label DONE\n",
    );
    let f = run_with("\\goto fial\n\\label fail\n\\label other\n", &[]);
    // `fial` is not `fail`, which comes later: did you mean.
    let g: Vec<_> = f
        .iter()
        .filter(|f| f.rule == Rule::GotoWithoutLabel)
        .collect();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].help.as_deref(), Some("did you mean fail?"));
}

#[test]
fn duplicate_label() {
    seeded(
        Rule::DuplicateLabel,
        Severity::Warning,
        "\\label a\n\\label A\n",
        (2, 8),
        "\\label a\n\\label b\n",
    );
}

#[test]
fn unreachable_after_exit() {
    seeded(
        Rule::UnreachableAfterExit,
        Severity::Warning,
        "\\echo a\n\\exit 0\n  select 1;\n",
        (3, 3),
        "\\echo a\n\\exit 0\n\\label later\nselect 1;\n",
    );
    seeded(
        Rule::UnreachableAfterExit,
        Severity::Warning,
        "\\if :ERROR\n\\exit 1\n\\echo x\n\\endif\n",
        (3, 1),
        "\\if :ERROR\n\\exit 1\n\\else\n\\echo x\n\\endif\n\\echo y\n",
    );
}

#[test]
fn exit_code_range() {
    seeded(
        Rule::ExitCodeRange,
        Severity::Error,
        "\\if :ERROR\n  \\exit 256\n\\endif\n",
        (2, 9),
        "\\if :ERROR\n  \\exit 255\n\\endif\n",
    );
    seeded(
        Rule::ExitCodeRange,
        Severity::Warning,
        "\\exit 300\n",
        (1, 7),
        "\\exit 44\n",
    );
}

#[test]
fn exit_code_reused() {
    seeded(
        Rule::ExitCodeReused,
        Severity::Warning,
        "\\if :ERROR\n\\exit 11\n\\endif\n\\if :ERROR\n\\exit 11\n\\endif\n",
        (5, 7),
        "\\if :ERROR\n\\exit 11\n\\endif\n\\if :ERROR\n\\exit 12\n\\endif\n\\exit 0\n",
    );
}

#[test]
fn missing_include() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("there.rsql"), "\\set from_include 1\n").unwrap();
    let options = Options::default();
    let f = check_text(
        "t.rsql",
        "\\echo a\n\\ir gone.rsql\n",
        Some(dir.path()),
        &options,
    );
    assert_eq!(
        of(&f, Rule::MissingInclude),
        vec![(Severity::Error, 2, 5)],
        "{f:#?}"
    );
    // Present: no finding, and the variables it sets are known.
    let f = check_text(
        "t.rsql",
        "\\ir there.rsql\n\\echo :from_include\n",
        Some(dir.path()),
        &options,
    );
    assert!(f.is_empty(), "{f:#?}");
    // \i resolves against the run's directory: only a warning.
    let f = check_text("t.rsql", "\\i gone.rsql\n", Some(dir.path()), &options);
    assert_eq!(
        of(&f, Rule::MissingInclude),
        vec![(Severity::Warning, 1, 4)]
    );
}

#[test]
fn undefined_variable() {
    seeded(
        Rule::UndefinedVariable,
        Severity::Error,
        "\\set data_uri s3://b/k\nCOPY t FROM :'data_urii' IAM_ROLE default;\n\\if :ERROR\n\\exit 1\n\\endif\n",
        (2, 13),
        "\\set data_uri s3://b/k\nCOPY t FROM :'data_uri' IAM_ROLE default;\n\\if :ERROR\n\\exit 1\n\\endif\n",
    );
    let f = run_with("\\set data_uri x\n\\echo :data_urii\n", &[]);
    assert_eq!(f[0].help.as_deref(), Some("did you mean :data_uri?"));
    // Used before it is set: still undefined there.
    let f = run_with("\\echo :later\n\\set later 1\n", &[]);
    assert_eq!(
        of(&f, Rule::UndefinedVariable),
        vec![(Severity::Error, 1, 7)]
    );
    assert!(f[0].message.contains("before it is set"));
    // Built-ins, passed variables, \gset columns and `::` casts are fine.
    let ok = "select count(*) as n, max(x) as top_x from t \\gset\n\\echo :n :top_x :ACTIVITYCOUNT :passed\nselect x::int from t;\n\\if :ERROR\n\\exit 1\n\\endif\n";
    let f = run_with(ok, &["passed"]);
    assert!(of(&f, Rule::UndefinedVariable).is_empty(), "{f:#?}");
    // A \gset whose columns cannot be read makes names unknown, not undefined.
    let f = run_with("select * from t \\gset p_\n\\echo :p_anything\n", &[]);
    assert!(of(&f, Rule::UndefinedVariable).is_empty(), "{f:#?}");
    // Inside quotes and comments nothing is interpolated.
    let f = run_with("select ':nope' -- :nope\n;", &[]);
    assert!(of(&f, Rule::UndefinedVariable).is_empty(), "{f:#?}");
}

#[test]
fn unused_variable() {
    let f = run_with("\\echo :used\n", &["used", "unused"]);
    assert_eq!(
        of(&f, Rule::UnusedVariable),
        vec![(Severity::Warning, 1, 1)]
    );
    assert!(f[0].message.contains(":unused"));
    assert!(run_with("\\echo :used\n", &["used"]).is_empty());
}

#[test]
fn dead_error_check() {
    seeded(
        Rule::DeadErrorCheck,
        Severity::Warning,
        "\\set ON_ERROR_STOP on\nselect 1;\n\\if :ERROR <> 0\n\\exit 1\n\\endif\n",
        (3, 5),
        "\\set ON_ERROR_STOP off\nselect 1;\n\\if :ERROR <> 0\n\\exit 1\n\\endif\n",
    );
    // Errors of severity 0 do not stop the script: the check is alive.
    let relaxed = "\\set ON_ERROR_STOP on\n\\rset errorlevel 42P01 severity 0\nselect 1;\n\\if :ERROR <> 0\n\\exit 1\n\\endif\n";
    assert!(of(&run_with(relaxed, &[]), Rule::DeadErrorCheck).is_empty());
}

#[test]
fn unchecked_statement() {
    seeded(
        Rule::UncheckedStatement,
        Severity::Warning,
        "\\echo start\n  drop table t;\ncreate table t (a int);\n\\if :ERROR <> 0\n\\exit 1\n\\endif\n",
        (2, 3),
        "\\echo start\ndrop table t;\n\\if :ERROR <> 0\n\\exit 1\n\\endif\ncreate table t (a int);\n\\if :'ERRORCODE' <> '00000'\n\\exit 2\n\\endif\n",
    );
    // With ON_ERROR_STOP every failure stops the script.
    assert!(run_with("\\set ON_ERROR_STOP 1\nselect 1;\nselect 2;\n", &[]).is_empty());
    // A run of unchecked statements is one finding, at its first statement.
    let f = run_with("select 1;\nselect 2;\nselect 3;\n", &[]);
    assert_eq!(
        of(&f, Rule::UncheckedStatement),
        vec![(Severity::Warning, 1, 1)]
    );
    assert!(f[0].message.contains("the 2 after it"));
}

#[test]
fn allow_comments() {
    let text = "\\echo :nope -- rsqlflow: allow(undefined-variable)\n-- rsqlflow: allow(undefined-variable)\n\\echo :nope2\n\\echo :nope3\n";
    let f = run_with(text, &[]);
    assert_eq!(
        of(&f, Rule::UndefinedVariable),
        vec![(Severity::Error, 4, 7)]
    );
    let text = "\\echo :nope\n-- rsqlflow: allow-file(undefined-variable)\n";
    assert!(run_with(text, &[]).is_empty());
}

#[test]
fn explanations() {
    for r in Rule::ALL {
        let e = r.explain();
        assert!(e.len() > 100, "{r}");
    }
}

#[test]
fn psql_commands_are_warnings_and_typos_errors() {
    for name in ["encoding", "dx", "dconfig+", "prompt", "gx"] {
        let f = run_with(&format!("\\{name}\n"), &[]);
        assert_eq!(
            of(&f, Rule::UnknownMetaCommand),
            vec![(Severity::Warning, 1, 1)],
            "{name}"
        );
    }
    let f = run_with("\\gsett x\n", &[]);
    assert_eq!(
        of(&f, Rule::UnknownMetaCommand),
        vec![(Severity::Error, 1, 1)]
    );
    assert_eq!(f[0].help.as_deref(), Some("did you mean \\gset?"));
}

#[test]
fn unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.rsql");
    std::fs::write(&big, "select 1;\n".repeat(100)).unwrap();
    let options = Options {
        max_file_size: 100,
        ..Options::default()
    };
    let f = check::check_file(&big, &options);
    assert_eq!(of(&f, Rule::UnreadableFile), vec![(Severity::Error, 1, 1)]);
    let f = check::check_file(&big, &Options::default());
    assert!(of(&f, Rule::UnreadableFile).is_empty());
    // Invalid UTF-8 is a lexing error at its line, as the interpreter reports it.
    let bad = dir.path().join("bad.rsql");
    std::fs::write(&bad, b"select 1;\nselect '\xff';\n").unwrap();
    let f = check::check_file(&bad, &Options::default());
    assert_eq!(of(&f, Rule::LexError), vec![(Severity::Error, 2, 1)]);
}

#[test]
fn pset_options() {
    seeded(
        Rule::MalformedMetaCommand,
        Severity::Error,
        "\\pset bordr 2\n",
        (1, 7),
        "\\pset border 2\n",
    );
    let f = run_with("\\pset bordr 2\n", &[]);
    assert_eq!(f[0].help.as_deref(), Some("did you mean border?"));
}

#[test]
fn variables_used_by_an_included_file_are_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("part.rsql"), "select :'from_job';\n").unwrap();
    let options = Options {
        known_passed: vec!["from_job".into()],
        ..Options::default()
    };
    let f = check_text("t.rsql", "\\ir part.rsql\n", Some(dir.path()), &options);
    assert!(of(&f, Rule::UnusedVariable).is_empty(), "{f:#?}");
}

#[test]
fn sql_syntax() {
    seeded(
        Rule::SqlSyntax,
        Severity::Warning,
        "select 1;\nselect a,\n  b\n  from t where (x = 1;\n",
        (4, 22),
        "select 1;\nselect a,\n  b\n  from t where (x = 1);\n",
    );
    // Variables are placeholders of their kind; Redshift-only clauses go through the pre-pass.
    let f = run_with(
        "create table :\"s\".t (a int encode az64) distkey(a) compound sortkey(a);\nselect * from :\"s\".t where d = :'day' limit :n;\n",
        &["s", "day", "n"],
    );
    assert!(of(&f, Rule::SqlSyntax).is_empty(), "{f:#?}");
    // Allowed where the construct is known to be valid Redshift SQL.
    let f = run_with("-- rsqlflow: allow(sql-syntax)\nselec 1;\n", &[]);
    assert!(of(&f, Rule::SqlSyntax).is_empty(), "{f:#?}");
}

#[test]
fn refused_locally() {
    seeded(
        Rule::RefusedLocally,
        Severity::Warning,
        "select 1;\n  unload ('select 1') to 's3://b/p/' iam_role default partition by (a);\n",
        (2, 3),
        "select 1;\n  unload ('select 1') to 's3://b/p/' iam_role default;\n",
    );
}

#[test]
fn copy_option() {
    seeded(
        Rule::CopyOption,
        Severity::Error,
        "copy t\nfrom :'data_uri'\niam_role default\ngzip delimeter '|';\n",
        (4, 6),
        "copy t\nfrom :'data_uri'\niam_role default\ngzip delimiter '|';\n",
    );
    seeded(
        Rule::CopyOption,
        Severity::Error,
        "unload ('select 1') to 's3://b/p/' iam_role default allowoverwirte;\n",
        (1, 53),
        "unload ('select 1') to 's3://b/p/' iam_role default allowoverwrite;\n",
    );
    // A raw variable may stand for any options: not judged.
    let f = run_with("copy t from :'u' iam_role default :opts;\n", &["u", "opts"]);
    assert!(of(&f, Rule::CopyOption).is_empty(), "{f:#?}");
}

#[test]
fn copy_duplicate_column() {
    seeded(
        Rule::CopyDuplicateColumn,
        Severity::Warning,
        "copy t (a, b,\n  a) from 's3://b/k' iam_role default;\n",
        (2, 3),
        "copy t (a, b,\n  c) from 's3://b/k' iam_role default;\n",
    );
}
