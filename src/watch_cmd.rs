//! `rsqlflow watch`: EventBridge's "Object Created" rule on the local data bucket. Objects
//! that arrive in `<s3-root>/<bucket>/` (renamed into place, or written in place and then left
//! unchanged for `--settle`) each go through the same start-workflow handler and local run as
//! `rsqlflow trigger s3` ([`crate::run_cmd::trigger_run`]), one execution at a time, in arrival
//! order.
//!
//! The file-system events come from the `notify` crate (inotify, FSEvents, kqueue,
//! ReadDirectoryChangesW), or from its polling watcher when those cannot be had or `--poll`
//! asks for it. Events only say where to look: whether an object is complete is decided by
//! [`Tracker`] from what the file is (its size, modification time and inode), so lost or
//! coalesced events delay an arrival, never invent one.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use etl::local::executions::ExecutionStatus;
use etl::local::pipeline::Progress;
use notify::event::{CreateKind, EventKind, ModifyKind, RenameMode};
use notify::{RecursiveMode, Watcher};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::cli::WatchArgs;
use crate::run_cmd::{local_object_event, local_routes, progress, store, trigger_run};
use crate::signals::{Signal, Signals};
use etl::local::routes::LocalRoutes;

/// The longest `--settle`.
const MAX_SETTLE: Duration = Duration::from_secs(3600);

/// Parses `--settle`: a number with `ms`, `s` or `m` (`500ms`, `2s`, `1.5s`, `1m`), or a plain
/// number of milliseconds; at most an hour.
pub fn parse_settle(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    let (num, unit_ms) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (t, 1.0)
    };
    let bad = || format!("'{text}' is not a duration (500ms, 2s, 1m, or milliseconds)");
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(bad());
    }
    let n: f64 = num.parse().map_err(|_| bad())?;
    let ms = n * unit_ms;
    if !ms.is_finite() || ms > MAX_SETTLE.as_millis() as f64 {
        return Err(format!("'{text}' is longer than an hour"));
    }
    Ok(Duration::from_micros((ms * 1000.0).round() as u64))
}

/// What identifies one version of a file: a new write changes the size or the modification
/// time, a rename into place the inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub len: u64,
    pub modified: Option<SystemTime>,
    pub inode: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode,
        }
    }
}

/// How an object was found complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Completion {
    /// Renamed (moved) into place: complete at once.
    Renamed,
    /// Written in place, then unchanged for the settle time.
    Settled,
}

/// Decides when an object has arrived and is complete. Pure: the caller gives it the time and
/// what the files are, so that tests drive it with a fake clock.
#[derive(Debug)]
pub(crate) struct Tracker {
    settle: Duration,
    /// The version of each key last reported as an arrival, or found when the watch started:
    /// the same version again is no arrival.
    known: HashMap<String, Stamp>,
    /// Keys being written: the version last seen, since when it has not changed, and the
    /// order in which they were first written.
    pending: HashMap<String, Pending>,
    next_seq: u64,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    stamp: Stamp,
    since: Instant,
    seq: u64,
}

impl Tracker {
    /// A tracker for which the objects in `existing` are already there (not arrivals).
    pub fn new(settle: Duration, existing: HashMap<String, Stamp>) -> Tracker {
        Tracker {
            settle,
            known: existing,
            pending: HashMap::new(),
            next_seq: 0,
        }
    }

