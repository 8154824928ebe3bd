//! The local event bus: events travel with the clock hold of whoever emitted them, so that
//! virtual time stands still until the event has been handled.

use asl::clock::Awake;
use serde_json::Value;
use tokio::sync::mpsc;

/// One event on its way to a handler.
pub struct Delivery {
    pub event: Value,
    /// Released once the event has been handled.
    pub hold: Option<Awake>,
}

/// Sends events to the router.
pub type BusSender = mpsc::UnboundedSender<Delivery>;
/// The router's end.
pub type BusReceiver = mpsc::UnboundedReceiver<Delivery>;

/// A new bus.
pub fn channel() -> (BusSender, BusReceiver) {
    mpsc::unbounded_channel()
}
