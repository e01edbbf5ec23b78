//! `phone`: what Kassa's Stripe adapter adds to a card sale, measured against a fake Stripe
//! (`kassa-stripe-fake`) that the bench runs in its own process on `--fake-stripe`, where the
//! server's `KASSA_STRIPE_API_BASE` points.
//!
//! Each operation is two sales with the same cart, one after the other, in alternating order
//! (so neither always runs second, on a server just warmed by the first): one on a paired
//! phone (Tap to Pay, so its card goes through Stripe) and one on a simulated device (the
//! simulated processor, no Stripe). Each times the same three steps: the create, `PUT
//! …/payment` with `CARD_TAP` (the phone's creates the PaymentIntent at Stripe) and `POST
//! …/finalize` (the phone's reads the PaymentIntent and captures it). Between the last two
//! the phone's card is approved on the fake in-process (`FakeStripe::tap`), untimed. The
//! measured latency is the phone's sale: the sum of its three steps.
//!
//! The fake has no webhook URL and its webhooks are paused: a `payment_intent` webhook must
//! not settle the session before the device's finalize does, or the finalize would measure
//! a replay instead of Kassa's verify-and-capture.

use super::api::{Api, Failure, SimDevice};
use super::driver::{Recorder, Slot};
use anyhow::{anyhow, bail, Context};
use hdrhistogram::Histogram;
use kassa_client::api::session::PaymentResult;
use kassa_stripe_fake::{FakeConfig, FakeStripe, TapOutcome};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The fake signs its webhooks with this; none is ever sent (see the module comment).
const WEBHOOK_SECRET: &str = "whsec_kassa_bench_unused";

/// The server pairs 10 devices a minute per client address, one more every 6 s after that.
const PAIRING_WAIT: Duration = Duration::from_millis(6_500);

/// Enough waits to pair the 10 phones a minute-old limiter lets through, and more.
const PAIRING_TRIES: usize = 40;

/// Which processor takes a sale's card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Stripe,
    Simulated,
}

/// The report's step names: the step first, so each step's two rows sort next to each other.
struct Names {
    label: &'static str,
    create: &'static str,
    payment: &'static str,
    finalize: &'static str,
    sale: &'static str,
}

const STRIPE: Names = Names {
    label: "stripe",
    create: "1 create · stripe",
    payment: "2 payment CARD_TAP · stripe",
    finalize: "3 finalize · stripe",
    sale: "4 sale (1+2+3) · stripe",
};

const SIMULATED: Names = Names {
    label: "simulated",
    create: "1 create · simulated",
    payment: "2 payment CARD_TAP · simulated",
    finalize: "3 finalize · simulated",
    sale: "4 sale (1+2+3) · simulated",
};

/// `(step, stripe's row, simulated's row)` for the table of differences.
const PAIRS: [(&str, &str, &str); 4] = [
    ("create", STRIPE.create, SIMULATED.create),
    ("payment CARD_TAP", STRIPE.payment, SIMULATED.payment),
    ("finalize", STRIPE.finalize, SIMULATED.finalize),
    ("sale (1+2+3)", STRIPE.sale, SIMULATED.sale),
];

impl Kind {
    fn names(self) -> &'static Names {
        match self {
            Self::Stripe => &STRIPE,
            Self::Simulated => &SIMULATED,
        }
    }
}

/// The run's fake Stripe and its phones; one per `kassa bench` process.
struct World {
    fake: FakeStripe,
    /// Simulated device id → the phone that sells in turn with it.
    phones: HashMap<Uuid, SimDevice>,
}

static WORLD: OnceLock<World> = OnceLock::new();

/// Counts operations, to alternate which sale goes first.
static TURN: AtomicU64 = AtomicU64::new(0);

