//! Load generation: device set-up, the closed and open loops, the recorder and the progress
//! line. A scenario is one async function over a `Slot` (the devices one worker owns) that
//! returns the latency of its measured step; everything else here is the same for all.

use super::api::{Api, Failure, SimDevice};
use super::{create, lifecycle, phone, push, webhooks, Scenario};
use futures::StreamExt;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

/// One simulated device as a worker sees it.
pub struct Dev {
    pub sim: SimDevice,
    /// The session this device still holds open; the next use cancels it first.
    pub open: Option<Uuid>,
    /// The device's stream, for the `push` scenario.
    pub stream: Option<push::Stream>,
}

/// The devices one worker (or one in-flight operation) owns, used in turn.
pub struct Slot {
    pub devices: Vec<Dev>,
    pub next: usize,
}

impl Slot {
    /// The next device in turn.
    pub fn take(&mut self) -> &mut Dev {
        let i = self.next;
        self.next = (i + 1) % self.devices.len();
        &mut self.devices[i]
    }
}

/// Latencies in microseconds, 1 µs .. 60 s at 3 significant figures.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

#[derive(Default)]
struct Tables {
    steps: BTreeMap<&'static str, Histogram<u64>>,
    errors: BTreeMap<String, u64>,
}

/// Shared by all workers. A mutex is fine at this rate (a few µs per operation).
pub struct Recorder {
    primary: Mutex<Histogram<u64>>,
    tables: Mutex<Tables>,
    ok: AtomicU64,
    failed: AtomicU64,
}

