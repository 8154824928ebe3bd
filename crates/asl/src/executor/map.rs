//! Map states: one attempt runs the item processor once per item, one after another or up
//! to MaxConcurrency at once, within the tolerated failures; a Distributed Map's iterations
//! are child executions (a map run) whose events stay out of this history, its items read,
//! batched and its results written as `map_run` says.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::distributed::MapRunNames;
use crate::history::{EventType, History};
use crate::model::MapState;

use super::entered::Entered;
use super::failures::Failure;
use super::fiber::Fiber;
use super::map_run::ChildRun;
use super::{ChildExecution, Run, Status, details, error_details, not_truncated, text};

/// A Distributed Map's children running at once when MaxConcurrency is not given.
const DISTRIBUTED_CONCURRENCY: usize = 10_000;

impl Entered<'_, '_> {
    /// One attempt at a Map state's work, from its effective input to the array of the
    /// iterations' outputs (or, for a Distributed Map with a ResultWriter, what it gives).
    pub(super) async fn map_attempt(
        &self,
        mp: &MapState,
        input: Value,
        fiber: &mut Fiber,
    ) -> Result<Value, Failure> {
        let run = self.run;
        run.ledger.forget_inside(&fiber.here);
        let name = self.name;
        // A JSONata Map whose items fail closes with MapStateFailed although it never
        // started (recorded: scenarios/base_scenarios.map_state_items_eval_jsonata_fail__*).
        if self.state.language() == crate::model::QueryLanguage::Jsonata {
            fiber.failed_event = Some(EventType::MapStateFailed);
        }
        // An ItemReader's items are read once the Map Run has started: MapStateStarted
        // records length 0 (AWS-recorded; see map_run.rs).
        let reads = mp.s3.as_ref().is_some_and(|d| d.spec.reader.is_some());
        let items = if reads {
            Vec::new()
        } else {
            self.map_items(mp, &input)?
        };
        let max_conc = self
            .map_count(
                &mp.max_concurrency,
                "MaxConcurrency",
                "MaxConcurrency cannot be negative.",
                &input,
            )?
            .unwrap_or(0);
        run.emit(
            fiber,
            EventType::MapStateStarted,
            details(vec![("length", json!(items.len()))]),
        )?;
        fiber.failed_event = Some(EventType::MapStateFailed);
        let tol_count = self.map_count(
            &mp.tolerated_failure_count,
            "ToleratedFailureCount",
            "ToleratedFailureCount cannot be negative.",
            &input,
        )?;
        let tol_pct = self.map_percentage(&mp.tolerated_failure_percentage, &input)?;
        let plan = match mp.s3.as_deref() {
            Some(d) => Some(self.map_run_plan(d, &input)?),
            None => None,
        };
        let distributed = mp.distributed.then(|| {
            let mut rng = run.rng();
            let label = mp.label.clone().unwrap_or_else(|| rng.uuid_v4());
            MapRunNames::from_parts(
                &run.opts.partition,
                &run.opts.region,
                &run.opts.account,
                &run.opts.state_machine_name,
                &label,
                &rng.uuid_v4(),
            )
        });
        let mut run_started = 0;
        if let Some(names) = &distributed {
            run_started = run.emit(
                fiber,
                EventType::MapRunStarted,
                details(vec![("mapRunArn", json!(names.map_run_arn()))]),
            )?;
        }
        let plan = match plan {
            None => None,
            Some(Ok(p)) => Some(p),
            Some(Err(f)) => return Err(run.map_run_failed(fiber, f)?),
        };
        let items = match plan.as_ref().and_then(|p| p.reader.as_ref()) {
            Some(reader) => match self.read_items(reader).await {
                Ok(items) => items,
                Err(f) => return Err(run.map_run_failed(fiber, f)?),
            },
            None => items,
        };
        // Items after ItemSelector, then grouped into batches.
        let mut inputs = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            inputs.push(self.map_item_input(mp, &input, i, item)?);
        }
        if let Some((limits, batch_input)) = plan.as_ref().and_then(|p| p.batcher.as_ref()) {
            inputs = limits.batch(inputs, batch_input.as_ref());
        }
        let writer = plan.and_then(|p| p.writer);
        let child_inputs = writer.as_ref().map(|_| inputs.clone());
        let n = inputs.len();
        // A Distributed Map's children are executions with names (and histories) of their own.
        let child_names: Vec<String> = match &distributed {
            Some(_) => {
                let mut rng = run.rng();
                (0..n).map(|_| rng.uuid_v4()).collect()
            }
            None => Vec::new(),
        };
        let child = |i: usize| {
            distributed
                .as_ref()
                .map(|names| (names, child_names[i].as_str()))
        };
        // Without MaxConcurrency a Distributed Map runs 10,000 children at once (AWSDOC
        // "Using Map state in Distributed mode": "If you don't specify, Step Functions runs
        // 10,000 parallel child workflow executions"); an inline Map, all of its iterations.
        let limit = match max_conc {
            0 if mp.distributed => n.clamp(1, DISTRIBUTED_CONCURRENCY),
            0 => n.max(1),
            m => m as usize,
        };
        let tolerated = |failed: usize| -> bool {
            if failed == 0 {
                return true;
            }
            let by_count = tol_count.is_some_and(|c| failed as u64 <= c);
            let by_pct = tol_pct.is_some_and(|p| (failed as f64) * 100.0 / (n as f64) <= p);
            by_count || by_pct
        };
        let mut results: Vec<Value> = vec![Value::Null; n];
        let mut runs: Vec<Option<ChildRun>> = Vec::new();
        runs.resize_with(n, || None);
        let mut record = |i: usize, r: &Result<Value, Failure>, started, stopped| {
            if writer.is_some() {
                runs[i] = Some(ChildRun {
                    result: match r {
                        Ok(v) => Ok(v.clone()),
                        Err(e) => Err((e.error.clone(), e.cause.clone())),
                    },
                    started,
                    stopped,
                });
            }
        };
        let mut failed = 0usize;
        let mut first_failure: Option<Failure> = None;
        let mut stop: Option<Failure> = None;
        // Distributed iterations are child executions: their events are not in this history.
        let child_history = || distributed.as_ref().map(|_| History::default());
        let mut last = fiber.last;
        let mut side = 0u64;
        let started = fiber.last;
        if limit == 1 {
            // Sequential: each iteration follows the previous one's last event.
            let mut prev = started;
            for (i, item) in inputs.into_iter().enumerate() {
                let mut f = Fiber::child(
                    fiber.take_awake(),
                    prev,
                    Arc::new(self.scope.child()),
                    format!("{}#{i}/", fiber.here),
                )
                .recording_in(child_history())
                .in_execution(fiber.execution.clone());
                let t0 = run.now();
                let r = run.iteration(mp, name, i, item, &mut f, child(i)).await;
                record(i, &r, t0, run.now());
                fiber.awake = f.take_awake();
                prev = f.last;
                last = f.last;
                side = side.max(f.side);
                match r {
                    Ok(v) => results[i] = v,
                    Err(e) if e.fatal => return Err(e),
                    Err(e) => {
                        failed += 1;
                        if !tolerated(failed) {
                            stop = Some(first_failure.take().unwrap_or(e));
                            break;
                        }
                        first_failure.get_or_insert(e);
                    }
                }
            }
        } else {
            let child_scope = Arc::new(self.scope.child());
            let here = fiber.here.clone();
            let execution = fiber.execution.clone();
            let mut stream =
                futures::stream::iter(inputs.into_iter().enumerate().map(|(i, item)| {
                    let mut f = Fiber::child(
                        run.clock.acquire(),
                        started,
                        child_scope.clone(),
                        format!("{here}#{i}/"),
                    )
                    .recording_in(child_history())
                    .in_execution(execution.clone());
                    let child = child(i);
                    async move {
                        let t0 = run.now();
                        let r = run.iteration(mp, name, i, item, &mut f, child).await;
                        (i, r, f.last.max(f.side), f.take_awake(), t0, run.now())
                    }
                }))
                .buffer_unordered(limit);
            // Hold an Awake until the stream has started the next iterations, so virtual time
            // does not jump between one iteration ending and the next starting.
            let mut hold = Some(fiber.take_awake());
            loop {
                let mut next = stream.next();
                let item = match futures::poll!(&mut next) {
                    std::task::Poll::Ready(x) => x,
                    std::task::Poll::Pending => {
                        hold = None;
                        next.await
                    }
                };
                let Some((i, r, l, awake, t0, t1)) = item else {
                    break;
                };
                hold = Some(awake);
                last = last.max(l);
                record(i, &r, t0, t1);
                match r {
                    Ok(v) => results[i] = v,
                    Err(e) if e.fatal => {
                        stop = Some(e);
                        break;
                    }
                    Err(e) => {
                        failed += 1;
                        if !tolerated(failed) {
                            stop = Some(first_failure.take().unwrap_or(e));
                            break;
                        }
                        first_failure.get_or_insert(e);
                    }
                }
            }
            drop(stream);
            fiber.awake = match hold.take() {
                Some(a) if !a.is_none() => a,
                _ => run.clock.acquire(),
            };
        }
        if let Some(e) = stop {
            fiber.last = if distributed.is_some() { started } else { last };
            if e.fatal {
                return Err(e);
            }
            if let (Some(to), Some(names), Some(inputs)) = (&writer, &distributed, child_inputs) {
                // The results so far are exported although the run fails (AWSDOC
                // "ResultWriter (Map)": FAILED and PENDING result files); the run's failure
                // is the threshold's, whatever the export gives.
                let _ = run
                    .write_results(to, names, &child_names, inputs, runs)
                    .await;
            }
            return Err(run.map_failed(fiber, &distributed, e)?);
        }
        let mut output = Value::Array(results);
        if let Some(names) = &distributed {
            fiber.last = started;
            if let (Some(to), Some(inputs)) = (&writer, child_inputs) {
                match run
                    .write_results(to, names, &child_names, inputs, runs)
                    .await
                {
                    Ok(v) => output = v,
                    Err(f) => return Err(run.map_run_failed(fiber, f)?),
                }
            }
            run.emit(fiber, EventType::MapRunSucceeded, None)?;
            run.emit_side(fiber, EventType::MapStateSucceeded, None)?;
            // Since late 2024 AWS links MapStateExited to MapRunStarted (older recordings
            // link it to MapRunSucceeded; see CONFORMANCE.md).
            fiber.last = run_started;
        } else {
            // MapStateSucceeded and MapStateExited both follow the last iteration's event.
            fiber.last = last.max(side);
            run.emit_side(fiber, EventType::MapStateSucceeded, None)?;
        }
        Ok(output)
    }
}

