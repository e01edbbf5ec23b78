//! The lifecycle ceiling writes what the server writes: the same lifecycles, once through a
//! real server's API and once by the ceiling (the SQLite writer; pgbench with
//! lifecycle.pgbench), must add the same rows to the same tables, on each backend. Ids and
//! times are compared only for being set, JSON documents by their keys.

use super::{postgres, sqlite, Job, Run, Shape};
use crate::bench::api::Api;
use kassa_server::{App, Config, ServerMode};
use kassa_store::{Backend, Mode};
use serde_json::{Map, Value};
use sqlx::{AnyConnection, Connection};
use std::collections::BTreeMap;

const LIFECYCLES: u64 = 3;

/// Per table, its rows reduced to what two databases can share, sorted.
type Rows = BTreeMap<String, Vec<String>>;

/// A row as compared: whether each id or time is set; a JSON document's keys; else the value.
fn normalized(row: Map<String, Value>) -> String {
    let shown: Vec<String> = row
        .into_iter()
        .map(|(column, value)| {
            let id_or_time = ["id", "seq", "at"].contains(&column.as_str())
                || column.ends_with("_id")
                || column.ends_with("_at");
            let document = value
                .as_str()
                .and_then(|s| serde_json::from_str::<Map<String, Value>>(s).ok());
            let shown = match (id_or_time, document) {
                (true, _) => (!value.is_null()).to_string(),
                (false, Some(doc)) => doc.keys().cloned().collect::<Vec<_>>().join(","),
                (false, None) => value.to_string(),
            };
            format!("{column}={shown}")
        })
        .collect();
    shown.join(" ")
}

fn table(rows: Vec<String>) -> Vec<String> {
    let mut rows: Vec<String> = rows
        .into_iter()
        .map(|r| normalized(serde_json::from_str(&r).expect("rows as JSON objects")))
        .collect();
    rows.sort();
    rows
}

/// A database's rows, whichever backend `url` names, each table read as JSON objects.
async fn rows(url: &str) -> Rows {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(url).await.unwrap();
    let sqlite = url.starts_with("sqlite:");
    let tables: Vec<String> = sqlx::query_scalar(if sqlite {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '_sqlx%'"
    } else {
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' \
         AND tablename NOT LIKE '_sqlx%'"
    })
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut all = Rows::new();
    for name in tables {
        let sql = if sqlite {
            let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                .bind(&name)
                .fetch_all(&mut conn)
                .await
                .unwrap();
            let pairs: Vec<String> = columns.iter().map(|c| format!("'{c}', \"{c}\"")).collect();
            format!("SELECT json_object({}) FROM \"{name}\"", pairs.join(", "))
        } else {
            format!("SELECT to_jsonb(t)::text FROM \"{name}\" t")
        };
        let rows = sqlx::query_scalar(&sql).fetch_all(&mut conn).await.unwrap();
        all.insert(name, table(rows));
    }
    all
}

/// What `after` holds that `before` did not, table by table (a changed row counts as new).
fn written(before: &Rows, after: &Rows) -> Rows {
    let mut new = Rows::new();
    for (table, rows) in after {
        let mut left = rows.clone();
        for old in before.get(table).into_iter().flatten() {
            if let Some(i) = left.iter().position(|r| r == old) {
                left.remove(i);
            }
        }
        if !left.is_empty() {
            new.insert(table.clone(), left);
        }
    }
    new
}

/// `LIFECYCLES` bench lifecycles through a playground server's API, on a fresh database.
async fn through_the_server(backend: Backend) -> Rows {
    let url = kassa_store::testing::fresh_database_url(backend)
        .await
        .unwrap();
    let mut config = Config::defaults();
    config.database_url = url.clone();
    config.mode = ServerMode::Playground;
    let app = App::build(config).await.unwrap();
    let store = app.state.store.clone();
    let now = app.state.now();
    let (_, key) = kassa_server::seed::create_merchant(store.as_ref(), "Rows", Mode::Test, now)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = app.stop_token();
    let served = tokio::spawn(app.serve(listener));

    let api = Api::new(&base, &key, 1).unwrap();
    let device = api.create_device("rows").await.unwrap();
    let before = rows(&url).await;
    for _ in 0..LIFECYCLES {
        let session = api.create_session(device.id).await.unwrap();
        api.simulate_tap(session).await.unwrap();
    }
    let after = rows(&url).await;
    stop.cancel();
    served.await.unwrap().unwrap();
    written(&before, &after)
}

#[tokio::test]
async fn the_sqlite_lifecycle_ceiling_writes_the_rows_a_server_lifecycle_writes() {
    let server = through_the_server(Backend::Sqlite).await;
    let url = kassa_store::testing::fresh_database_url(Backend::Sqlite)
        .await
        .unwrap();
    let file = url
        .trim_start_matches("sqlite://")
        .trim_end_matches("?mode=rwc");
    let job = Job::new(Shape::Lifecycle, Run::Times(LIFECYCLES), 1);
    let mut conn = sqlite::prepare(file.as_ref(), &job.setup).await.unwrap();
    let before = rows(&url).await;
    sqlite::writer(&mut conn, &job).await.unwrap();
    let ceiling = written(&before, &rows(&url).await);
    assert_eq!(server["sessions"].len(), LIFECYCLES as usize, "{server:#?}");
    assert_eq!(ceiling, server);
}

#[tokio::test]
async fn the_postgres_lifecycle_ceiling_writes_the_rows_a_server_lifecycle_writes() {
    let server = through_the_server(Backend::Postgres).await;
    let admin = kassa_store::testing::pg_admin_url();
    let name = format!("kassa_test_ceiling_{}", std::process::id());
    let job = Job::new(Shape::Lifecycle, Run::Times(LIFECYCLES), 1);
    let db = postgres::prepare(&admin, &name, &job.setup).await.unwrap();
    let before = rows(db.url.as_str()).await;
    let ran = postgres::pgbench(&db.url, &job, 1).await;
    let after = rows(db.url.as_str()).await;
    db.drop_database().await.unwrap();
    ran.unwrap();
    assert_eq!(server["sessions"].len(), LIFECYCLES as usize, "{server:#?}");
    assert_eq!(written(&before, &after), server);
}
