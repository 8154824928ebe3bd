//! Runs a definition file N times and prints the best time: `cargo run --release -p asl
//! --example run_file -- FILE [INPUT.json] [N]`. A profiling aid.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let def = std::fs::read_to_string(&args[1]).expect("definition");
    let input: serde_json::Value = args
        .get(2)
        .filter(|s| !s.is_empty())
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).expect("input")).expect("json"))
        .unwrap_or(serde_json::json!({}));
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let machine = asl::load(&def).expect("valid");
    let exec = asl::Executor::new(machine, asl::Registry::new());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut best = f64::MAX;
    for _ in 0..n {
        let t0 = Instant::now();
        let r = rt.block_on(exec.run(input.clone(), asl::Options::default()));
        assert_eq!(r.status, asl::Status::Succeeded);
        best = best.min(t0.elapsed().as_secs_f64() * 1000.0);
    }
    println!("{best:.3} ms");
}