impl Run {
    /// The failure a Map attempt ends with once the tolerated failures are exceeded; a
    /// Distributed Map's run records MapRunFailed and fails with
    /// States.ExceedToleratedFailureThreshold.
    fn map_failed(
        &self,
        fiber: &mut Fiber,
        distributed: &Option<MapRunNames>,
        e: Failure,
    ) -> Result<Failure, Failure> {
        if distributed.is_some() {
            self.emit(fiber, EventType::MapRunFailed, None)?;
            return Ok(Failure::new(
                "States.ExceedToleratedFailureThreshold",
                "The specified tolerated failure threshold was exceeded",
            ));
        }
        Ok(e)
    }

    /// One iteration of Map state `name`: the item processor on `item`, in fiber `f`; for a
    /// Distributed Map (`child`: the Map Run's names and the child's name), a child execution.
    async fn iteration(
        &self,
        mp: &MapState,
        name: &str,
        index: usize,
        item: Value,
        f: &mut Fiber,
        child: Option<(&MapRunNames, &str)>,
    ) -> Result<Value, Failure> {
        if let Some((names, child_name)) = child {
            return self.child_execution(mp, item, f, names, child_name).await;
        }
        let d = || details(vec![("index", json!(index)), ("name", json!(name))]);
        self.emit(f, EventType::MapIterationStarted, d())?;
        let r = self.run_machine(&mp.processor, item, f).await;
        match &r {
            Ok(_) => {
                f.side = self.emit_side(f, EventType::MapIterationSucceeded, d())?;
            }
            Err(e) if !e.fatal => {
                self.emit_side(f, EventType::MapIterationFailed, d())?;
            }
            Err(_) => {}
        }
        r
    }

