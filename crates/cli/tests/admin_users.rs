//! `kassa admin user create|list|delete` through the real binary on a fresh SQLite file:
//! passwords from stdin or generated, emails unique in any case, deletion ends sessions.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const KASSA: &str = env!("CARGO_BIN_EXE_kassa");

struct Db {
    url: String,
    path: std::path::PathBuf,
}

impl Drop for Db {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

fn fresh_db() -> Db {
    let path = std::env::temp_dir().join(format!("kassa_admin_users_{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    Db { url, path }
}

/// Runs `kassa admin …` with `stdin` piped in (`None`: an empty, non-terminal stdin).
fn admin(db: &Db, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(KASSA)
        .arg("admin")
        .args(args)
        .env("KASSA_DATABASE_URL", &db.url)
        .env("KASSA_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kassa admin");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// Whether the stored hash accepts `password` (what the login route checks).
fn signs_in(db: &Db, email: &str, password: &str) -> bool {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = kassa_store::connect(&db.url).await.unwrap();
        let found = kassa_store::PortalStore::find_portal_user(store.as_ref(), email).await;
        let phc = found.unwrap().unwrap().password_hash;
        store.close().await;
        kassa_server::http::portal::password::verify(password, &phc)
    })
}

fn json_lines(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn users_are_created_listed_and_deleted() {
    let db = fresh_db();
    let merchant = json_lines(&admin(&db, &["merchant", "create", "--name", "Shop"], None));
    let merchant = merchant[0]["merchant_id"].as_str().unwrap();
    let create = |email: &str, role: &str, stdin: Option<&str>| {
        let args = [
            "user",
            "create",
            "--merchant",
            merchant,
            "--email",
            email,
            "--role",
            role,
        ];
        admin(&db, &args, stdin)
    };

    let short = create("ann@shop.example", "admin", Some("too short\n"));
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));

    let ann = json_lines(&create(
        "Ann@Shop.Example",
        "viewer",
        Some("correct horse battery\n"),
    ));
    let ann = &ann[0];
    assert_eq!(ann["email"], "ann@shop.example");
    assert_eq!(ann["role"], "viewer");
    assert!(
        ann.get("password").is_none(),
        "a given password is not printed: {ann}"
    );

    let bob = json_lines(&create("bob@shop.example", "admin", None));
    let bob = &bob[0];
    let generated = bob["password"].as_str().unwrap();
    assert_eq!(generated.len(), 20);
    assert!(signs_in(&db, "bob@shop.example", generated));
    assert!(signs_in(&db, "ann@shop.example", "correct horse battery"));

    let again = create("ANN@shop.example", "admin", None);
    assert!(!again.status.success(), "emails are unique in any case");

    let listed = json_lines(&admin(&db, &["user", "list", "--merchant", merchant], None));
    let emails: Vec<&str> = listed
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ann@shop.example", "bob@shop.example"]);
    assert!(
        !String::from_utf8_lossy(&admin(&db, &["user", "list"], None).stdout).contains(generated)
    );

    let gone = json_lines(&admin(
        &db,
        &["user", "delete", "--email", "ann@shop.example"],
        None,
    ));
    assert_eq!(gone[0]["deleted"], true);
    assert!(!admin(
        &db,
        &["user", "delete", "--email", "ann@shop.example"],
        None
    )
    .status
    .success());
    let other = uuid::Uuid::new_v4().to_string();
    let elsewhere = admin(
        &db,
        &[
            "user",
            "delete",
            "--email",
            "bob@shop.example",
            "--merchant",
            &other,
        ],
        None,
    );
    assert!(!elsewhere.status.success(), "bob is not that merchant's");
    assert_eq!(json_lines(&admin(&db, &["user", "list"], None)).len(), 1);
}