impl Recorder {
    fn new() -> Self {
        Self {
            primary: Mutex::new(histogram()),
            tables: Mutex::new(Tables::default()),
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// Times a secondary step (the cancel that frees a device, each step of a lifecycle).
    pub fn step(&self, name: &'static str, took: Duration) {
        let mut t = self.tables.lock().expect("recorder lock");
        t.steps
            .entry(name)
            .or_insert_with(histogram)
            .saturating_record(micros(took));
    }

    fn done(&self, result: Result<Duration, Failure>) {
        match result {
            Ok(took) => {
                self.primary
                    .lock()
                    .expect("recorder lock")
                    .saturating_record(micros(took));
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(Failure(what)) => {
                *self
                    .tables
                    .lock()
                    .expect("recorder lock")
                    .errors
                    .entry(what)
                    .or_default() += 1;
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// What a run measured.
pub struct Outcome {
    pub ok: u64,
    pub elapsed: Duration,
    pub primary: Histogram<u64>,
    pub steps: BTreeMap<&'static str, Histogram<u64>>,
    pub errors: BTreeMap<String, u64>,
    pub mode: String,
}

/// Creates `count` simulated devices, `parallel` at a time, dealt round-robin to `parallel`
/// slots; for `push`, also opens each device's stream. Set-up is not measured, but it must
/// succeed: a benchmark on a half-built fleet would measure something else.
pub async fn setup(
    api: &Api,
    scenario: Scenario,
    count: usize,
    parallel: usize,
) -> anyhow::Result<Vec<Slot>> {
    let run = std::process::id();
    let made: Vec<Result<Dev, Failure>> = futures::stream::iter(0..count)
        .map(|i| async move {
            let sim = api.create_device(&format!("bench-{run}-{i}")).await?;
            let stream = match scenario {
                Scenario::Push => Some(push::connect(&sim).await?),
                _ => None,
            };
            Ok(Dev {
                sim,
                open: None,
                stream,
            })
        })
        .buffer_unordered(parallel.min(64))
        .collect()
        .await;
    let mut slots: Vec<Slot> = (0..parallel)
        .map(|_| Slot {
            devices: Vec::new(),
            next: 0,
        })
        .collect();
    for (i, dev) in made.into_iter().enumerate() {
        let dev = dev.map_err(|Failure(f)| anyhow::anyhow!("setting up devices: {f}"))?;
        slots[i % parallel].devices.push(dev);
    }
    Ok(slots)
}

async fn once(
    api: &Api,
    scenario: Scenario,
    slot: &mut Slot,
    rec: &Recorder,
) -> Result<Duration, Failure> {
    match scenario {
        Scenario::Create => create::once(api, slot, rec).await,
        Scenario::Lifecycle => lifecycle::once(api, slot, rec).await,
        Scenario::Push => push::once(api, slot, rec).await,
        Scenario::Webhooks => webhooks::once(api, slot, rec).await,
        Scenario::Phone => phone::once(api, slot, rec).await,
    }
}

/// Runs the scenario for `duration`: closed loop (one worker per slot, back to back) or, with
/// `rate`, open loop (operations start on a fixed schedule and take a free slot; waiting for
/// one counts in the latency). Operations in flight at the deadline finish and are counted.
pub async fn drive(
    api: &Api,
    scenario: Scenario,
    slots: Vec<Slot>,
    duration: Duration,
    rate: Option<f64>,
) -> Outcome {
    let rec = Arc::new(Recorder::new());
    let started = Instant::now();
    let progress = tokio::spawn(progress(rec.clone(), started));
    let workers = slots.len();
    let (slots, mode) = match rate {
        None => (
            closed_loop(api, scenario, slots, started + duration, &rec).await,
            format!("closed loop, {workers} workers"),
        ),
        Some(rate) => (
            open_loop(api, scenario, slots, started, duration, rate, &rec).await,
            format!("open loop at {rate}/s, {workers} slots"),
        ),
    };
    let elapsed = started.elapsed();
    progress.abort();
    let _ = progress.await;
    cleanup(api, slots).await;
    let rec = Arc::try_unwrap(rec)
        .ok()
        .expect("workers finished, recorder unshared");
    let tables = rec.tables.into_inner().expect("recorder lock");
    Outcome {
        ok: rec.ok.into_inner(),
        elapsed,
        primary: rec.primary.into_inner().expect("recorder lock"),
        steps: tables.steps,
        errors: tables.errors,
        mode,
    }
}

async fn closed_loop(
    api: &Api,
    scenario: Scenario,
    slots: Vec<Slot>,
    deadline: Instant,
    rec: &Recorder,
) -> Vec<Slot> {
    let workers = slots.into_iter().map(|mut slot| async move {
        while Instant::now() < deadline {
            rec.done(once(api, scenario, &mut slot, rec).await);
        }
        slot
    });
    futures::future::join_all(workers).await
}

async fn open_loop(
    api: &Api,
    scenario: Scenario,
    slots: Vec<Slot>,
    started: Instant,
    duration: Duration,
    rate: f64,
    rec: &Recorder,
) -> Vec<Slot> {
    let count = slots.len();
    let (free_tx, mut free_rx) = mpsc::channel(count);
    for slot in slots {
        free_tx
            .try_send(slot)
            .expect("channel sized for every slot");
    }
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let mut n: u32 = 0;
    loop {
        let scheduled = started + interval * n;
        if scheduled >= started + duration {
            break;
        }
        n += 1;
        // Wait for the tick, then for a free slot, driving the operations in flight meanwhile.
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(scheduled.into()) => break,
                Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            }
        }
        let slot = loop {
            tokio::select! {
                slot = free_rx.recv() => break slot,
                Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            }
        };
        let Some(mut slot) = slot else { break };
        let free_tx = free_tx.clone();
        in_flight.push(async move {
            let queued = scheduled.elapsed();
            let result = once(api, scenario, &mut slot, rec).await;
            rec.done(result.map(|took| queued + took));
            let _ = free_tx.send(slot).await;
        });
    }
    while in_flight.next().await.is_some() {}
    drop(free_tx);
    let mut back = Vec::with_capacity(count);
    while let Some(slot) = free_rx.recv().await {
        back.push(slot);
    }
    back
}

/// Cancels the sessions the run left open so their devices are free for the next run.
async fn cleanup(api: &Api, slots: Vec<Slot>) {
    let open: Vec<Uuid> = slots
        .into_iter()
        .flat_map(|s| s.devices)
        .filter_map(|d| d.open)
        .collect();
    futures::stream::iter(open)
        .for_each_concurrent(16, |id| async move {
            let _ = api.cancel_session(id).await;
        })
        .await;
}

async fn progress(rec: Arc<Recorder>, started: Instant) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last = 0;
    loop {
        tick.tick().await;
        let ok = rec.ok.load(Ordering::Relaxed);
        let failed = rec.failed.load(Ordering::Relaxed);
        eprintln!(
            "  {:>4.0}s  ok {ok:>8}  errors {failed:>6}  {:>7}/s",
            started.elapsed().as_secs_f64(),
            ok - last
        );
        last = ok;
    }
}