    /// Something was written to `key` (created, modified, its attributes changed): it is
    /// complete once its stamp stays the same for the settle time. `stamp` is what the file is
    /// now (None: gone).
    pub fn written(&mut self, key: &str, stamp: Option<Stamp>, now: Instant) {
        let Some(stamp) = stamp else {
            self.pending.remove(key);
            return;
        };
        match self.pending.get_mut(key) {
            Some(p) if p.stamp == stamp => {}
            Some(p) => {
                p.stamp = stamp;
                p.since = now;
            }
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.pending.insert(
                    key.to_string(),
                    Pending {
                        stamp,
                        since: now,
                        seq,
                    },
                );
            }
        }
    }

    /// `key` was renamed into place: an arrival now (as a PUT of the same bytes is one),
    /// unless the file is gone already.
    pub fn renamed(&mut self, key: &str, stamp: Option<Stamp>) -> bool {
        self.pending.remove(key);
        match stamp {
            Some(s) => {
                self.known.insert(key.to_string(), s);
                true
            }
            None => false,
        }
    }

    /// `key` was removed or moved away: a later object of the same name is new.
    pub fn removed(&mut self, key: &str) {
        self.pending.remove(key);
        self.known.remove(key);
    }

    /// Looks at every key being written (`stat` says what each file is now) and returns the
    /// ones complete now, in the order they were first written: unchanged for the settle time,
    /// and another version than the one known.
    pub fn settle(
        &mut self,
        now: Instant,
        mut stat: impl FnMut(&str) -> Option<Stamp>,
    ) -> Vec<String> {
        let mut done: Vec<(u64, String)> = Vec::new();
        let mut gone = Vec::new();
        for (key, p) in self.pending.iter_mut() {
            match stat(key) {
                None => gone.push(key.clone()),
                Some(s) if s != p.stamp => {
                    p.stamp = s;
                    p.since = now;
                }
                Some(_) if now.duration_since(p.since) >= self.settle => {
                    done.push((p.seq, key.clone()));
                }
                Some(_) => {}
            }
        }
        for key in gone {
            self.pending.remove(&key);
        }
        done.sort();
        let mut out = Vec::new();
        for (_, key) in done {
            let p = self.pending.remove(&key).expect("pending");
            if self.known.get(&key) != Some(&p.stamp) {
                self.known.insert(key.clone(), p.stamp);
                out.push(key);
            }
        }
        out
    }

    /// Whether any key is being written.
    pub fn is_settling(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Whether `key` is being written.
    #[cfg(test)]
    fn is_pending(&self, key: &str) -> bool {
        self.pending.contains_key(key)
    }
}

/// The key of `path` inside the bucket directory, when it can be an object's: below the
/// bucket, every part valid UTF-8, no hidden part (`.name`, which includes the temporaries
/// rsqlflow's writers rename into place, `.rsqlflow-*.tmp`), and a key S3 accepts.
pub(crate) fn key_of(bucket_dir: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(bucket_dir).ok()?;
    let mut parts = Vec::new();
    for c in rel.components() {
        let Component::Normal(part) = c else {
            return None;
        };
        let part = part.to_str()?;
        if part.starts_with('.') {
            return None;
        }
        parts.push(part);
    }
    let key = parts.join("/");
    objects::names::check_key(&key, false).ok()?;
    Some(key)
}

/// Every object below `dir` (a directory of the bucket), with its stamp; no link followed,
/// hidden names skipped.
fn scan(bucket_dir: &Path, dir: &Path) -> Vec<(String, Stamp)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in rd.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file()
                && let Some(key) = key_of(bucket_dir, &path)
            {
                out.push((key, Stamp::of(&meta)));
            }
        }
    }
    out
}

/// What one arrival ended as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Failed,
    /// The execution start-workflow names for this version existed already.
    AlreadyStarted,
    /// start-workflow ignored the key (prefix or suffix).
    Ignored,
    /// Stopped by a signal.
    Stopped,
    /// No execution was started: the object could not be given to start-workflow or the
    /// workflow could not be run (the error is said).
    NotStarted,
}

#[derive(Debug, Default)]
struct Summary {
    arrived: u64,
    started: u64,
    succeeded: u64,
    failed: u64,
    already: u64,
    ignored: u64,
    not_started: u64,
    /// Whether anything went wrong: an execution failed or could not start, or the execution
    /// an arrival found had failed.
    errors: bool,
}

impl Summary {
    fn line(&self) -> String {
        format!(
            "watch: {} object(s) arrived; {} execution(s) started: {} succeeded, {} failed; \
             {} already started, {} ignored, {} not started (errors)",
            self.arrived,
            self.started,
            self.succeeded,
            self.failed,
            self.already,
            self.ignored,
            self.not_started
        )
    }
}

/// An object that arrived, with the event EventBridge would have sent for it then.
struct Arrival {
    key: String,
    event: Value,
}

type Events = mpsc::UnboundedReceiver<notify::Result<notify::Event>>;

