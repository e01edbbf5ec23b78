//! `kassa admin`: operator commands working on the database directly: merchants, API keys
//! and merchant portal users (`admin/users.rs`).

mod users;

use clap::Subcommand;
use kassa_core::MerchantId;
use kassa_server::Config;
use kassa_store::Mode;

#[derive(Subcommand)]
pub enum Admin {
    /// Merchants.
    #[command(subcommand)]
    Merchant(MerchantCmd),
    /// API keys.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Merchant portal users.
    #[command(subcommand)]
    User(UserCmd),
}

#[derive(Subcommand)]
pub enum UserCmd {
    /// Create a portal user; prints {"user_id","email","role"} and "password" when generated.
    /// The password is the first line of stdin when stdin is not a terminal (at least 12
    /// characters); otherwise, or if that is empty, a strong one is generated and printed
    /// once.
    Create {
        #[arg(long)]
        merchant: MerchantId,
        /// Unique across all merchants; compared in any case.
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "admin", value_parser = ["admin", "viewer"])]
        role: String,
    },
    /// List portal users as JSON lines.
    List {
        #[arg(long)]
        merchant: Option<MerchantId>,
    },
    /// Delete a portal user; its sign-in sessions end at once.
    Delete {
        #[arg(long)]
        email: String,
        /// Only if the user belongs to this merchant.
        #[arg(long)]
        merchant: Option<MerchantId>,
    },
}

#[derive(Subcommand)]
pub enum MerchantCmd {
    /// Create a merchant and its first API key; prints {"merchant_id","api_key"}.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "test", value_parser = ["test", "live"])]
        mode: String,
    },
    /// List merchants as JSON lines.
    List,
    /// Bind a merchant to its account at a card processor (Stripe: a connected account,
    /// sent as `Stripe-Account`), or unbind it with `--stripe-account none`.
    SetProcessor {
        #[arg(long)]
        merchant: MerchantId,
        /// `acct_…`, or `none`.
        #[arg(long)]
        stripe_account: String,
    },
}

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Create another API key for a merchant; prints {"merchant_id","api_key"}.
    Create {
        #[arg(long)]
        merchant: MerchantId,
    },
    /// Revoke a key by its id or by its printed prefix.
    Revoke {
        #[arg(long)]
        key: String,
    },
}

pub async fn run(cmd: Admin, config: &Config) -> anyhow::Result<()> {
    let store = kassa_store::connect(&config.database_url).await?;
    let now = chrono::Utc::now();
    match cmd {
        Admin::Merchant(MerchantCmd::Create { name, mode }) => {
            let mode = Mode::parse(&mode).unwrap_or(Mode::Test);
            let (merchant, key) =
                kassa_server::seed::create_merchant(store.as_ref(), &name, mode, now).await?;
            println!(
                "{}",
                serde_json::json!({"merchant_id": merchant.id, "api_key": key})
            );
        }
        Admin::Merchant(MerchantCmd::List) => {
            for m in kassa_store::MerchantStore::list_merchants(store.as_ref()).await? {
                println!(
                    "{}",
                    serde_json::json!({"merchant_id": m.id, "name": m.name, "mode": m.mode.as_str(), "created_at": m.created_at})
                );
            }
        }
        Admin::Merchant(MerchantCmd::SetProcessor {
            merchant,
            stripe_account,
        }) => {
            kassa_store::MerchantStore::get_merchant(store.as_ref(), merchant)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no merchant {merchant}"))?;
            let account = match stripe_account.as_str() {
                "none" => None,
                a if a.starts_with("acct_") && a.len() <= 255 => Some(a),
                _ => anyhow::bail!(
                    "--stripe-account must be a connected account id (acct_…) or none"
                ),
            };
            kassa_store::ProcessorStore::set_processor_account(
                store.as_ref(),
                merchant,
                "stripe",
                account,
                now,
            )
            .await?;
            println!(
                "{}",
                serde_json::json!({"merchant_id": merchant, "processor": "stripe", "account": account})
            );
        }
        Admin::Key(KeyCmd::Create { merchant }) => {
            let m = kassa_store::MerchantStore::get_merchant(store.as_ref(), merchant)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no merchant {merchant}"))?;
            let key = kassa_server::seed::create_key(store.as_ref(), &m, now).await?;
            println!(
                "{}",
                serde_json::json!({"merchant_id": m.id, "api_key": key})
            );
        }
        Admin::Key(KeyCmd::Revoke { key }) => {
            let prefix = if key.starts_with("kassa_") {
                key.chars().take(18).collect()
            } else {
                key
            };
            if !kassa_store::MerchantStore::revoke_api_key(store.as_ref(), &prefix, now).await? {
                anyhow::bail!("no active key matches {prefix}");
            }
            println!("revoked");
        }
        Admin::User(cmd) => users::run(cmd, store.as_ref(), now).await?,
    }
    store.close().await;
    Ok(())
}
