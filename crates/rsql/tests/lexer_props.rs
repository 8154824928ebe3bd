//! Property tests for the lexer and the argument and expression parsers: arbitrary input never
//! panics, and the lexed pieces always tile the input exactly.

use proptest::prelude::*;
use rsql::lexer::{PieceKind, lex};
use rsql::vars::Variables;

/// Text biased towards the characters the lexer cares about.
fn sqlish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "'", "\"", "$$", "$a$", "$", "--", "/*", "*/", "(", ")", ";", "\\", "\\\\", ":", "::",
        ":'v'", ":\"v\"", ":v", "\n", " ", "E'", "\\echo ", "\\if ", "select", "x", "é", "`",
    ]);
    prop::collection::vec(atoms, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn pieces_tile_the_input(src in sqlish()) {
        check_tiling(&src)?;
    }

    #[test]
    fn arbitrary_unicode_never_panics(src in any::<String>()) {
        check_tiling(&src)?;
    }

    #[test]
    fn args_and_expressions_never_panic(src in sqlish()) {
        let vars = Variables::new();
        let _ = rsql::args::parse(&src, &vars, &mut |_| Ok(String::new()));
        let _ = rsql::expr::evaluate(&src, &vars);
        let _ = rsql::copy::parse(&src);
    }
}

fn check_tiling(src: &str) -> Result<(), TestCaseError> {
    let pieces = lex(src);
    let mut joined = String::with_capacity(src.len());
    let mut pos = 0;
    for p in &pieces {
        prop_assert_eq!(p.range.start, pos);
        prop_assert!(p.range.end > p.range.start);
        joined.push_str(&src[p.range.clone()]);
        pos = p.range.end;
        match &p.kind {
            PieceKind::Sql(c) => {
                prop_assert!(c.content_start >= p.range.start && c.content_start <= p.range.end);
                for v in &c.vars {
                    prop_assert!(v.range.start >= p.range.start && v.range.end <= p.range.end);
                }
            }
            PieceKind::Meta(m) => {
                prop_assert!(m.args.end <= p.range.end && m.name.start > p.range.start);
                prop_assert_eq!(&src[p.range.start..p.range.start + 1], "\\");
            }
        }
    }
    prop_assert_eq!(joined, src);
    Ok(())
}
