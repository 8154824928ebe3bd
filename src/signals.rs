//! SIGINT and SIGTERM during `rsqlflow run`, `trigger` and `redrive`: the first one asks the
//! run to stop (as StopExecution would: jobs stopped, the execution recorded ABORTED with its
//! history and one notification, exit 130 or 143); a second one exits at once (the next
//! command then finds the execution abandoned and ends it ABORTED).

use tokio::sync::watch;

/// A signal that stops the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The shell's convention: 128 + the signal's number.
    pub fn exit_code(self) -> i32 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

/// Listens for SIGINT and SIGTERM from now on.
#[derive(Clone)]
pub struct Signals {
    rx: watch::Receiver<Option<Signal>>,
}

impl Signals {
    /// Installs the handlers. Without them (not a Unix, or the handlers cannot be installed),
    /// the signals keep their default action.
    pub fn install() -> Signals {
        let (tx, rx) = watch::channel(None);
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            if let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                tokio::spawn(async move {
                    let mut first: Option<Signal> = None;
                    loop {
                        let got = tokio::select! {
                            _ = int.recv() => Signal::Interrupt,
                            _ = term.recv() => Signal::Terminate,
                        };
                        match first {
                            None => {
                                first = Some(got);
                                eprintln!(
                                    "rsqlflow: {} received: stopping the execution and its jobs \
                                     (again to exit at once)",
                                    got.name()
                                );
                                let _ = tx.send(Some(got));
                            }
                            Some(_) => {
                                eprintln!("rsqlflow: {} received again: exiting now", got.name());
                                std::process::exit(got.exit_code());
                            }
                        }
                    }
                });
            }
        }
        Signals { rx }
    }

    /// Resolves with the first signal.
    pub async fn received(&self) -> Signal {
        let mut rx = self.rx.clone();
        loop {
            if let Some(s) = *rx.borrow_and_update() {
                return s;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// The signal received so far, if any.
    pub fn get(&self) -> Option<Signal> {
        *self.rx.borrow()
    }
}
