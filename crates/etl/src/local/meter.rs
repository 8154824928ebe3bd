//! What a local run measures for its cost estimate (`rsqlflow cost`): each Lambda handler's
//! invocations and the time they took in process, and each job's time on the warehouse (the
//! sum of its statements' durations, measured around the backend every statement goes
//! through).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rsql::backend::{ConnectionLost, Outcome};
use tokio::io::{AsyncRead, AsyncWrite};

/// The run's measurements.
#[derive(Debug, Default)]
pub struct Meter {
    lambdas: Mutex<BTreeMap<String, LambdaCalls>>,
    sql: Mutex<BTreeMap<String, u64>>,
}

/// A Lambda handler's invocations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LambdaCalls {
    pub invocations: u64,
    /// Their durations summed, each rounded up to the millisecond as Lambda bills them.
    pub ms: u64,
}

/// What a run measured.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Reading {
    /// By function (`submit-job`, `check-job`, `notify`).
    pub lambdas: BTreeMap<String, LambdaCalls>,
    /// Milliseconds of SQL by job id.
    pub sql_ms: BTreeMap<String, u64>,
}

impl Meter {
    /// Counts one invocation of `function` that took `took`.
    pub fn lambda(&self, function: &str, took: Duration) {
        if let Ok(mut m) = self.lambdas.lock() {
            let c = m.entry(function.to_string()).or_default();
            c.invocations += 1;
            c.ms += took.as_micros().div_ceil(1000) as u64;
        }
    }

    /// Adds a job's SQL time.
    pub fn sql(&self, job_id: &str, micros: u64) {
        if let Ok(mut m) = self.sql.lock() {
            *m.entry(job_id.to_string()).or_default() += micros / 1000;
        }
    }

    pub fn reading(&self) -> Reading {
        Reading {
            lambdas: self.lambdas.lock().map(|m| m.clone()).unwrap_or_default(),
            sql_ms: self.sql.lock().map(|m| m.clone()).unwrap_or_default(),
        }
    }
}

/// Times `f`, counting it as an invocation of `function` on `meter`.
pub async fn timed<T>(
    meter: Option<&Meter>,
    function: &str,
    f: impl std::future::Future<Output = T>,
) -> T {
    let t0 = Instant::now();
    let out = f.await;
    if let Some(m) = meter {
        m.lambda(function, t0.elapsed());
    }
    out
}

/// A backend that adds the time each statement takes (in microseconds) to `spent`.
pub struct Timed<'a> {
    pub inner: &'a mut dyn rsql::Backend,
    pub spent: Arc<AtomicU64>,
}

impl Timed<'_> {
    fn add(&self, t0: Instant) {
        self.spent
            .fetch_add(t0.elapsed().as_micros() as u64, Ordering::Relaxed);
    }
}

#[async_trait]
impl rsql::Backend for Timed<'_> {
    async fn execute(&mut self, sql: &str) -> Result<Outcome, ConnectionLost> {
        let t0 = Instant::now();
        let out = self.inner.execute(sql).await;
        self.add(t0);
        out
    }

    async fn copy_in(
        &mut self,
        sql: &str,
        data: &mut (dyn AsyncRead + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        let t0 = Instant::now();
        let out = self.inner.copy_in(sql, data).await;
        self.add(t0);
        out
    }

    async fn copy_out(
        &mut self,
        sql: &str,
        sink: &mut (dyn AsyncWrite + Send + Unpin),
    ) -> Result<Outcome, ConnectionLost> {
        let t0 = Instant::now();
        let out = self.inner.copy_out(sql, sink).await;
        self.add(t0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_durations_round_up_to_the_millisecond() {
        let m = Meter::default();
        m.lambda("submit-job", Duration::from_micros(1_001));
        m.lambda("submit-job", Duration::from_micros(10));
        m.sql("j1", 2_500);
        m.sql("j1", 2_500);
        let r = m.reading();
        assert_eq!(
            r.lambdas["submit-job"],
            LambdaCalls {
                invocations: 2,
                ms: 3
            }
        );
        assert_eq!(r.sql_ms["j1"], 4);
    }
}
