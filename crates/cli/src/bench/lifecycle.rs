//! `lifecycle`: create → simulate-tap (activate with a card tap, then a successful payment) →
//! the session is FINALIZED with an order. The measured latency is the whole sequence; each
//! step is timed too. The device is free again when the session is final.

use super::api::{Api, Failure};
use super::driver::{Recorder, Slot};
use std::time::{Duration, Instant};

pub async fn once(api: &Api, slot: &mut Slot, rec: &Recorder) -> Result<Duration, Failure> {
    let dev = slot.take();
    if let Some(open) = dev.open.take() {
        // Left open by a failed tap: free the device before the next lifecycle.
        api.cancel_session(open).await?;
    }
    let start = Instant::now();
    let id = api.create_session(dev.sim.id).await?;
    let created = start.elapsed();
    rec.step("create", created);
    dev.open = Some(id);
    let t = Instant::now();
    api.simulate_tap(id).await?;
    rec.step("simulate-tap (activate + finalize)", t.elapsed());
    dev.open = None;
    Ok(start.elapsed())
}
