//! The device stream: one WebSocket per connected device (`socket`), fed through the hub
//! (`crate::hub`) by a single router task that reads the store's commit notices once. A
//! device's removal notice closes its connections on every node at once.

pub mod socket;

use crate::hub::Frame;
use crate::state::AppState;
use kassa_store::NoticeKind;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

pub use socket::routes;

/// Routes every commit notice to the connections of its device, and closes the connections
/// of a removed device.
pub async fn route(state: AppState, stop: CancellationToken) {
    let mut notices = state.signals.subscribe();
    loop {
        let notice = tokio::select! {
            _ = stop.cancelled() => return,
            n = notices.recv() => n,
        };
        match notice {
            Ok(n) => match n.kind {
                NoticeKind::Session => state.hub.deliver(n.device_id, Frame::from_notice(&n)),
                NoticeKind::DeviceRemoved => {
                    let closed = state.hub.remove_device(n.device_id);
                    let device = n.device_id;
                    tracing::info!(device.id = %device, closed, "device removed; closing streams");
                }
            },
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "push router lagged; resyncing devices");
                state.hub.resync_all();
            }
            Err(RecvError::Closed) => return,
        }
    }
}
