//! The checker never panics on any input and always finishes, in time linear in the input:
//! arbitrary text, text built from RSQL's own pieces, and pathological nesting.

use std::time::{Duration, Instant};

use check::{Options, check_text};
use proptest::prelude::*;

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\\if :ERROR <> 0\n".to_string()),
        Just("\\elseif :x = 1\n".to_string()),
        Just("\\else\n".to_string()),
        Just("\\endif\n".to_string()),
        Just("\\goto L\n".to_string()),
        Just("\\label L\n".to_string()),
        Just("\\exit 256\n".to_string()),
        Just("\\exit 1\n".to_string()),
        Just("\\set ON_ERROR_STOP on\n".to_string()),
        Just("\\set x 'a\n".to_string()),
        Just("select a as b from t \\gset p_\n".to_string()),
        Just("\\run file=\n".to_string()),
        Just("\\ir ../../x\n".to_string()),
        Just("\\copy (select 1) to 'f'\n".to_string()),
        Just("\\rset errorlevel 42P01 severity 0\n".to_string()),
        Just("select ':x', $$;$$, :'y', :\"z\", x::int;\n".to_string()),
        Just("/* /* */\n".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("$a$".to_string()),
        Just("\\".to_string()),
        Just("\\\\".to_string()),
        Just(":".to_string()),
        Just("-- rsqlflow: allow(".to_string()),
        "[\\\\:'\"$a-z;() \n\t\u{e9}\u{1F600}]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn never_panics_on_rsql_pieces(parts in proptest::collection::vec(fragment(), 0..60)) {
        let text: String = parts.concat();
        let options = Options { known_passed: vec!["x".into()], ..Options::default() };
        let findings = check_text("p.rsql", &text, None, &options);
        for f in findings {
            prop_assert!(f.line >= 1 && f.column >= 1 && f.width >= 1);
        }
    }

    #[test]
    fn never_panics_on_any_text(text in "\\PC{0,400}") {
        let _ = check_text("p.rsql", &text, None, &Options::default());
    }
}

#[test]
fn deep_nesting_and_long_inputs_finish_quickly() {
    let started = Instant::now();
    let deep = "\\if :ERROR\n".repeat(100_000) + &"\\endif\n".repeat(100_000);
    let f = check_text("deep.rsql", &deep, None, &Options::default());
    // Past the depth limit the checker says it stops following the structure, once.
    assert_eq!(f.len(), 1, "{:?}", f.first());
    let many = "select :undefined_name;\n".repeat(20_000);
    let _ = check_text("many.rsql", &many, None, &Options::default());
    let unclosed = "\\if :ERROR\n".repeat(50_000);
    let _ = check_text("open.rsql", &unclosed, None, &Options::default());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

/// SQL pieces that reach the Redshift check: COPY/UNLOAD options, Redshift clauses, variables
/// in every position, broken syntax.
fn sql_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("copy t (a, a) from ".to_string()),
        Just("unload ('select '';''') to ".to_string()),
        Just("'s3://b/k' ".to_string()),
        Just(":'v' ".to_string()),
        Just(":\"v\" ".to_string()),
        Just(":v ".to_string()),
        Just("iam_role default ".to_string()),
        Just("partition by (a) include ".to_string()),
        Just("format as avro 'auto' ".to_string()),
        Just("delimeter '|' ".to_string()),
        Just("create table #t (a varchar(max) encode zstd distkey) ".to_string()),
        Just("interleaved sortkey(a) ".to_string()),
        Just("select top 1 nvl(a, 0) from ".to_string()),
        Just("collate case_insensitive ".to_string()),
        Just("grant select on t to u".to_string()),
        Just("( ".to_string()),
        Just(") ".to_string()),
        Just(", ".to_string()),
        Just(";\n".to_string()),
        Just("\u{e9}\u{1F600} ".to_string()),
        "[a-z:'\"();,.#\\n ]{0,10}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn sql_check_never_panics(parts in proptest::collection::vec(sql_fragment(), 0..30)) {
        let text: String = parts.concat();
        let options = Options { known_passed: vec!["v".into()], ..Options::default() };
        for f in check_text("s.sql", &text, None, &options) {
            prop_assert!(f.line >= 1 && f.column >= 1 && f.width >= 1);
        }
    }
}
