//! Test helpers shared by the unit tests: a guard that turns a hang into a failure.

use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on its own thread and returns its result, failing the test if it has not finished
/// within `secs` seconds. The bound is generous: it catches hangs and runaway (quadratic) work,
/// not slowness.
pub(crate) fn finishes_within<T: Send + 'static>(
    secs: u64,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => v,
        Err(e) => panic!("did not finish within {secs} s ({e})"),
    }
}
