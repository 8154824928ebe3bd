//! Times `check::check_paths` over the paths given (the library's share of `rsqlflow check`),
//! e.g. `cargo run --release -p check --example check_speed -- DIR`.

use std::time::Instant;

fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let options = check::Options {
        known_passed: vec!["data_uri".into()],
        ..check::Options::default()
    };
    let start = Instant::now();
    match check::check_paths(&paths, &options) {
        Ok(o) => println!(
            "{} files, {} errors, {} warnings in {:.3} s",
            o.files,
            o.count(check::Severity::Error),
            o.count(check::Severity::Warning),
            start.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}
