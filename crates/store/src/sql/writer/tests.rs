//! Group commit on a real SQLite file with one write connection, as the server opens it.

use super::{WriteGroups, Writer};
use crate::Result;
use futures::future::join_all;
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

async fn writer() -> Result<(Writer, AnyPool)> {
    install_default_drivers();
    let url = crate::testing::fresh_database_url(crate::Backend::Sqlite).await?;
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    pool.execute("PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER NOT NULL UNIQUE)")
        .await?;
    let read = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await?;
    Ok((Writer::grouped(pool), read))
}

/// One writer: insert `values` in order, then commit (or drop the transaction unfinished).
async fn write(writer: &Writer, values: &[i64], finish: bool) -> Result<()> {
    let mut tx = writer.begin().await?;
    for v in values {
        sqlx::query("INSERT INTO t (x) VALUES ($1)")
            .bind(*v)
            .execute(&mut *tx)
            .await?;
    }
    if finish {
        tx.commit().await?;
    }
    Ok(())
}

async fn stored(read: &AnyPool) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT x FROM t ORDER BY x")
        .fetch_all(read)
        .await?;
    Ok(rows.into_iter().map(|(x,)| x).collect())
}

#[tokio::test]
async fn queued_writers_share_one_commit() -> Result<()> {
    let (writer, read) = writer().await?;
    let values: Vec<[i64; 1]> = (0..32).map(|i| [i]).collect();
    let writes: Vec<_> = values.iter().map(|v| write(&writer, v, true)).collect();
    for result in join_all(writes).await {
        result?;
    }
    assert_eq!(stored(&read).await?, (0..32).collect::<Vec<_>>());
    let groups = writer.groups().expect("SQLite groups its commits");
    assert_eq!(groups.writers, 32);
    // All 32 queue while the first runs, so a handful of commits serve them (one per writer
    // without grouping).
    assert!(groups.commits <= 4, "{groups:?}");
    Ok(())
}

#[tokio::test]
async fn a_failing_or_vanished_writer_leaves_the_others_committed() -> Result<()> {
    let (writer, read) = writer().await?;
    let results = join_all([
        write(&writer, &[1], true),
        // Writes 2, then breaks the unique rule: its 2 must go, nobody else's rows.
        write(&writer, &[2, 1], true),
        // Writes 4 and is dropped without a commit (a client that hung up).
        write(&writer, &[4], false),
        write(&writer, &[3], true),
    ])
    .await;
    assert!(results[0].is_ok() && results[2].is_ok() && results[3].is_ok());
    assert!(results[1].is_err(), "the duplicate must fail");
    assert_eq!(stored(&read).await?, vec![1, 3]);
    // The group goes on: a later writer commits on its own.
    write(&writer, &[5], true).await?;
    assert_eq!(stored(&read).await?, vec![1, 3, 5]);
    assert_eq!(writer.groups().map(|g| g.writers), Some(3));
    Ok(())
}

#[tokio::test]
async fn a_writer_cancelled_while_queued_does_not_strand_the_group() -> Result<()> {
    let (writer, read) = writer().await?;
    let mut first = writer.begin().await?;
    sqlx::query("INSERT INTO t (x) VALUES (7)")
        .execute(&mut *first)
        .await?;
    // A second writer queues behind the first...
    let mut second = Box::pin(writer.begin());
    assert!(futures::poll!(&mut second).is_pending());
    // ...so the first leaves its commit to it, and then the second is given up before it
    // ever gets the lock (its client hung up). Someone must still commit the first.
    let give_up = async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        drop(second);
    };
    let wait = std::time::Duration::from_secs(10);
    let (committed, ()) = tokio::join!(tokio::time::timeout(wait, first.commit()), give_up);
    committed.expect("the commit must not wait for a writer that is gone")?;
    assert_eq!(stored(&read).await?, vec![7]);
    assert_eq!(
        writer.groups(),
        Some(WriteGroups {
            commits: 1,
            writers: 1
        })
    );
    Ok(())
}