/// Starts watching `dir` (recursively): the native watcher unless `poll`, else (or when the
/// native one fails) the polling one.
fn start_watcher(
    dir: &Path,
    poll: bool,
    interval: Duration,
) -> Result<(Box<dyn Watcher>, Events, String)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let config = notify::Config::default().with_follow_symlinks(false);
    let mut native_error = None;
    if !poll {
        let tx = tx.clone();
        let native = notify::RecommendedWatcher::new(
            move |e: notify::Result<notify::Event>| {
                let _ = tx.send(e);
            },
            config,
        )
        .and_then(|mut w| w.watch(dir, RecursiveMode::Recursive).map(|_| w));
        match native {
            Ok(w) => return Ok((Box::new(w), rx, "file-system events".into())),
            Err(e) => native_error = Some(e),
        }
    }
    let mut w = notify::PollWatcher::new(
        move |e: notify::Result<notify::Event>| {
            let _ = tx.send(e);
        },
        config.with_poll_interval(interval),
    )
    .context("starting the polling watcher")?;
    w.watch(dir, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    let how = match native_error {
        Some(e) => format!(
            "polling every {} ms (file-system events unavailable: {e})",
            interval.as_millis()
        ),
        None => format!("polling every {} ms", interval.as_millis()),
    };
    Ok((Box::new(w), rx, how))
}

type Running<'a> = Pin<Box<dyn Future<Output = Result<i32>> + 'a>>;

/// The watch itself: the bucket directory, the tracker and the queue.
struct Watch {
    s3_root: PathBuf,
    s3: objects::LocalS3,
    bucket: String,
    bucket_dir: PathBuf,
    tracker: Tracker,
    queue: VecDeque<Arrival>,
    summary: Summary,
    p: Arc<dyn Progress>,
}

/// What the object `key` is now: None when it is not a regular file (gone, a directory, a
/// link, or below a link).
fn stat(s3: &objects::LocalS3, bucket: &str, key: &str) -> Option<Stamp> {
    let path = s3.object_path(bucket, key).ok()?;
    let meta = std::fs::symlink_metadata(path).ok()?;
    meta.is_file().then(|| Stamp::of(&meta))
}

/// How the watch ended.
enum End {
    /// --max-objects arrivals were handled.
    Done,
    /// A signal while no execution ran.
    Idle,
    /// A signal stopped the running execution.
    Running(Signal),
}

impl Watch {
    fn stat(&self, key: &str) -> Option<Stamp> {
        stat(&self.s3, &self.bucket, key)
    }

