//! Write transactions. PostgreSQL: a plain transaction from the pool. SQLite: group commit.
//!
//! SQLite has one writer and `synchronous=FULL` flushes the WAL on every commit, so a server
//! that commits each request on its own is bound by one flush per request. Here the one write
//! connection keeps a transaction open while writers are queued: each writer runs in its own
//! savepoint (a failing writer rolls back to it and the others are untouched), and the last
//! writer of the group (nobody else queued, or `MAX_GROUP` reached) commits them all with one
//! flush. `commit()` returns only once that commit is durable, so nothing is acknowledged
//! before it is on disk, exactly as before; what changes is that one flush serves many.
//!
//! Cancellation: a writer's future may be dropped at any await (a client hangs up). A dropped
//! writer rolls back to its savepoint and, if it was the last one queued, commits the group on
//! a spawned task, so the others never wait for a writer that is gone. The group's commit
//! itself always runs on a spawned task for the same reason.

use crate::Result;
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Mutex, OwnedMutexGuard};

/// Most writers one commit serves: bounds how long a writer's answer waits behind others.
const MAX_GROUP: usize = 64;

pub(crate) struct Writer {
    pub pool: AnyPool,
    group: Option<Arc<Group>>,
}

impl Writer {
    /// Plain transactions (PostgreSQL: many connections commit in parallel already).
    pub fn plain(pool: AnyPool) -> Self {
        Self { pool, group: None }
    }

    /// Group commit over `pool`, which must have exactly one connection (SQLite).
    pub fn grouped(pool: AnyPool) -> Self {
        let group = Arc::new(Group {
            batch: Arc::new(Mutex::new(Batch::default())),
            queued: AtomicUsize::new(0),
            commits: AtomicU64::new(0),
            committed_writers: AtomicU64::new(0),
        });
        Self {
            pool,
            group: Some(group),
        }
    }

    /// Group commit so far (SQLite only): how many commits served how many writers.
    pub fn groups(&self) -> Option<WriteGroups> {
        self.group.as_ref().map(|g| WriteGroups {
            commits: g.commits.load(Ordering::Relaxed),
            writers: g.committed_writers.load(Ordering::Relaxed),
        })
    }

    pub async fn begin(&self) -> Result<WriteTx> {
        match &self.group {
            None => Ok(WriteTx::Plain(self.pool.begin().await?)),
            Some(group) => group.clone().enter(&self.pool).await,
        }
    }
}

struct Group {
    batch: Arc<Mutex<Batch>>,
    /// Writers that called `begin` and have not left yet. The last to leave commits.
    queued: AtomicUsize,
    commits: AtomicU64,
    committed_writers: AtomicU64,
}

/// Successful group commits and the writers they made durable, since the store opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteGroups {
    pub commits: u64,
    pub writers: u64,
}

#[derive(Default)]
struct Batch {
    tx: Option<Transaction<'static, Any>>,
    /// Writers whose savepoint was released into `tx` and who wait for its commit.
    members: usize,
    committed: Option<watch::Sender<Option<Result<(), String>>>>,
}

/// A writer's transaction: derefs to the SQL transaction its statements run in.
pub(crate) enum WriteTx {
    Plain(Transaction<'static, Any>),
    Grouped(Member),
}

pub(crate) struct Member {
    group: Arc<Group>,
    /// `None` once the member has left (committed, or handed to the drop task).
    batch: Option<OwnedMutexGuard<Batch>>,
    /// Its savepoint is open: leaving without a commit must roll back to it.
    savepoint: bool,
}

/// Counts a writer as queued until it holds the batch; a writer dropped while waiting for the
/// lock must not leave the group without someone to commit it.
struct Ticket(Option<Arc<Group>>);

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(group) = self.0.take() {
            if group.queued.fetch_sub(1, Ordering::AcqRel) == 1 {
                spawn(async move { group.commit_if_idle().await });
            }
        }
    }
}

impl Group {
    async fn enter(self: Arc<Self>, pool: &AnyPool) -> Result<WriteTx> {
        self.queued.fetch_add(1, Ordering::AcqRel);
        let mut ticket = Ticket(Some(self.clone()));
        let batch = self.batch.clone().lock_owned().await;
        ticket.0 = None;
        // From here the member owns the lock: dropping it (at any await) leaves the group.
        let mut member = Member {
            group: self,
            batch: Some(batch),
            savepoint: false,
        };
        member.open(pool).await?;
        Ok(WriteTx::Grouped(member))
    }

    /// A writer is done with the batch: commit it if nobody else is queued (or it is full),
    /// else let the next writer in.
    fn leave(self: &Arc<Self>, batch: OwnedMutexGuard<Batch>) {
        let last = self.queued.fetch_sub(1, Ordering::AcqRel) == 1;
        if last || batch.members >= MAX_GROUP {
            spawn(self.clone().commit(batch));
        }
    }

