//! Task states: one attempt at a task (its Task*/LambdaFunction* events), invoking the
//! handler registered for its resource under TimeoutSeconds, and the integration patterns
//! (request-response, `.sync`, `.waitForTaskToken` with its heartbeats).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::clock::{Awake, Timer};
use crate::history::{Details, EventType};
use crate::model::Task;
use crate::task::{Pattern, Resource, TaskCall, TaskContext, TaskFailure, unregistered};

use super::entered::Entered;
use super::failures::{Failure, deep_result};
use super::fiber::Fiber;
use super::handle::{Callback, Waiting};
use super::{Run, details, not_truncated, text};

/// How a task's invocation went wrong.
enum Attempt {
    /// TimeoutSeconds or HeartbeatSeconds passed: States.Timeout or States.HeartbeatTimeout.
    TimedOut(&'static str),
    /// The handler or the callback failed.
    Failed(TaskFailure),
    /// Not the task's failure: no TaskFailed event, no Retry or Catch.
    Fatal(Failure),
}

/// One invocation of a task's handler.
struct Invocation {
    resource: Resource,
    /// The task's input after Parameters.
    input: Value,
    /// The token of a `.waitForTaskToken` task.
    token: Option<String>,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
}

impl Entered<'_, '_> {
    /// One attempt at a Task state's work (`retry` earlier attempts were retried), from its
    /// effective input to its result.
    pub(super) async fn task_attempt(
        &self,
        t: &Task,
        input: Value,
        fiber: &mut Fiber,
        retry: u64,
    ) -> Result<Value, Failure> {
        let run = self.run;
        let r = Resource::parse(&t.resource);
        let ctx = self.context_at_retry(retry);
        let env = self.env_with(&ctx);
        let timeout = self.task_seconds(&t.timeout, "TimeoutSeconds", &input, &env)?;
        let heartbeat = self.task_seconds(&t.heartbeat, "HeartbeatSeconds", &input, &env)?;
        let token = (r.pattern == Pattern::WaitForTaskToken).then(|| {
            let n = run.token_seq.fetch_add(1, Ordering::Relaxed);
            format!("{}-{n}", run.rng().uuid_v4())
        });
        // Parameters see the context object, with $$.Task.Token for callbacks.
        let mut tctx = ctx.clone();
        if let Some(tok) = &token {
            tctx["Task"] = json!({"Token": tok});
        }
        let input = self.work_input(&t.common.data, input, &tctx)?;
        let legacy = r.legacy_lambda;
        if legacy {
            let mut d = Details::new();
            d.insert("input", json!(text(&input)));
            d.insert("inputDetails", not_truncated());
            d.insert("resource", json!(r.arn));
            if let Some(s) = timeout {
                d.insert("timeoutInSeconds", json!(s));
            }
            run.emit(fiber, EventType::LambdaFunctionScheduled, Some(d))?;
            run.emit(fiber, EventType::LambdaFunctionStarted, None)?;
        } else {
            let mut d = Details::new();
            d.insert("resourceType", json!(r.resource_type));
            d.insert("resource", json!(r.resource));
            d.insert("region", json!(run.opts.region));
            d.insert("parameters", json!(text(&input)));
            if let Some(s) = timeout {
                d.insert("timeoutInSeconds", json!(s));
            }
            if let Some(s) = heartbeat {
                d.insert("heartbeatInSeconds", json!(s));
            }
            run.emit(fiber, EventType::TaskScheduled, Some(d))?;
            run.emit(
                fiber,
                EventType::TaskStarted,
                details(vec![
                    ("resourceType", json!(r.resource_type)),
                    ("resource", json!(r.resource)),
                ]),
            )?;
        }
        let outcome = self
            .invoke(
                Invocation {
                    resource: r.clone(),
                    input,
                    token,
                    timeout,
                    heartbeat,
                },
                fiber,
            )
            .await;
        // The closing event: LambdaFunction* for a legacy Lambda ARN, else Task* naming the
        // resource.
        let closing = |task: EventType, lambda: EventType, d: Vec<(&'static str, Value)>| {
            if legacy {
                return (lambda, details(d));
            }
            let mut d = d;
            d.insert(0, ("resource", json!(r.resource)));
            d.insert(0, ("resourceType", json!(r.resource_type)));
            (task, details(d))
        };
        let (kind, d, result) = match outcome {
            Ok(v) => {
                let out_text = text(&v);
                match self.check_size(&out_text) {
                    Err(f) => {
                        let (kind, d) = closing(
                            EventType::TaskFailed,
                            EventType::LambdaFunctionFailed,
                            vec![("cause", json!(f.cause)), ("error", json!(f.error))],
                        );
                        (kind, d, Err(f))
                    }
                    Ok(()) => {
                        let (kind, d) = closing(
                            EventType::TaskSucceeded,
                            EventType::LambdaFunctionSucceeded,
                            vec![
                                ("output", json!(out_text)),
                                ("outputDetails", not_truncated()),
                            ],
                        );
                        (kind, d, Ok(v))
                    }
                }
            }
            Err(Attempt::TimedOut(error)) => {
                let (kind, d) = closing(
                    EventType::TaskTimedOut,
                    EventType::LambdaFunctionTimedOut,
                    vec![("error", json!(error))],
                );
                (kind, d, Err(Failure::raised(Some(error.to_string()), None)))
            }
            Err(Attempt::Failed(f)) => {
                let mut d = Vec::new();
                if let Some(c) = &f.cause {
                    d.push(("cause", json!(c)));
                }
                d.push(("error", json!(f.error)));
                let (kind, d) = closing(EventType::TaskFailed, EventType::LambdaFunctionFailed, d);
                (kind, d, Err(Failure::of_task(f)))
            }
            Err(Attempt::Fatal(f)) => return Err(f),
        };
        run.emit(fiber, kind, d)?;
        result
    }

