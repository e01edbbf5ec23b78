//! `kassa admin user create|list|delete`: merchant portal users. Passwords come from stdin
//! or are generated and printed once; only their argon2id hash is stored.

use super::UserCmd;
use kassa_core::MerchantId;
use kassa_server::seed;
use kassa_store::{PortalRole, Store};
use std::io::{IsTerminal, Read};

pub async fn run(
    cmd: UserCmd,
    store: &dyn Store,
    now: kassa_core::Timestamp,
) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Create {
            merchant,
            email,
            role,
        } => create(store, merchant, &email, &role, now).await,
        UserCmd::List { merchant } => {
            for u in store.list_portal_users(merchant).await? {
                let line = serde_json::json!({"user_id": u.id, "merchant_id": u.merchant_id,
                    "email": u.email, "role": u.role.as_str(), "created_at": u.created_at});
                println!("{line}");
            }
            Ok(())
        }
        UserCmd::Delete { email, merchant } => delete(store, &email, merchant, now).await,
    }
}

async fn create(
    store: &dyn Store,
    merchant: MerchantId,
    email: &str,
    role: &str,
    now: kassa_core::Timestamp,
) -> anyhow::Result<()> {
    let role = PortalRole::parse(role).unwrap_or(PortalRole::Admin);
    let given = password_from_stdin()?;
    let (user, generated) =
        seed::create_portal_user(store, merchant, email, role, given.as_deref(), now).await?;
    let mut out =
        serde_json::json!({"user_id": user.id, "email": user.email, "role": role.as_str()});
    if let Some(password) = generated {
        out["password"] = password.into();
    }
    println!("{out}");
    Ok(())
}

/// The first line of stdin when it is piped or redirected; `None` at a terminal (nobody is
/// asked to type a password that would echo) or when the input is empty.
fn password_from_stdin() -> anyhow::Result<Option<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut input = String::new();
    stdin.lock().read_to_string(&mut input)?;
    Ok(first_line(&input))
}

fn first_line(input: &str) -> Option<String> {
    input
        .lines()
        .next()
        .filter(|line| !line.is_empty())
        .map(str::to_string)
}

async fn delete(
    store: &dyn Store,
    email: &str,
    merchant: Option<MerchantId>,
    now: kassa_core::Timestamp,
) -> anyhow::Result<()> {
    let found = store.find_portal_user(email).await?;
    let user = found
        .map(|f| f.user)
        .filter(|u| merchant.is_none_or(|m| m == u.merchant_id))
        .ok_or_else(|| anyhow::anyhow!("no portal user {email:?}{}", at(merchant)))?;
    if !store.delete_portal_user(user.id, now).await? {
        anyhow::bail!("portal user {email:?} was deleted meanwhile");
    }
    let out = serde_json::json!({"user_id": user.id, "email": user.email, "deleted": true});
    println!("{out}");
    Ok(())
}

fn at(merchant: Option<MerchantId>) -> String {
    merchant
        .map(|m| format!(" at merchant {m}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::first_line;

    #[test]
    fn the_password_is_the_first_line_as_typed() {
        assert_eq!(
            first_line("pass word 123\n").as_deref(),
            Some("pass word 123")
        );
        assert_eq!(
            first_line("pass word 123\r\nrest").as_deref(),
            Some("pass word 123")
        );
        assert_eq!(
            first_line(" leading space kept").as_deref(),
            Some(" leading space kept")
        );
        assert_eq!(first_line(""), None);
        assert_eq!(first_line("\n"), None);
    }
}