    /// After a queued writer vanished: commit what the batch holds unless a writer took over.
    async fn commit_if_idle(self: Arc<Self>) {
        let batch = self.batch.clone().lock_owned().await;
        if self.queued.load(Ordering::Acquire) == 0 {
            self.commit(batch).await;
        }
    }

    /// Commits the batch's transaction (if any) and tells its members how it went. Holds the
    /// lock until then, so the next group starts after this one's flush.
    async fn commit(self: Arc<Self>, mut batch: OwnedMutexGuard<Batch>) {
        let Some(tx) = batch.tx.take() else { return };
        let outcome = tx.commit().await.map_err(|e| e.to_string());
        match &outcome {
            Ok(()) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
                let members = u64::try_from(batch.members).unwrap_or(u64::MAX);
                self.committed_writers.fetch_add(members, Ordering::Relaxed);
            }
            Err(e) => tracing::error!(error = %e, members = batch.members, "group commit failed"),
        }
        if let Some(sender) = batch.committed.take() {
            let _ = sender.send(Some(outcome));
        }
    }
}

impl WriteTx {
    /// Commits this writer's changes; returns once they are durable.
    pub async fn commit(self) -> Result<()> {
        match self {
            WriteTx::Plain(tx) => Ok(tx.commit().await?),
            WriteTx::Grouped(member) => member.commit().await,
        }
    }

    /// Undoes this writer's changes. Grouped: its savepoint is rolled back on a task (see
    /// `Member`'s `Drop`), which the next writer waits for.
    pub async fn rollback(self) -> Result<()> {
        match self {
            WriteTx::Plain(tx) => Ok(tx.rollback().await?),
            WriteTx::Grouped(member) => {
                drop(member);
                Ok(())
            }
        }
    }
}

impl Member {
    async fn open(&mut self, pool: &AnyPool) -> Result<()> {
        let batch = self.batch.as_mut().expect("a member holds its batch");
        if batch.tx.is_none() {
            batch.tx = Some(pool.begin().await?);
            batch.members = 0;
            batch.committed = Some(watch::channel(None).0);
        }
        (&mut **self.tx_mut()).execute("SAVEPOINT writer").await?;
        self.savepoint = true;
        Ok(())
    }

    async fn commit(mut self) -> Result<()> {
        (&mut **self.tx_mut())
            .execute("RELEASE SAVEPOINT writer")
            .await?;
        self.savepoint = false;
        let mut batch = self.batch.take().expect("a member holds its batch");
        batch.members += 1;
        let mut committed = batch
            .committed
            .as_ref()
            .expect("an open batch has a commit signal")
            .subscribe();
        self.group.leave(batch);
        let outcome = committed
            .wait_for(Option::is_some)
            .await
            .map_err(|_| sqlx::Error::Protocol("group commit ended without an answer".into()))?;
        match outcome.as_ref().expect("waited for Some") {
            Ok(()) => Ok(()),
            Err(e) => Err(sqlx::Error::Protocol(format!("group commit failed: {e}")).into()),
        }
    }
}

impl Drop for Member {
    /// Not committed: undo this writer's statements, then leave (on a task: it needs I/O).
    fn drop(&mut self) {
        let Some(mut batch) = self.batch.take() else {
            return;
        };
        let group = self.group.clone();
        let savepoint = self.savepoint;
        spawn(async move {
            if savepoint {
                undo(&mut batch).await;
            }
            group.leave(batch);
        });
    }
}

/// Rolls the batch back to the open savepoint. If even that fails the transaction is
/// unusable: everyone in it fails rather than commit half of it.
async fn undo(batch: &mut Batch) {
    let Some(tx) = batch.tx.as_mut() else { return };
    let mut undone = (&mut **tx).execute("ROLLBACK TO SAVEPOINT writer").await;
    if undone.is_ok() {
        undone = (&mut **tx).execute("RELEASE SAVEPOINT writer").await;
    }
    if let Err(e) = undone {
        tracing::error!(error = %e, "rolling back a writer failed; dropping its group");
        batch.tx = None;
        if let Some(sender) = batch.committed.take() {
            let _ = sender.send(Some(Err(e.to_string())));
        }
    }
}

fn spawn(task: impl std::future::Future<Output = ()> + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(task)),
        Err(_) => tracing::error!("no runtime to finish a SQLite write group on"),
    }
}

/// The connection a writer's statements run on (`&mut *tx` is an executor).
impl Deref for WriteTx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        match self {
            WriteTx::Plain(tx) => tx,
            WriteTx::Grouped(member) => member.tx(),
        }
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            WriteTx::Plain(tx) => tx,
            WriteTx::Grouped(member) => member.tx_mut(),
        }
    }
}

impl Member {
    fn tx(&self) -> &Transaction<'static, Any> {
        let batch = self.batch.as_ref().expect("a member holds its batch");
        batch.tx.as_ref().expect("a member's batch is open")
    }

    fn tx_mut(&mut self) -> &mut Transaction<'static, Any> {
        let batch = self.batch.as_mut().expect("a member holds its batch");
        batch.tx.as_mut().expect("a member's batch is open")
    }
}

#[cfg(test)]
mod tests;
