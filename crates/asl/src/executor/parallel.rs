//! Parallel states: one attempt runs every branch concurrently in its own fiber, and the
//! last branch to finish (or the first to fail) hands virtual time back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::history::EventType;
use crate::model::Parallel;

use super::entered::Entered;
use super::failures::Failure;
use super::fiber::Fiber;

impl Entered<'_, '_> {
    /// One attempt at a Parallel state's work: Parameters or Arguments, then the branches
    /// (each with that input); the result is
    /// the array of their outputs.
    pub(super) async fn parallel_attempt(
        &self,
        p: &Parallel,
        input: Value,
        fiber: &mut Fiber,
    ) -> Result<Value, Failure> {
        let run = self.run;
        let input = self.work_input(&p.common.data, input, &self.context)?;
        run.ledger.forget_inside(&fiber.here);
        run.emit(fiber, EventType::ParallelStateStarted, None)?;
        fiber.failed_event = Some(EventType::ParallelStateFailed);
        let started = fiber.last;
        // Each branch holds its own Awake; the last branch to finish (or the first to fail)
        // hands its Awake back to the parent, so virtual time never jumps in between.
        let remaining = AtomicU64::new(p.branches.len() as u64);
        let child_scope = Arc::new(fiber.scope.child());
        let here = fiber.here.clone();
        let execution = fiber.execution.clone();
        let futs = p.branches.iter().enumerate().map(|(bi, b)| {
            let mut bf = Fiber::child(
                run.clock.acquire(),
                started,
                child_scope.clone(),
                format!("{here}[{bi}]/"),
            )
            .in_execution(execution.clone());
            let input = input.clone();
            let remaining = &remaining;
            async move {
                let r = run.run_machine(b, input, &mut bf).await;
                let last_one = remaining.fetch_sub(1, Ordering::AcqRel) == 1;
                let keep = (last_one || r.is_err()).then(|| bf.take_awake());
                match r {
                    Ok(v) => Ok((v, bf.last, keep)),
                    Err(f) => Err((f, bf.last, keep)),
                }
            }
        });
        let parent = fiber.take_awake();
        let mut joined = Box::pin(futures::future::try_join_all(futs));
        let results = match futures::poll!(joined.as_mut()) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => {
                drop(parent);
                joined.await
            }
        };
        let results = match results {
            Ok(outs) => {
                let mut vals = Vec::with_capacity(outs.len());
                for (v, l, keep) in outs {
                    fiber.last = fiber.last.max(l);
                    if let Some(a) = keep {
                        fiber.awake = a;
                    }
                    vals.push(v);
                }
                Ok(vals)
            }
            Err((f, l, keep)) => {
                fiber.last = fiber.last.max(l);
                if let Some(a) = keep {
                    fiber.awake = a;
                }
                Err(f)
            }
        };
        if fiber.awake.is_none() {
            fiber.awake = run.clock.acquire();
        }
        let outs = results?;
        run.emit(fiber, EventType::ParallelStateSucceeded, None)?;
        Ok(Value::Array(outs))
    }
}
