//! API keys over HTTP: a merchant lists, creates and revokes its own keys; a revoked key is
//! refused at once (on PostgreSQL too, where nodes cache keys). Typed calls, but for bad
//! input and the raw list a leak check reads.

use crate::auth::{as_key, other_merchant};
use crate::bad_input::{bad_value, call, send, NONE, UNKNOWN_ID};
use crate::both_backends;
use crate::harness::*;
use kassa_client::api::keys::{ApiKey, CreateApiKey};
use kassa_client::api::session::Session;
use kassa_client::{ErrorCode, Page, SessionFilter};
use serde_json::json;
use uuid::Uuid;

const KEYS: &str = "/ipp/v1/api-keys";

fn described(description: Option<&str>) -> CreateApiKey {
    CreateApiKey {
        description: description.map(str::to_string),
    }
}

/// Creates a key a second after the last one, so that "newest first" has one answer.
async fn create_key(app: &TestApp, req: CreateApiKey) -> ApiKey {
    app.clock.advance(chrono::Duration::seconds(1));
    app.client().api_keys().create(&req).await.unwrap()
}

/// A merchant call made with `key`.
async fn sessions_with(app: &TestApp, key: &str) -> kassa_client::Result<Page<Session>> {
    let sessions = app.client_with_key(key).sessions();
    sessions.list(&SessionFilter::default()).page(0).await
}

async fn revoke(app: &TestApp, key: &str, id: Uuid) -> kassa_client::Result<()> {
    app.client_with_key(key).api_keys().revoke(id).await
}

async fn keys(app: &TestApp) -> Page<ApiKey> {
    app.client().api_keys().list().page(0).await.unwrap()
}

both_backends!(a_created_key_is_shown_once_and_works, |app| {
    let created = create_key(&app, described(Some("till backend"))).await;
    let key = created.api_key.clone().unwrap();
    assert!(key.starts_with("kassa_test_"), "{created:?}");
    assert_eq!(created.prefix, key[..18]);
    assert_eq!(created.last4.as_deref(), Some(&key[key.len() - 4..]));
    assert_eq!(
        (
            created.mode.as_str(),
            created.description.as_deref(),
            created.revoked_at
        ),
        ("test", Some("till backend"), None)
    );
    sessions_with(&app, &key).await.unwrap();

    let page = keys(&app).await;
    assert_eq!(page.total_elements, 2);
    let listed = &page.content[0];
    assert_eq!(listed.id, created.id, "newest first");
    assert_eq!(listed.description.as_deref(), Some("till backend"));
    let shown = ApiKey {
        api_key: None,
        ..created.clone()
    };
    assert_same(listed, &shown, "the list shows all but the key");
    let oldest = &page.content[1];
    assert_eq!(oldest.prefix, app.api_key[..18]);
    assert_eq!(oldest.description, None);
    // On the wire: no key anywhere in the list, and no field beyond these.
    let (status, page) = app.get(KEYS).await;
    assert_eq!(status, 200);
    let text = page.to_string();
    for secret in [key.as_str(), app.api_key.as_str()] {
        assert!(!text.contains(secret), "the list leaks a key: {text}");
    }
    for item in page["content"].as_array().unwrap() {
        let mut fields: Vec<_> = item.as_object().unwrap().keys().cloned().collect();
        fields.sort();
        let want = [
            "created_at",
            "description",
            "id",
            "last4",
            "mode",
            "prefix",
            "revoked_at",
        ];
        assert_eq!(fields, want, "{item}");
    }
    // A create without a description is fine too.
    let bare = create_key(&app, described(None)).await;
    assert_eq!(bare.description, None);
});

both_backends!(a_revoked_key_is_refused_at_once, |app| {
    let created = create_key(&app, described(None)).await;
    let (id, key) = (created.id, created.api_key.unwrap());
    // Warm the PostgreSQL node's key cache, so the revoke has to clear it.
    for _ in 0..3 {
        sessions_with(&app, &key).await.unwrap();
    }
    revoke(&app, &app.api_key, id).await.unwrap();
    let refused = sessions_with(&app, &key).await;
    assert_api_error(refused, 401, ErrorCode::Unauthorized);
    let others = sessions_with(&app, &app.api_key).await;
    assert!(others.is_ok(), "other keys work: {others:?}");

    let again = revoke(&app, &app.api_key, id).await;
    assert!(again.is_ok(), "a repeat is a no-op: {again:?}");
    let page = keys(&app).await;
    let listed = &page.content[0];
    assert_eq!(listed.id, id);
    assert!(listed.revoked_at.is_some(), "{listed:?}");

    // A key may revoke itself; that answer is its last.
    let own = create_key(&app, described(None)).await;
    let (own_id, own_key) = (own.id, own.api_key.unwrap());
    revoke(&app, &own_key, own_id).await.unwrap();
    let refused = sessions_with(&app, &own_key).await;
    assert_eq!(refused.unwrap_err().status(), Some(401));
});