    /// Invokes the handler registered for the resource; for `.sync`, completes the job;
    /// for `.waitForTaskToken`, waits for the callback.
    async fn invoke(&self, inv: Invocation, fiber: &mut Fiber) -> Result<Value, Attempt> {
        let run = self.run;
        let r = &inv.resource;
        let token = inv.token;
        let Some(chosen) = run.registry.choose(self.name, r) else {
            let f = unregistered(r);
            if f.error == "States.Runtime" {
                return Err(Attempt::Fatal(Failure::new(
                    "States.Runtime",
                    f.cause.unwrap_or_default(),
                )));
            }
            return Err(Attempt::Failed(f));
        };
        let handler = chosen.handler;
        let call = TaskCall {
            resource: r.clone(),
            input: inv.input,
            state_name: self.name.to_string(),
            execution_arn: run.opts.execution_arn(),
            task_token: token.clone(),
        };
        let slot = Arc::new(Mutex::new(None));
        let tctx = TaskContext {
            clock: run.clock.clone(),
            slot: slot.clone(),
        };
        // Register the token before the handler runs, so it can answer at once.
        let waiting = token.as_ref().map(|tok| run.handle.wait_for(tok));
        let mut deadline = inv.timeout.map(|s| run.clock.timer(Duration::from_secs(s)));
        let submitted = match run
            .under_deadline(
                handler.invoke(call.clone(), tctx.clone()),
                &slot,
                &mut deadline,
                fiber,
            )
            .await
        {
            Err(()) => {
                run.handle.forget(&token);
                return Err(Attempt::TimedOut("States.Timeout"));
            }
            Ok(Err(f)) => {
                run.handle.forget(&token);
                return Err(Attempt::Failed(f));
            }
            Ok(Ok(v)) => v,
        };
        if r.pattern == Pattern::RequestResponse || r.legacy_lambda || chosen.final_answer {
            run.handle.forget(&token);
            return Ok(submitted);
        }
        let mut d = Details::new();
        d.insert("resourceType", json!(r.resource_type));
        d.insert("resource", json!(r.resource));
        d.insert("output", json!(text(&submitted)));
        d.insert("outputDetails", not_truncated());
        run.emit(fiber, EventType::TaskSubmitted, Some(d))
            .map_err(Attempt::Fatal)?;
        if r.pattern == Pattern::Sync {
            return match run
                .under_deadline(
                    handler.complete(submitted, call, tctx),
                    &slot,
                    &mut deadline,
                    fiber,
                )
                .await
            {
                Err(()) => Err(Attempt::TimedOut("States.Timeout")),
                Ok(Err(f)) => Err(Attempt::Failed(f)),
                Ok(Ok(v)) => Ok(v),
            };
        }
        let Some(waiting) = waiting else {
            return Ok(submitted);
        };
        run.callback(waiting, &token, inv.heartbeat, deadline, fiber)
            .await
    }
}

impl Run {
    /// Runs a handler future under the task's deadline, lending it the fiber's Awake.
    async fn under_deadline<F>(
        &self,
        fut: F,
        slot: &Arc<Mutex<Option<Awake>>>,
        deadline: &mut Option<Timer>,
        fiber: &mut Fiber,
    ) -> Result<Result<Value, TaskFailure>, ()>
    where
        F: std::future::Future<Output = Result<Value, TaskFailure>>,
    {
        if let Ok(mut s) = slot.lock() {
            *s = Some(fiber.take_awake());
        }
        tokio::pin!(fut);
        let outcome = match deadline.as_mut() {
            None => Ok(fut.await),
            Some(d) => {
                tokio::select! {
                    r = &mut fut => Ok(r),
                    a = d => Err(a),
                }
            }
        };
        let lent = slot.lock().ok().and_then(|mut s| s.take());
        match outcome {
            Ok(r) => {
                let r = r.and_then(deep_result);
                fiber.awake = lent.unwrap_or_else(|| self.clock.acquire());
                Ok(r)
            }
            Err(a) => {
                // Timed out while the handler slept: the timer's Awake is ours now.
                drop(lent);
                fiber.awake = a;
                Err(())
            }
        }
    }

