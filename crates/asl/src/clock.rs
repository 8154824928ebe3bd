//! The execution clock. Virtual by default: Wait states, retry back-off, timeouts and
//! heartbeats advance simulated time instantly, in deadline order, and only when nothing in
//! the execution is doing real work; `Real` waits for real.
//!
//! Accounting: every piece of the execution that is running (a branch, an iteration, a task
//! handler doing work) holds an [`Awake`]. When the last one is given up (everything is
//! asleep or waiting for a callback), virtual time jumps to the earliest timer and wakes its
//! owner, handing it a fresh [`Awake`].
//!
//! Accelerated mode skips only the waiting nobody is doing: a timer also fires, in real time,
//! once the clock (real elapsed time plus the waits skipped) reaches its deadline while
//! someone is still working, so real work counts against TimeoutSeconds and
//! HeartbeatSeconds as it does on AWS, where a task that runs longer than its
//! TimeoutSeconds fails with States.Timeout
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html>).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{oneshot, watch};

/// How time passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only waits move the clock, instantly: fully deterministic.
    Virtual,
    /// Real time passes as usual, but waits are skipped: the history shows real durations of
    /// real work plus the waits AWS would have made (local pipeline runs).
    Accelerated,
    /// Waits wait.
    Real,
}

/// A shared clock.
#[derive(Clone)]
pub struct Clock(Arc<Inner>);

struct Inner {
    mode: Mode,
    state: Mutex<State>,
    /// Accelerated: bumped whenever waits are skipped, so that real-time timers recompute
    /// how long they have left.
    skips: watch::Sender<u64>,
}

struct State {
    /// Virtual: the current time. Accelerated: the start time.
    now: DateTime<Utc>,
    /// Accelerated: real time elapsed since `now` is added, plus the waits skipped.
    origin: std::time::Instant,
    skipped: chrono::Duration,
    busy: usize,
    seq: u64,
    timers: BTreeMap<(DateTime<Utc>, u64), oneshot::Sender<Awake>>,
}

/// Proof that its holder is running; dropping it may let virtual time advance.
pub struct Awake(Option<Arc<Inner>>);

impl Awake {
    /// An `Awake` that accounts for nothing (real-time clocks, placeholders).
    pub fn none() -> Awake {
        Awake(None)
    }