both_backends!(another_merchants_keys_are_not_found, |app| {
    let (their_key, _) = other_merchant(&app).await;
    let theirs = app.client_with_key(&their_key).api_keys();
    let theirs = theirs.list().page(0).await.unwrap();
    assert_eq!(theirs.total_elements, 1);
    let their_id = theirs.content[0].id;
    for id in [their_id, UNKNOWN_ID] {
        let refused = revoke(&app, &app.api_key, id).await;
        assert_api_error(refused, 404, ErrorCode::NotFound);
    }
    // An id that is no UUID: only a raw request can send it.
    let (status, err) = call(&app, &format!("DELETE {KEYS}/not-a-uuid"), NONE).await;
    assert_error(status, &err, 404, "NOT_FOUND");
    sessions_with(&app, &their_key).await.unwrap();
    let mine = keys(&app).await;
    let ids: Vec<_> = mine.content.iter().map(|k| k.id).collect();
    assert!(!ids.contains(&their_id), "{mine:?}");
});

// Raw on purpose: the bodies break the rules in ways no typed request can.
both_backends!(bad_input_is_a_clear_400, |app| {
    let post = format!("POST {KEYS}");
    let cases = [
        json!({"description": "d".repeat(256)}),
        json!({"description": 42}),
    ];
    for body in cases {
        let (status, err) = call(&app, &post, body).await;
        bad_value(status, &err, "description");
    }
    let (status, err) = call(&app, &post, NONE).await;
    assert_error(status, &err, 400, "INVALID_JSON");
    let (status, err) = app.get(&format!("{KEYS}?page_size=0")).await;
    bad_value(status, &err, "page_size");
    assert_eq!(keys(&app).await.total_elements, 1, "nothing was created");
    let (status, err) = send(as_key(&app, "kassa_test_nope", &format!("GET {KEYS}"))).await;
    assert_error(status, &err, 401, "UNAUTHORIZED");
    let longest = "d".repeat(255);
    let longest = create_key(&app, described(Some(&longest))).await;
    assert_eq!(longest.description.unwrap().len(), 255);
});

// Raw: the OpenAPI document itself.
both_backends!(openapi_describes_the_key_routes, |app| {
    let (status, doc) = json_of(app.http.get(app.url("/openapi.json")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let paths = &doc["paths"];
    let routes = [
        (KEYS.to_string(), "get", ["200", "400"]),
        (KEYS.to_string(), "post", ["201", "400"]),
        (format!("{KEYS}/{{id}}"), "delete", ["204", "404"]),
    ];
    for (path, method, codes) in routes {
        let operation = &paths[&path][method];
        assert_eq!(operation["tags"], json!(["keys"]), "{path} {method}");
        for code in codes {
            assert!(
                operation["responses"][code].is_object(),
                "{path} {method} {code}"
            );
        }
    }
});

both_backends!(a_new_key_is_never_kept_for_an_idempotent_replay, |app| {
    let post = || {
        let req = described(Some("till"));
        let call = app.client().api_keys().create(&req);
        call.idempotency_key("key-for-the-till").send()
    };
    let first = post().await.unwrap();
    let second = post().await.unwrap();
    // Replaying would mean storing the key in the clear; the retry issues another one.
    assert!(!second.replayed, "{second:?}");
    assert_ne!(first.api_key, second.api_key);
    assert!(first.api_key.as_deref().unwrap().starts_with("kassa_test_"));
    let merchant = app.merchant_id.parse().unwrap();
    let claim = app
        .state
        .store
        .claim_idempotency_key(
            merchant,
            "key-for-the-till",
            "x",
            app.state.now(),
            app.state.now() - chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(
        claim,
        kassa_store::IdempotencyClaim::Claimed,
        "nothing was stored under the key"
    );
});