    /// `.waitForTaskToken`: waits for the callback, under the timeout and the heartbeat.
    async fn callback(
        &self,
        waiting: Waiting,
        token: &Option<String>,
        heartbeat: Option<u64>,
        mut deadline: Option<Timer>,
        fiber: &mut Fiber,
    ) -> Result<Value, Attempt> {
        let Waiting {
            callback: mut rx,
            heartbeats: mut hb_rx,
        } = waiting;
        // The heartbeat timer exists before the Awake is given up, so virtual time cannot
        // skip it.
        let mut hb_timer = heartbeat.map(|s| self.clock.timer(Duration::from_secs(s)));
        drop(fiber.take_awake());
        loop {
            let hb_timer_now = hb_timer.take();
            let hb_fut = async {
                match hb_timer_now {
                    Some(t) => t.await,
                    None => std::future::pending().await,
                }
            };
            let total_fut = async {
                match deadline.as_mut() {
                    Some(t) => t.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = &mut rx => {
                    return match r {
                        Ok((cb, awake)) => {
                            fiber.awake = awake;
                            match cb {
                                Callback::Success(v) => deep_result(v).map_err(Attempt::Failed),
                                Callback::Failure(f) => Err(Attempt::Failed(f)),
                            }
                        }
                        Err(_) => {
                            fiber.awake = self.clock.acquire();
                            Err(Attempt::Fatal(Failure::new("States.Runtime", "the task token was dropped")))
                        }
                    };
                }
                a = hb_fut => {
                    fiber.awake = a;
                    self.handle.forget(token);
                    return Err(Attempt::TimedOut("States.HeartbeatTimeout"));
                }
                a = total_fut => {
                    fiber.awake = a;
                    self.handle.forget(token);
                    return Err(Attempt::TimedOut("States.Timeout"));
                }
                changed = hb_rx.changed() => {
                    if changed.is_err() {
                        // The waiter was completed: the result is on `rx`.
                        continue;
                    }
                    hb_timer = heartbeat.map(|s| self.clock.timer(Duration::from_secs(s)));
                }
            }
        }
    }
}