    /// Feeds one file-system event to the tracker; returns the keys renamed into place.
    fn event(&mut self, ev: notify::Event, now: Instant) -> Vec<String> {
        let mut arrived = Vec::new();
        if ev.need_rescan() {
            self.rescan(&self.bucket_dir.clone(), now);
        }
        let paths: Vec<PathBuf> = match ev.kind {
            // A rename inside the bucket, [from, to]: the source is gone (the destination
            // comes in its own To event).
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let Some(from) = ev.paths.first().and_then(|p| key_of(&self.bucket_dir, p)) {
                    self.tracker.removed(&from);
                }
                return arrived;
            }
            _ => ev.paths,
        };
        for path in paths {
            let renamed_in = matches!(ev.kind, EventKind::Modify(ModifyKind::Name(RenameMode::To)));
            let dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
            if dir {
                // A directory created or moved in: what it holds now is new (the watch on it
                // may have come after its first files).
                if matches!(
                    ev.kind,
                    EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_))
                ) && key_of(&self.bucket_dir, &path).is_some()
                {
                    for (key, stamp) in scan(&self.bucket_dir, &path) {
                        if renamed_in {
                            if self.tracker.renamed(&key, Some(stamp)) {
                                arrived.push(key);
                            }
                        } else {
                            self.tracker.written(&key, Some(stamp), now);
                        }
                    }
                }
                continue;
            }
            let Some(key) = key_of(&self.bucket_dir, &path) else {
                continue;
            };
            match ev.kind {
                EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                    let stamp = self.stat(&key);
                    if self.tracker.renamed(&key, stamp) {
                        arrived.push(key);
                    }
                }
                EventKind::Modify(ModifyKind::Name(RenameMode::From)) | EventKind::Remove(_) => {
                    // Gone, unless it is there again already.
                    match self.stat(&key) {
                        Some(s) => self.tracker.written(&key, Some(s), now),
                        None => self.tracker.removed(&key),
                    }
                }
                EventKind::Create(CreateKind::Folder) => {}
                EventKind::Access(notify::event::AccessKind::Open(_))
                | EventKind::Access(notify::event::AccessKind::Read)
                | EventKind::Access(notify::event::AccessKind::Close(
                    notify::event::AccessMode::Read,
                )) => {}
                _ => {
                    let stamp = self.stat(&key);
                    self.tracker.written(&key, stamp, now);
                }
            }
        }
        arrived
    }

    /// After lost events: every object whose version is not the known one is looked at again.
    fn rescan(&mut self, dir: &Path, now: Instant) {
        for (key, stamp) in scan(&self.bucket_dir, dir) {
            self.tracker.written(&key, Some(stamp), now);
        }
    }

    /// An object arrived: its event is made now (its size, etag and sequencer as they are) and
    /// it joins the queue.
    fn arrive(&mut self, key: String, how: Completion, busy: Option<&str>) {
        let uri = format!("s3://{}/{key}", self.bucket);
        let event = match local_object_event(&self.s3_root, &self.bucket, &key) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("rsqlflow: {uri} arrived but cannot be read: {e:#}");
                return;
            }
        };
        self.summary.arrived += 1;
        let size = event["detail"]["object"]["size"].as_u64().unwrap_or(0);
        let how = match how {
            Completion::Renamed => "renamed into place",
            Completion::Settled => "written and settled",
        };
        match (busy, self.queue.len()) {
            (Some(running), n) => eprintln!(
                "rsqlflow: {uri} arrived ({size} bytes, {how}); queued behind {running} \
                 ({} waiting)",
                n + 1
            ),
            (None, 0) => self
                .p
                .line(&format!("watch: {uri} arrived ({size} bytes, {how})")),
            (None, n) => eprintln!(
                "rsqlflow: {uri} arrived ({size} bytes, {how}); queued ({} waiting)",
                n + 1
            ),
        }
        self.queue.push_back(Arrival { key, event });
    }

    /// Records how an arrival ended (`code`: what the trigger's run returned).
    fn ended(&mut self, outcome: Outcome, code: i32) {
        let s = &mut self.summary;
        match outcome {
            Outcome::Succeeded => {
                s.started += 1;
                s.succeeded += 1;
            }
            Outcome::Failed | Outcome::Stopped => {
                s.started += 1;
                s.failed += 1;
                s.errors = true;
            }
            Outcome::AlreadyStarted => {
                s.already += 1;
                s.errors |= code != 0;
            }
            Outcome::Ignored => s.ignored += 1,
            Outcome::NotStarted => {
                s.not_started += 1;
                s.errors = true;
            }
        }
    }
}

/// How an arrival ended: whether the execution start-workflow names for it `existed` before,
/// its status now (None: there is none), what the trigger's run returned and whether a signal
/// came.
fn classify(existed: bool, status: Option<ExecutionStatus>, code: i32, signalled: bool) -> Outcome {
    match (existed, status) {
        (true, _) => Outcome::AlreadyStarted,
        (false, Some(ExecutionStatus::Succeeded)) if code == 0 => Outcome::Succeeded,
        (false, Some(ExecutionStatus::Aborted)) if signalled => Outcome::Stopped,
        (false, Some(_)) => Outcome::Failed,
        (false, None) if code == 0 => Outcome::Ignored,
        (false, None) => Outcome::NotStarted,
    }
}

/// The execution start-workflow gives this event (of the first route that takes it).
fn execution_for(routes: &LocalRoutes, event: &Value) -> Option<String> {
    let t = etl::events::trigger(event).ok()?;
    let route = etl::routes::matching(&routes.routes, &t)
        .into_iter()
        .next()?;
    Some(etl::handlers::start_workflow::execution_name(
        &route.name,
        &t,
    ))
}