/// Starts the fake Stripe on `addr`, pairs one phone for each simulated device in `slots`,
/// and makes one untimed sale on each phone. That sale proves the wiring (the server must
/// reach this fake with this key: a phone whose PaymentIntent the fake does not know would
/// fail every operation) and opens the server's pooled connections to the fake before the
/// clock starts.
pub async fn setup(
    api: &Api,
    addr: SocketAddr,
    secret_key: &str,
    slots: &[Slot],
) -> anyhow::Result<()> {
    let config = FakeConfig {
        secret_key: secret_key.into(),
        webhook_secret: WEBHOOK_SECRET.into(),
        webhook_url: None,
    };
    let fake = FakeStripe::start_on(addr, config)
        .await
        .with_context(|| format!("starting the fake Stripe on {addr}"))?;
    fake.pause_webhooks(true);
    let run = std::process::id();
    let mut phones = HashMap::new();
    for (i, dev) in slots.iter().flat_map(|s| &s.devices).enumerate() {
        let phone = pair(api, &format!("bench-phone-{run}-{i}")).await?;
        let mut open = None;
        if let Err(Failure(f)) = sale(api, &fake, &phone, Kind::Stripe, &mut open, None).await {
            bail!(
                "a first, untimed phone sale failed: {f}. The server must run in playground \
                 mode with KASSA_STRIPE_SECRET_KEY set to this bench's key and \
                 KASSA_STRIPE_API_BASE={}",
                fake.base_url()
            );
        }
        phones.insert(dev.sim.id, phone);
    }
    WORLD
        .set(World { fake, phones })
        .map_err(|_| anyhow!("the phone scenario was set up twice in one process"))
}

/// Pairs one phone, waiting out the server's pairing limit when it is reached.
async fn pair(api: &Api, name: &str) -> anyhow::Result<SimDevice> {
    let code = api
        .enrollment_code()
        .await
        .map_err(|Failure(f)| anyhow!("creating an enrollment code: {f}"))?;
    for _ in 0..PAIRING_TRIES {
        match api.register_phone(&code, name).await {
            Ok(Some(phone)) => return Ok(phone),
            Ok(None) => {
                eprintln!("bench phone: the server pairs 10 devices a minute per address; waiting");
                tokio::time::sleep(PAIRING_WAIT).await;
            }
            Err(Failure(f)) => bail!("pairing a phone: {f}"),
        }
    }
    bail!("pairing a phone: still rate limited after {PAIRING_TRIES} tries")
}

pub async fn once(api: &Api, slot: &mut Slot, rec: &Recorder) -> Result<Duration, Failure> {
    let world = WORLD
        .get()
        .ok_or_else(|| Failure::new("fake Stripe not started"))?;
    let dev = slot.take();
    if let Some(open) = dev.open.take() {
        // Left open by a failed sale (of either device): free its device first.
        api.cancel_session(open).await?;
    }
    let phone = world
        .phones
        .get(&dev.sim.id)
        .ok_or_else(|| Failure::new("no phone paired with this device"))?;
    let order = match TURN.fetch_add(1, Ordering::Relaxed) % 2 {
        0 => [Kind::Stripe, Kind::Simulated],
        _ => [Kind::Simulated, Kind::Stripe],
    };
    let mut measured = Duration::ZERO;
    for kind in order {
        let device = match kind {
            Kind::Stripe => phone,
            Kind::Simulated => &dev.sim,
        };
        let took = sale(api, &world.fake, device, kind, &mut dev.open, Some(rec)).await?;
        if kind == Kind::Stripe {
            measured = took;
        }
    }
    Ok(measured)
}

