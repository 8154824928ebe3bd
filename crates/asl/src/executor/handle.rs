//! The handle on a running execution: task-token callbacks (SendTaskSuccess, SendTaskFailure,
//! SendTaskHeartbeat) delivered to the task that waits for them, and StopExecution.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::{oneshot, watch};

use crate::clock::{Awake, Clock};
use crate::history::History;
use crate::task::TaskFailure;

/// What a callback brings back for a task token.
pub(super) enum Callback {
    Success(Value),
    Failure(TaskFailure),
}

struct Waiter {
    tx: oneshot::Sender<(Callback, Awake)>,
    heartbeat: watch::Sender<u64>,
}

/// What a task waiting for its token listens to: the callback (with the Awake that keeps
/// virtual time still until the task has taken it) and the heartbeats.
pub(super) struct Waiting {
    pub(super) callback: oneshot::Receiver<(Callback, Awake)>,
    pub(super) heartbeats: watch::Receiver<u64>,
}

/// Why an execution was stopped (StopExecution's error and cause).
pub(super) type StopRequest = (Option<String>, Option<String>);

/// Sends task-token callbacks into a running execution, and stops it.
#[derive(Clone)]
pub struct Handle {
    clock: Clock,
    waiters: Arc<Mutex<HashMap<String, Waiter>>>,
    history: History,
    stop: Arc<watch::Sender<Option<StopRequest>>>,
}

/// A callback for a token nobody waits for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Task Timed Out: 'Provided task does not exist anymore' (token {0})")]
pub struct InvalidToken(pub String);

impl Handle {
    /// A handle on an execution that runs on `clock` and records into `history`, and what
    /// the execution listens to for a stop.
    pub(super) fn new(
        clock: Clock,
        history: History,
    ) -> (Handle, watch::Receiver<Option<StopRequest>>) {
        let (stop_tx, stop_rx) = watch::channel(None);
        let handle = Handle {
            clock,
            waiters: Arc::new(Mutex::new(HashMap::new())),
            history,
            stop: Arc::new(stop_tx),
        };
        (handle, stop_rx)
    }

    /// Starts waiting for `token`'s callback (before the task runs, so that it can answer
    /// at once).
    pub(super) fn wait_for(&self, token: &str) -> Waiting {
        let (tx, callback) = oneshot::channel();
        let (heartbeat, heartbeats) = watch::channel(0u64);
        if let Ok(mut m) = self.waiters.lock() {
            m.insert(token.to_string(), Waiter { tx, heartbeat });
        }
        Waiting {
            callback,
            heartbeats,
        }
    }

    /// Stops waiting for `token`: a later callback is an [`InvalidToken`].
    pub(super) fn forget(&self, token: &Option<String>) {
        if let (Some(t), Ok(mut m)) = (token, self.waiters.lock()) {
            m.remove(t);
        }
    }

    fn complete(&self, token: &str, cb: Callback) -> Result<(), InvalidToken> {
        let w = self
            .waiters
            .lock()
            .ok()
            .and_then(|mut m| m.remove(token))
            .ok_or_else(|| InvalidToken(token.to_string()))?;
        let awake = self.clock.acquire();
        w.tx.send((cb, awake))
            .map_err(|_| InvalidToken(token.to_string()))
    }

    /// SendTaskSuccess.
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), InvalidToken> {
        self.complete(token, Callback::Success(output))
    }

    /// SendTaskFailure.
    pub fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: Option<&str>,
    ) -> Result<(), InvalidToken> {
        self.complete(
            token,
            Callback::Failure(TaskFailure {
                error: error.to_string(),
                cause: cause.map(String::from),
            }),
        )
    }

    /// SendTaskHeartbeat.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), InvalidToken> {
        let m = self
            .waiters
            .lock()
            .map_err(|_| InvalidToken(token.into()))?;
        let w = m
            .get(token)
            .ok_or_else(|| InvalidToken(token.to_string()))?;
        w.heartbeat.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Tokens currently waited for.
    pub fn pending_tokens(&self) -> Vec<String> {
        self.waiters
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Keeps virtual time from advancing while the caller works on a callback.
    pub fn busy(&self) -> Awake {
        self.clock.acquire()
    }

    /// The execution's history so far (for progress displays).
    pub fn history(&self) -> History {
        self.history.clone()
    }

    /// The execution's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// StopExecution: the execution ends ABORTED, its history closed by `ExecutionAborted` with
    /// this error and cause
    /// (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html>,
    /// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_ExecutionAbortedEventDetails.html>).
    /// Every state still running is dropped at once: task handlers, waits, retries, branches
    /// and iterations. Only the first stop counts; after the end it does nothing.
    pub fn stop(&self, error: Option<&str>, cause: Option<&str>) {
        self.stop.send_if_modified(|s| {
            if s.is_some() {
                return false;
            }
            *s = Some((error.map(String::from), cause.map(String::from)));
            true
        });
    }
}

/// Resolves when the execution is asked to stop.
pub(super) async fn stop_requested(mut rx: watch::Receiver<Option<StopRequest>>) -> StopRequest {
    loop {
        if let Some(r) = rx.borrow_and_update().clone() {
            return r;
        }
        if rx.changed().await.is_err() {
            // Nobody can stop it any more.
            std::future::pending::<()>().await;
        }
    }
}