/// `rsqlflow watch`.
pub async fn run(args: WatchArgs) -> Result<i32> {
    let signals = Signals::install();
    let p = progress();
    let s3_root = args.run.places.s3_root.clone();
    objects::names::check_bucket(&args.bucket).context("--bucket")?;
    let routes = local_routes(&args.run)?;
    let bucket_dir = s3_root.join(&args.bucket);
    match std::fs::symlink_metadata(&bucket_dir) {
        Ok(m) if m.file_type().is_symlink() => bail!(
            "{} is a symbolic link; local S3 does not follow links",
            bucket_dir.display()
        ),
        Ok(m) if !m.is_dir() => bail!("{} is not a directory", bucket_dir.display()),
        Ok(_) => {}
        Err(_) => std::fs::create_dir_all(&bucket_dir)
            .with_context(|| format!("creating {}", bucket_dir.display()))?,
    }
    let bucket_dir = bucket_dir
        .canonicalize()
        .with_context(|| format!("resolving {}", bucket_dir.display()))?;
    let interval = (args.settle / 2).clamp(Duration::from_millis(100), Duration::from_secs(1));
    // The watcher first, then the objects already there: nothing written in between is lost.
    let (watcher, mut events, how) = start_watcher(&bucket_dir, args.poll, interval)?;
    let existing: HashMap<String, Stamp> = scan(&bucket_dir, &bucket_dir).into_iter().collect();
    let mut w = Watch {
        s3: objects::LocalS3::new(&s3_root),
        s3_root,
        bucket: args.bucket.clone(),
        bucket_dir,
        tracker: Tracker::new(args.settle, existing.clone()),
        queue: VecDeque::new(),
        summary: Summary::default(),
        p: p.clone(),
    };
    p.line(&format!(
        "watching s3://{}/ ({}) for new objects with {how}; written in place, an object is \
         complete after {} ms unchanged; {} object(s) already there are not triggered; \
         Ctrl-C stops",
        args.bucket,
        w.bucket_dir.display(),
        args.settle.as_millis(),
        existing.len()
    ));
    let tick = (args.settle / 4).clamp(Duration::from_millis(20), Duration::from_millis(250));
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let store = store();
    let mut handled: u64 = 0;
    // The arrival being run: its key, the execution name start-workflow gives it and whether
    // that execution existed before, and the run.
    let mut current: Option<(String, Option<String>, bool, Running<'_>)> = None;
    let end = loop {
        if current.is_none() {
            if let Some(max) = args.max_objects
                && handled >= max
            {
                break End::Done;
            }
            if let Some(a) = w.queue.pop_front() {
                let name = execution_for(&routes, &a.event);
                let existed = name.as_deref().is_some_and(|n| store.read(n).is_ok());
                let run = Box::pin(trigger_run(
                    a.event,
                    &routes,
                    args.run.clone(),
                    &signals,
                    p.clone(),
                ));
                current = Some((a.key, name, existed, run));
            }
        }
        tokio::select! {
            _ = signals.received(), if current.is_none() => break End::Idle,
            r = async { current.as_mut().expect("running").3.as_mut().await }, if current.is_some() => {
                let (key, name, existed, _) = current.take().expect("running");
                handled += 1;
                let uri = format!("s3://{}/{key}", w.bucket);
                let (outcome, code) = match r {
                    Err(e) => {
                        eprintln!("rsqlflow: {uri}: {e:#}");
                        (Outcome::NotStarted, 1)
                    }
                    Ok(code) => {
                        let status = name.as_deref().and_then(|n| store.read(n).ok()).map(|r| r.status);
                        (classify(existed, status, code, signals.get().is_some()), code)
                    }
                };
                w.ended(outcome, code);
                match outcome {
                    Outcome::Failed => p.line(&format!("watch: the execution for {uri} failed; still watching")),
                    Outcome::NotStarted => p.line(&format!("watch: no execution started for {uri} (failed); still watching")),
                    _ => {}
                }
                if let Some(s) = signals.get() {
                    break End::Running(s);
                }
            }
            ev = events.recv() => {
                let now = Instant::now();
                let busy = current.as_ref().map(|c| c.1.clone().unwrap_or_else(|| c.0.clone()));
                match ev {
                    Some(Ok(ev)) => {
                        for key in w.event(ev, now) {
                            w.arrive(key, Completion::Renamed, busy.as_deref());
                        }
                    }
                    Some(Err(e)) => {
                        eprintln!("rsqlflow: watching {}: {e}; looking at every object again", w.bucket_dir.display());
                        let dir = w.bucket_dir.clone();
                        w.rescan(&dir, now);
                    }
                    None => bail!("the file watcher stopped"),
                }
            }
            _ = ticker.tick(), if w.tracker.is_settling() => {
                let now = Instant::now();
                let busy = current.as_ref().map(|c| c.1.clone().unwrap_or_else(|| c.0.clone()));
                let done = w.tracker.settle(now, |k| stat(&w.s3, &w.bucket, k));
                for key in done {
                    w.arrive(key, Completion::Settled, busy.as_deref());
                }
            }
        }
    };
    drop(watcher);
    if !w.queue.is_empty() {
        let keys: Vec<String> = w
            .queue
            .iter()
            .map(|a| format!("s3://{}/{}", w.bucket, a.key))
            .collect();
        eprintln!(
            "rsqlflow: {} arrival(s) not started: {}",
            keys.len(),
            keys.join(", ")
        );
    }
    println!("{}", w.summary.line());
    let failed = w.summary.errors;
    Ok(match end {
        End::Running(s) => s.exit_code(),
        End::Idle | End::Done if failed => 1,
        End::Idle | End::Done => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(len: u64, secs: u64, inode: u64) -> Stamp {
        Stamp {
            len,
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
            inode,
        }
    }

    #[test]
    fn arrivals_are_classified_by_the_execution_they_found_or_started() {
        use ExecutionStatus::*;
        assert_eq!(
            classify(true, Some(Succeeded), 0, false),
            Outcome::AlreadyStarted
        );
        assert_eq!(
            classify(true, Some(Failed), 1, false),
            Outcome::AlreadyStarted
        );
        assert_eq!(
            classify(false, Some(Succeeded), 0, false),
            Outcome::Succeeded
        );
        // Succeeded, but its history or notification could not be written.
        assert_eq!(classify(false, Some(Succeeded), 1, false), Outcome::Failed);
        assert_eq!(classify(false, Some(Failed), 1, false), Outcome::Failed);
        assert_eq!(classify(false, Some(Aborted), 130, true), Outcome::Stopped);
        assert_eq!(classify(false, None, 0, false), Outcome::Ignored);
        assert_eq!(classify(false, None, 130, true), Outcome::NotStarted);
    }

    #[test]
    fn settle_parses_units_and_plain_milliseconds() {
        assert_eq!(parse_settle("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_settle("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_settle("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_settle("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_settle("250"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_settle("0"), Ok(Duration::ZERO));
        for bad in ["", "s", "-1s", "1h", "fast", "1e3", "2 s"] {
            assert!(parse_settle(bad).is_err(), "{bad}");
        }
        assert!(
            parse_settle("61m")
                .unwrap_err()
                .contains("longer than an hour")
        );
    }

    #[test]
    fn a_file_written_in_place_arrives_once_it_is_unchanged_for_the_settle_time() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut t = Tracker::new(Duration::from_millis(1000), HashMap::new());
        let mut now = stamp(10, 1, 7);
        t.written("a", Some(now), ms(0));
        assert!(t.settle(ms(500), |_| Some(now)).is_empty());
        // A second chunk at 800 ms: the clock starts again.
        now = stamp(20, 2, 7);
        assert!(t.settle(ms(800), |_| Some(now)).is_empty());
        assert!(t.settle(ms(1700), |_| Some(now)).is_empty());
        assert_eq!(t.settle(ms(1800), |_| Some(now)), vec!["a".to_string()]);
        assert!(!t.is_settling());
        // The same version touched again (an attribute change) is no new arrival.
        t.written("a", Some(now), ms(2000));
        assert!(t.settle(ms(5000), |_| Some(now)).is_empty());
        // New content is.
        let newer = stamp(20, 9, 7);
        t.written("a", Some(newer), ms(6000));
        assert_eq!(t.settle(ms(7000), |_| Some(newer)), vec!["a".to_string()]);
    }

    #[test]
    fn completed_keys_come_in_the_order_they_were_first_written() {
        let t0 = Instant::now();
        let mut t = Tracker::new(Duration::from_millis(100), HashMap::new());
        for k in ["c", "a", "b"] {
            t.written(k, Some(stamp(1, 1, 1)), t0);
        }
        assert_eq!(
            t.settle(t0 + Duration::from_millis(100), |_| Some(stamp(1, 1, 1))),
            vec!["c", "a", "b"]
        );
    }

    #[test]
    fn a_rename_into_place_arrives_at_once_even_with_the_same_bytes() {
        let mut t = Tracker::new(Duration::from_secs(60), HashMap::new());
        assert!(t.renamed("k", Some(stamp(5, 1, 1))));
        assert!(t.renamed("k", Some(stamp(5, 1, 2))));
        // Gone before it was looked at: nothing.
        assert!(!t.renamed("gone", None));
        // A rename ends the settling of what was being written under that name.
        let t0 = Instant::now();
        t.written("w", Some(stamp(1, 1, 3)), t0);
        assert!(t.is_pending("w"));
        assert!(t.renamed("w", Some(stamp(9, 2, 4))));
        assert!(!t.is_pending("w"));
    }

    #[test]
    fn objects_there_at_the_start_are_not_arrivals_unless_they_change() {
        let t0 = Instant::now();
        let old = stamp(3, 3, 3);
        let mut t = Tracker::new(Duration::ZERO, HashMap::from([("old".to_string(), old)]));
        t.written("old", Some(old), t0);
        assert!(t.settle(t0, |_| Some(old)).is_empty());
        let new = stamp(4, 4, 3);
        t.written("old", Some(new), t0);
        assert_eq!(t.settle(t0, |_| Some(new)), vec!["old"]);
    }

    #[test]
    fn a_file_removed_while_written_never_arrives_and_a_removed_key_is_new_again() {
        let t0 = Instant::now();
        let s = stamp(1, 1, 1);
        let mut t = Tracker::new(Duration::ZERO, HashMap::from([("k".to_string(), s)]));
        t.written("x", Some(s), t0);
        assert!(t.settle(t0, |_| None).is_empty());
        assert!(!t.is_settling());
        t.written("y", None, t0);
        assert!(!t.is_settling());
        t.removed("k");
        t.written("k", Some(s), t0);
        assert_eq!(t.settle(t0, |_| Some(s)), vec!["k"]);
    }

    #[test]
    fn hidden_names_temporaries_and_paths_outside_the_bucket_are_not_objects() {
        let b = Path::new("/s3/rsqlflow-data");
        assert_eq!(
            key_of(b, &b.join("incoming/orders/o.tbl.gz")).as_deref(),
            Some("incoming/orders/o.tbl.gz")
        );
        assert_eq!(key_of(b, &b.join("top")).as_deref(), Some("top"));
        for p in [
            b.join("incoming/.rsqlflow-abc123.tmp"),
            b.join(".hidden"),
            b.join("tpch/.scale"),
            b.join(".dir/file"),
            b.to_path_buf(),
            PathBuf::from("/s3/other-bucket/x"),
            PathBuf::from("/elsewhere/x"),
            b.join("a/../../other/x"),
        ] {
            assert_eq!(key_of(b, &p), None, "{}", p.display());
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let bad = b.join(std::ffi::OsStr::from_bytes(b"bad\xff"));
            assert_eq!(key_of(b, &bad), None);
        }
        let long = b.join("k".repeat(1025));
        assert_eq!(key_of(b, &long), None);
    }

    #[test]
    fn a_scan_skips_directories_hidden_names_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path();
        std::fs::create_dir_all(b.join("in/sub")).unwrap();
        std::fs::write(b.join("in/a"), "a").unwrap();
        std::fs::write(b.join("in/sub/b"), "bb").unwrap();
        std::fs::write(b.join("in/.rsqlflow-x.tmp"), "t").unwrap();
        std::fs::create_dir_all(b.join(".hidden")).unwrap();
        std::fs::write(b.join(".hidden/c"), "c").unwrap();
        #[cfg(unix)]
        {
            let outside = tempfile::tempdir().unwrap();
            std::fs::write(outside.path().join("secret"), "s").unwrap();
            std::os::unix::fs::symlink(outside.path(), b.join("in/link")).unwrap();
            std::os::unix::fs::symlink(outside.path().join("secret"), b.join("in/file-link"))
                .unwrap();
        }
        let mut keys: Vec<(String, u64)> =
            scan(b, b).into_iter().map(|(k, s)| (k, s.len)).collect();
        keys.sort();
        assert_eq!(
            keys,
            vec![("in/a".to_string(), 1), ("in/sub/b".to_string(), 2)]
        );
    }
}