/// One sale on `device`: create, choose card, (Stripe: the card is approved on the fake),
/// finalize. Records its steps in `rec` only when the whole sale succeeded, and returns the
/// sum of the three timed steps. `open` holds the session until it is final, so that a
/// failed sale's session is cancelled before the device is used again.
async fn sale(
    api: &Api,
    fake: &FakeStripe,
    device: &SimDevice,
    kind: Kind,
    open: &mut Option<Uuid>,
    rec: Option<&Recorder>,
) -> Result<Duration, Failure> {
    let names = kind.names();
    let failed = |step| failed(names.label, step);
    let start = Instant::now();
    let id = api
        .create_session(device.id)
        .await
        .map_err(failed("create"))?;
    let created = start.elapsed();
    *open = Some(id);
    let t = Instant::now();
    let intent = api
        .choose_card(device, id)
        .await
        .map_err(failed("payment"))?;
    let chosen = t.elapsed();
    let payment = payment_result(fake, kind, intent)?;
    let t = Instant::now();
    api.finalize(device, id, payment)
        .await
        .map_err(failed("finalize"))?;
    let finalized = t.elapsed();
    *open = None;
    let total = created + chosen + finalized;
    if let Some(rec) = rec {
        rec.step(names.create, created);
        rec.step(names.payment, chosen);
        rec.step(names.finalize, finalized);
        rec.step(names.sale, total);
    }
    Ok(total)
}

/// Names a failed step in the error table: `stripe finalize: 502 PROCESSOR_ERROR`.
fn failed(kind: &'static str, step: &'static str) -> impl Fn(Failure) -> Failure {
    move |Failure(f)| Failure::new(format!("{kind} {step}: {f}"))
}

/// What the device reports at finalize. For Stripe, the customer taps first: the fake
/// approves the card on the PaymentIntent the server prepared (`requires_capture`).
fn payment_result(
    fake: &FakeStripe,
    kind: Kind,
    intent: Option<String>,
) -> Result<PaymentResult, Failure> {
    match (kind, intent) {
        (Kind::Stripe, Some(pi)) => {
            fake.tap(&pi, TapOutcome::Approve)
                .map_err(|e| Failure::new(format!("stripe tap: {e}")))?;
            Ok(PaymentResult {
                processor: "stripe".into(),
                outcome: None,
                reference: Some(pi),
            })
        }
        (Kind::Stripe, None) => Err(Failure::new(
            "stripe payment: the answer names no PaymentIntent (is Stripe configured?)",
        )),
        (Kind::Simulated, None) => Ok(PaymentResult {
            processor: "simulated".into(),
            outcome: Some("SUCCESS".into()),
            reference: None,
        }),
        (Kind::Simulated, Some(_)) => Err(Failure::new(
            "simulated payment: the answer names a PaymentIntent",
        )),
    }
}

/// Prints, for each step, the Stripe sale's latency minus the simulated sale's at p50, p99
/// and max: what the adapter adds. These are differences of percentiles, not percentiles of
/// per-sale differences (the two sales of an operation are not paired up).
pub fn print_adapter_cost(steps: &BTreeMap<&'static str, Histogram<u64>>) {
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!();
    println!("what the Stripe adapter adds: stripe minus simulated, per percentile (ms)");
    println!("  {:<36} {:>9} {:>9} {:>9}", "step", "p50", "p99", "max");
    for (step, stripe, simulated) in PAIRS {
        let (Some(a), Some(b)) = (steps.get(stripe), steps.get(simulated)) else {
            continue;
        };
        println!(
            "  {step:<36} {:>+9.2} {:>+9.2} {:>+9.2}",
            ms(a, 0.5) - ms(b, 0.5),
            ms(a, 0.99) - ms(b, 0.99),
            (a.max() as f64 - b.max() as f64) / 1000.0
        );
    }
    if let Some(world) = WORLD.get() {
        let mut calls: BTreeMap<String, u64> = BTreeMap::new();
        for r in world.fake.requests() {
            *calls
                .entry(format!("{} {}", r.method, generic(&r.path)))
                .or_default() += 1;
        }
        println!("  requests the fake Stripe answered (set-up sales and clean-up included):");
        for (call, n) in calls {
            println!("    {n:>8}  {call}");
        }
    }
}

/// A request path with its object ids replaced: `/v1/payment_intents/{id}/capture`.
fn generic(path: &str) -> String {
    path.split('/')
        .map(|part| match part.split_once('_') {
            Some((prefix, _)) if ["pi", "tmr", "re", "ch"].contains(&prefix) => "{id}",
            _ => part,
        })
        .collect::<Vec<_>>()
        .join("/")
}
