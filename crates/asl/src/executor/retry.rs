//! Retry and Catch around the work of a Task, Parallel or Map state: attempts, back-off on
//! the execution's clock, and the catcher that takes a failure.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::model::{Common, Jitter, MapState, Parallel, Retrier, Task, WorkData};

use super::entered::Entered;
use super::failures::{Failure, error_matches};
use super::fiber::Fiber;
use super::{Step, text};

/// The work of a state that has Retry and Catch.
#[derive(Clone, Copy)]
pub(super) enum Work<'a> {
    Task(&'a Task),
    Parallel(&'a Parallel),
    Map(&'a MapState),
}

impl<'a> Work<'a> {
    fn common(self) -> &'a Common {
        match self {
            Work::Task(t) => &t.common,
            Work::Parallel(p) => &p.common,
            Work::Map(m) => &m.common,
        }
    }
}

/// How long retrier `r` waits before its attempt after `count` earlier ones, before jitter.
fn backoff(r: &Retrier, count: u64) -> f64 {
    let delay = r.interval_seconds as f64 * r.backoff_rate.powi(count.min(i32::MAX as u64) as i32);
    // AWS accepts any BackoffRate >= 1 and MaxAttempts up to 99999999, so the back-off can
    // grow past any duration (or to infinity). It never exceeds MaxDelaySeconds, whose
    // largest allowed value (31622400 s, 366 days) is also what we cap at without one: a
    // Standard execution cannot last longer than a year anyway.
    // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
    // https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
    let cap = r
        .max_delay_seconds
        .unwrap_or(crate::validate::MAX_DELAY_SECONDS) as f64;
    if delay.is_nan() || delay > cap {
        cap
    } else {
        delay
    }
}

impl<'m> Entered<'_, 'm> {
    /// Runs Task, Parallel or Map work with InputPath, Retry, Catch, ResultSelector,
    /// ResultPath, OutputPath and Assign around it.
    pub(super) async fn with_retry(
        &self,
        work: Work<'m>,
        raw: Value,
        fiber: &mut Fiber,
    ) -> Result<Step<'m>, Failure> {
        let common = work.common();
        let outcome = match self.input(&raw) {
            Err(f) => Err(f),
            Ok(effective) => self.attempts(work, effective, fiber).await,
        };
        let result = match outcome {
            Ok(result) => result,
            Err(f) => return self.catch(common, raw, fiber, f),
        };
        let result_path = match &common.data {
            WorkData::JsonPath { result_path, .. } => Some(result_path),
            WorkData::Jsonata { .. } => None,
        };
        let out = match self.select_result(common, result).and_then(|result| {
            self.output(&raw, result, result_path, self.state.assign.as_ref(), None)
        }) {
            Ok(out) => out,
            Err(f) => return self.catch(common, raw, fiber, f),
        };
        if let Err(f) = self.check_size(&text(&out.value)) {
            return self.catch(common, raw, fiber, f);
        }
        Ok(self.transition(self.exit(fiber, out)?))
    }

    /// Attempts the work until it succeeds, fails fatally or no retrier (or none with
    /// attempts left) matches its error.
    async fn attempts(
        &self,
        work: Work<'_>,
        effective: Value,
        fiber: &mut Fiber,
    ) -> Result<Value, Failure> {
        let retriers = &work.common().retry;
        let mut counts = vec![0u64; retriers.len()];
        let mut retries = 0u64;
        loop {
            let r = self.attempt(work, effective.clone(), fiber, retries).await;
            // Parallel/Map work that started closes with its Failed event once no retry follows.
            let give_up = |fiber: &mut Fiber, f: Failure| -> Failure {
                if let Some(ev) = fiber.failed_event.take()
                    && let Err(e) = self.run.emit(fiber, ev, None)
                {
                    return e;
                }
                f
            };
            let r = match r {
                Err(f) => Err(self.report(fiber, f)?),
                ok => ok,
            };
            let f = match r {
                Ok(v) => {
                    fiber.failed_event = None;
                    return Ok(v);
                }
                Err(f) if f.fatal => {
                    fiber.failed_event = None;
                    return Err(f);
                }
                Err(f) => f,
            };
            let Some(i) = retriers
                .iter()
                .position(|r| error_matches(&r.error_equals, f.name()))
            else {
                return Err(give_up(fiber, f));
            };
            let r = &retriers[i];
            if counts[i] >= r.max_attempts {
                return Err(give_up(fiber, f));
            }
            fiber.failed_event = None;
            let mut delay = backoff(r, counts[i]);
            if r.jitter == Jitter::Full {
                let u = self.run.rng.lock().map(|mut g| g.next_f64()).unwrap_or(0.5);
                delay *= u;
            }
            counts[i] += 1;
            retries += 1;
            let a = fiber.take_awake();
            let delay = Duration::try_from_secs_f64(delay).unwrap_or(Duration::ZERO);
            fiber.awake = self.run.clock.sleep(a, delay).await;
        }
    }

    /// One attempt at the work (`retry` earlier attempts were retried).
    async fn attempt(
        &self,
        work: Work<'_>,
        effective: Value,
        fiber: &mut Fiber,
        retry: u64,
    ) -> Result<Value, Failure> {
        match work {
            Work::Task(t) => self.task_attempt(t, effective, fiber, retry).await,
            Work::Parallel(p) => self.parallel_attempt(p, effective, fiber).await,
            Work::Map(mp) => self.map_attempt(mp, effective, fiber).await,
        }
    }

    /// The first catcher that matches the failure takes it: the state exits with the
    /// catcher's output to the catcher's Next. Without one (or for a fatal failure) the
    /// failure goes on up.
    fn catch(
        &self,
        common: &'m Common,
        raw: Value,
        fiber: &mut Fiber,
        f: Failure,
    ) -> Result<Step<'m>, Failure> {
        let f = self.report(fiber, f)?;
        if f.fatal {
            return Err(f);
        }
        let Some(c) = common
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, f.name()))
        else {
            return Err(f);
        };
        let mut error_output = Map::new();
        error_output.insert("Error".into(), json!(f.error.clone().unwrap_or_default()));
        error_output.insert("Cause".into(), json!(f.cause.clone().unwrap_or_default()));
        let out = self.caught(c, &raw, Value::Object(error_output))?;
        Ok(Step::Next(c.next.as_str(), self.exit(fiber, out)?))
    }
}