    /// A Distributed Map's child execution, recorded in its own history (`f`'s) as an
    /// execution is: ExecutionStarted with its input, its states, then ExecutionSucceeded with
    /// its output or ExecutionFailed with the error and cause.
    async fn child_execution(
        &self,
        mp: &MapState,
        item: Value,
        f: &mut Fiber,
        names: &MapRunNames,
        child_name: &str,
    ) -> Result<Value, Failure> {
        let history = f.history.clone().unwrap_or_default();
        self.emit(
            f,
            EventType::ExecutionStarted,
            details(vec![
                ("input", json!(text(&item))),
                ("inputDetails", not_truncated()),
                ("roleArn", json!(self.opts.role_arn)),
            ]),
        )?;
        // The first state's event follows event 0, as in any execution.
        f.first = true;
        // `$$.Execution` is the child's (AWSDOC "Distributed Map state": each child workflow
        // execution has its own execution ARN and input).
        f.execution = Some(std::sync::Arc::new(json!({
            "Id": names.child_execution_arn(child_name),
            "Input": item,
            "StartTime": crate::timestamp::format(self.now()),
            "Name": child_name,
            "RoleArn": self.opts.role_arn,
            "RedriveCount": 0,
        })));
        let r = self.run_machine(&mp.processor, item, f).await;
        let stop = self.now();
        let status = match &r {
            Ok(out) => {
                history.push_final(
                    EventType::ExecutionSucceeded,
                    f.last,
                    stop,
                    details(vec![
                        ("output", json!(text(out))),
                        ("outputDetails", not_truncated()),
                    ]),
                );
                Status::Succeeded
            }
            Err(e) => {
                history.push_final(
                    EventType::ExecutionFailed,
                    f.last,
                    stop,
                    Some(error_details(&e.error, &e.cause)),
                );
                Status::Failed
            }
        };
        self.children
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ChildExecution {
                map_run_arn: names.map_run_arn(),
                execution_arn: names.child_execution_arn(child_name),
                name: child_name.to_string(),
                status,
                history,
            });
        r
    }
}
