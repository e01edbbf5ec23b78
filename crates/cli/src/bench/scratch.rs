//! Throw-away databases and directories for the ceiling and for `--compare`: a fresh
//! PostgreSQL database beside a given one, and a temporary directory removed when dropped.

use anyhow::Context;
use sqlx::{ConnectOptions, Executor};
use std::path::{Path, PathBuf};

/// A PostgreSQL database named `name` on the server of `url`, created empty (dropped first
/// if a crashed run left it) and dropped again by `drop`.
pub struct PgScratch {
    admin: String,
    name: String,
    pub url: reqwest::Url,
}

impl PgScratch {
    pub async fn create(url: &str, name: &str) -> anyhow::Result<Self> {
        let mut scratch = reqwest::Url::parse(url).context("parsing the database URL")?;
        scratch.set_path(name);
        // The maintenance database: `url`'s own need not exist yet (`--compare`'s base).
        let mut admin = scratch.clone();
        admin.set_path("postgres");
        let this = Self {
            admin: admin.into(),
            name: name.into(),
            url: scratch,
        };
        this.drop_database().await?;
        this.admin(&format!("CREATE DATABASE \"{name}\"")).await?;
        Ok(this)
    }

    pub async fn drop_database(&self) -> anyhow::Result<()> {
        let name = &self.name;
        self.admin(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
    }

    /// One statement on its own connection: PostgreSQL refuses CREATE/DROP DATABASE in a
    /// transaction, and says "does not exist" at first, which is no news here.
    async fn admin(&self, sql: &str) -> anyhow::Result<()> {
        let mut conn = self
            .admin
            .parse::<sqlx::postgres::PgConnectOptions>()?
            .disable_statement_logging()
            .connect()
            .await
            .context("connecting to PostgreSQL")?;
        conn.execute(sql).await?;
        Ok(())
    }
}

/// The database name in a PostgreSQL URL, `kassa` when it names none.
pub fn pg_database_name(url: &str) -> anyhow::Result<String> {
    let url = reqwest::Url::parse(url).context("parsing the database URL")?;
    let name = url.path().trim_start_matches('/');
    Ok(if name.is_empty() { "kassa" } else { name }.into())
}

pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A new directory under `parent`, removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(parent: &Path, name: &str) -> anyhow::Result<Self> {
        let dir = parent.join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
