//! `create`: one session create per operation, on a device with no open session. A device
//! whose previous session is still open is freed first with a cancel, timed as its own step
//! and not in the create's latency; with `--devices` above the number of creates in the run no
//! device is reused and the server does nothing but creates.

use super::api::{Api, Failure};
use super::driver::{Recorder, Slot};
use std::time::{Duration, Instant};

pub async fn once(api: &Api, slot: &mut Slot, rec: &Recorder) -> Result<Duration, Failure> {
    let dev = slot.take();
    if let Some(open) = dev.open.take() {
        let t = Instant::now();
        api.cancel_session(open).await?;
        rec.step("cancel (frees the device)", t.elapsed());
    }
    let t = Instant::now();
    let id = api.create_session(dev.sim.id).await?;
    let took = t.elapsed();
    dev.open = Some(id);
    Ok(took)
}