    /// Whether this accounts for nothing.
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl Drop for Awake {
    fn drop(&mut self) {
        if let Some(inner) = self.0.take()
            && let Ok(mut st) = inner.state.lock()
        {
            st.busy -= 1;
            advance(&inner, &mut st);
        }
    }
}

impl State {
    fn current(&self, mode: Mode) -> DateTime<Utc> {
        match mode {
            Mode::Accelerated => {
                let elapsed = chrono::Duration::from_std(self.origin.elapsed())
                    .unwrap_or(chrono::Duration::MAX);
                add(add(self.now, elapsed), self.skipped)
            }
            _ => self.now,
        }
    }
}

/// `t + d`, saturating at the latest (or earliest) time chrono can represent: a timer
/// that far away never fires in practice, and must not panic.
pub(crate) fn add(t: DateTime<Utc>, d: chrono::Duration) -> DateTime<Utc> {
    t.checked_add_signed(d)
        .unwrap_or(if d < chrono::Duration::zero() {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

/// Fires timers while nobody is awake.
fn advance(inner: &Arc<Inner>, st: &mut State) {
    while st.busy == 0 {
        let Some(((deadline, _), tx)) = st.timers.pop_first() else {
            return;
        };
        let current = st.current(inner.mode);
        if deadline > current {
            match inner.mode {
                Mode::Accelerated => {
                    st.skipped = st
                        .skipped
                        .checked_add(&(deadline - current))
                        .unwrap_or(chrono::Duration::MAX);
                    inner.skips.send_modify(|n| *n = n.wrapping_add(1));
                }
                _ => st.now = deadline,
            }
        }
        st.busy += 1;
        if let Err(mut lost) = tx.send(Awake(Some(inner.clone()))) {
            // The waiter is gone: take the unit back without re-entering the lock.
            lost.0.take();
            st.busy -= 1;
        }
    }
}

impl Clock {
    /// A virtual clock starting at `start`, and the `Awake` of the code that starts the
    /// execution.
    pub fn new(mode: Mode, start: DateTime<Utc>) -> (Clock, Awake) {
        let clock = Clock(Arc::new(Inner {
            mode,
            state: Mutex::new(State {
                now: start,
                origin: std::time::Instant::now(),
                skipped: chrono::Duration::zero(),
                busy: 0,
                seq: 0,
                timers: BTreeMap::new(),
            }),
            skips: watch::channel(0).0,
        }));
        let awake = clock.acquire();
        (clock, awake)
    }

    /// The clock's mode.
    pub fn mode(&self) -> Mode {
        self.0.mode
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self.0.mode {
            Mode::Real => Utc::now(),
            mode => self
                .0
                .state
                .lock()
                .map(|s| s.current(mode))
                .unwrap_or_else(|_| Utc::now()),
        }
    }

    /// Marks one more running piece of work.
    pub fn acquire(&self) -> Awake {
        if self.0.mode == Mode::Real {
            return Awake(None);
        }
        if let Ok(mut st) = self.0.state.lock() {
            st.busy += 1;
        }
        Awake(Some(self.0.clone()))
    }

    /// A timer that fires `d` from now and hands back an `Awake`. It holds nobody awake while
    /// pending; dropping it cancels it.
    pub fn timer(&self, d: Duration) -> Timer {
        match self.0.mode {
            Mode::Real => Timer {
                inner: TimerInner::Real(Box::pin(tokio::time::sleep(d))),
            },
            mode => {
                let (tx, rx) = oneshot::channel();
                let key = {
                    let mut st = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
                    st.seq += 1;
                    let deadline = add(
                        st.current(mode),
                        chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX),
                    );
                    let key = (deadline, st.seq);
                    st.timers.insert(key, tx);
                    advance(&self.0, &mut st);
                    key
                };
                let fire = match mode {
                    Mode::Accelerated => Fire::Either(Box::pin(accelerated(
                        self.0.clone(),
                        key,
                        rx,
                        self.0.skips.subscribe(),
                    ))),
                    _ => Fire::Virtual(rx),
                };
                Timer {
                    inner: TimerInner::Virtual {
                        clock: self.0.clone(),
                        key,
                        fire,
                    },
                }
            }
        }
    }

    /// Gives up `awake`, waits `d`, and returns awake again.
    pub async fn sleep(&self, awake: Awake, d: Duration) -> Awake {
        let timer = self.timer(d);
        drop(awake);
        timer.await
    }
}

/// A pending timer (see [`Clock::timer`]).
pub struct Timer {
    inner: TimerInner,
}

enum TimerInner {
    Real(Pin<Box<tokio::time::Sleep>>),
    Virtual {
        clock: Arc<Inner>,
        key: (DateTime<Utc>, u64),
        fire: Fire,
    },
}

/// How a virtual or accelerated timer fires.
enum Fire {
    /// Only when nobody is awake (`advance`).
    Virtual(oneshot::Receiver<Awake>),
    /// Accelerated: also in real time (see [`accelerated`]).
    Either(Pin<Box<dyn Future<Output = Awake> + Send>>),
}

/// An accelerated timer: fired by `advance` when nobody is awake (the wait is skipped), or
/// by a real sleep once the clock reaches the deadline while someone works. Whoever takes
/// the timer out of the map fires it, so it fires once.
async fn accelerated(
    inner: Arc<Inner>,
    key: (DateTime<Utc>, u64),
    mut rx: oneshot::Receiver<Awake>,
    mut skips: watch::Receiver<u64>,
) -> Awake {
    loop {
        skips.borrow_and_update();
        let remaining = {
            let st = inner.state.lock().unwrap_or_else(|e| e.into_inner());
            if !st.timers.contains_key(&key) {
                // Fired by `advance` (its Awake is on `rx`), or cancelled.
                break;
            }
            (key.0 - st.current(Mode::Accelerated))
                .to_std()
                .unwrap_or(Duration::ZERO)
        };
        tokio::select! {
            biased;
            r = &mut rx => match r {
                Ok(a) => return a,
                // The clock is gone; never fire.
                Err(_) => return std::future::pending().await,
            },
            _ = tokio::time::sleep(remaining) => {
                let mut st = inner.state.lock().unwrap_or_else(|e| e.into_inner());
                if st.current(Mode::Accelerated) >= key.0 && st.timers.remove(&key).is_some() {
                    st.busy += 1;
                    return Awake(Some(inner.clone()));
                }
            }
            // Waits were skipped: the deadline is nearer in real time.
            _ = skips.changed() => {}
        }
    }
    match rx.await {
        Ok(a) => a,
        // The clock is gone; never fire.
        Err(_) => std::future::pending().await,
    }
}

impl Future for Timer {
    type Output = Awake;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Awake> {
        match &mut self.inner {
            TimerInner::Real(s) => s.as_mut().poll(cx).map(|_| Awake(None)),
            TimerInner::Virtual {
                fire: Fire::Virtual(rx),
                ..
            } => match Pin::new(rx).poll(cx) {
                Poll::Ready(Ok(a)) => Poll::Ready(a),
                // The clock is gone; never fire.
                Poll::Ready(Err(_)) => Poll::Pending,
                Poll::Pending => Poll::Pending,
            },
            TimerInner::Virtual {
                fire: Fire::Either(f),
                ..
            } => f.as_mut().poll(cx),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let TimerInner::Virtual { clock, key, .. } = &self.inner
            && let Ok(mut st) = clock.state.lock()
        {
            st.timers.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn virtual_time_jumps_in_deadline_order() {
        let start = Utc::now();
        let (clock, awake) = Clock::new(Mode::Virtual, start);
        let a = clock.acquire();
        let c1 = clock.clone();
        let c2 = clock.clone();
        let t0 = std::time::Instant::now();
        let (x, y) = tokio::join!(
            async move {
                let a = c1.sleep(a, Duration::from_secs(3600)).await;
                let t = c1.now();
                drop(a);
                t
            },
            async move {
                let a = c2.sleep(awake, Duration::from_secs(60)).await;
                let t = c2.now();
                drop(a);
                t
            }
        );
        assert_eq!((x - start).num_seconds(), 3600);
        assert_eq!((y - start).num_seconds(), 60);
        assert!(t0.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn time_stands_still_while_someone_works() {
        let start = Utc::now();
        let (clock, awake) = Clock::new(Mode::Virtual, start);
        let timer = clock.timer(Duration::from_secs(5));
        // `awake` is held: the timer must not fire.
        let r = tokio::time::timeout(Duration::from_millis(50), timer).await;
        assert!(r.is_err());
        let timer = clock.timer(Duration::from_secs(5));
        drop(awake);
        let _a = timer.await;
        assert_eq!((clock.now() - start).num_seconds(), 5);
    }

    #[tokio::test]
    async fn accelerated_timers_fire_in_real_time_once_while_someone_works() {
        let (clock, awake) = Clock::new(Mode::Accelerated, Utc::now());
        // `awake` is held throughout: the timer fires from its real sleep.
        let a = tokio::time::timeout(
            Duration::from_secs(60),
            clock.timer(Duration::from_millis(50)),
        )
        .await
        .expect("hang guard");
        assert!(!a.is_none());
        assert_eq!(clock.0.state.lock().unwrap().busy, 2);
        drop(a);
        drop(awake);
        // The units balance: nobody is awake, so a long wait is skipped at once.
        let before = clock.now();
        let b = tokio::time::timeout(
            Duration::from_secs(60),
            clock.timer(Duration::from_secs(3600)),
        )
        .await
        .expect("hang guard");
        assert!((clock.now() - before).num_seconds() >= 3600);
        assert_eq!(clock.0.state.lock().unwrap().busy, 1);
        assert!(clock.0.state.lock().unwrap().timers.is_empty());
        drop(b);
    }
}
