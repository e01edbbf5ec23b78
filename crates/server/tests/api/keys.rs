//! API keys over HTTP: a merchant lists, creates and revokes its own keys; a revoked key is
//! refused at once (on PostgreSQL too, where nodes cache keys).

use crate::auth::{as_key, id_of, other_merchant};
use crate::bad_input::{bad_value, call, send, NONE, UNKNOWN};
use crate::both_backends;
use crate::harness::*;
use serde_json::{json, Value};

const KEYS: &str = "/ipp/v1/api-keys";

/// Creates a key a second after the last one, so that "newest first" has one answer.
async fn create_key(app: &TestApp, body: Value) -> Value {
    app.clock.advance(chrono::Duration::seconds(1));
    let (status, created) = call(app, &format!("POST {KEYS}"), body).await;
    assert_eq!(status, 201, "{created}");
    created
}

/// The status `key` gets on a merchant call.
async fn status_with(app: &TestApp, key: &str) -> u16 {
    send(as_key(app, key, "GET /ipp/v1/sessions")).await.0
}

async fn revoke(app: &TestApp, key: &str, id: &str) -> (u16, Value) {
    send(as_key(app, key, &format!("DELETE {KEYS}/{id}"))).await
}

both_backends!(a_created_key_is_shown_once_and_works, |app| {
    let created = create_key(&app, json!({"description": "till backend"})).await;
    let key = created["api_key"].as_str().unwrap();
    assert!(key.starts_with("kassa_test_"), "{created}");
    assert_eq!(created["prefix"], key[..18]);
    assert_eq!(created["last4"], key[key.len() - 4..]);
    assert_eq!(
        (
            &created["mode"],
            &created["description"],
            &created["revoked_at"]
        ),
        (&json!("test"), &json!("till backend"), &Value::Null)
    );
    assert_eq!(status_with(&app, key).await, 200);

    let (status, page) = app.get(KEYS).await;
    assert_eq!(status, 200);
    assert_eq!(page["total_elements"], 2);
    let listed = &page["content"][0];
    assert_eq!(listed["id"], created["id"], "newest first");
    assert_eq!(listed["description"], "till backend");
    let mut shown = created.clone();
    shown.as_object_mut().unwrap().remove("api_key");
    assert_eq!(listed, &shown, "the list shows all but the key");
    let oldest = &page["content"][1];
    assert_eq!(oldest["prefix"], app.api_key[..18]);
    assert_eq!(oldest["description"], Value::Null);
    let text = page.to_string();
    for secret in [key, app.api_key.as_str()] {
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
    let bare = create_key(&app, json!({})).await;
    assert_eq!(bare["description"], Value::Null);
});

both_backends!(a_revoked_key_is_refused_at_once, |app| {
    let created = create_key(&app, json!({})).await;
    let (id, key) = (id_of(&created, "id"), id_of(&created, "api_key"));
    // Warm the PostgreSQL node's key cache, so the revoke has to clear it.
    for _ in 0..3 {
        assert_eq!(status_with(&app, key).await, 200);
    }
    let (status, body) = revoke(&app, &app.api_key, id).await;
    assert_eq!(status, 204, "{body}");
    let (status, err) = send(as_key(&app, key, "GET /ipp/v1/sessions")).await;
    assert_error(status, &err, 401, "UNAUTHORIZED");
    assert_eq!(
        status_with(&app, &app.api_key).await,
        200,
        "other keys work"
    );

    let (status, _) = revoke(&app, &app.api_key, id).await;
    assert_eq!(status, 204, "a repeat is a no-op");
    let (_, page) = app.get(KEYS).await;
    let listed = &page["content"][0];
    assert_eq!(listed["id"], id);
    assert!(listed["revoked_at"].is_string(), "{listed}");

    // A key may revoke itself; that answer is its last.
    let own = create_key(&app, json!({})).await;
    let (own_id, own_key) = (id_of(&own, "id"), id_of(&own, "api_key"));
    assert_eq!(revoke(&app, own_key, own_id).await.0, 204);
    assert_eq!(status_with(&app, own_key).await, 401);
});

both_backends!(another_merchants_keys_are_not_found, |app| {
    let (their_key, _) = other_merchant(&app).await;
    let (status, theirs) = send(as_key(&app, &their_key, &format!("GET {KEYS}"))).await;
    assert_eq!((status, &theirs["total_elements"]), (200, &json!(1)));
    let their_id = theirs["content"][0]["id"].as_str().unwrap().to_string();
    for id in [their_id.as_str(), UNKNOWN, "not-a-uuid"] {
        let (status, err) = revoke(&app, &app.api_key, id).await;
        assert_error(status, &err, 404, "NOT_FOUND");
    }
    assert_eq!(status_with(&app, &their_key).await, 200);
    let (_, mine) = app.get(KEYS).await;
    let ids: Vec<_> = mine["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["id"])
        .collect();
    assert!(!ids.contains(&&json!(their_id)), "{mine}");
});

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
    let (_, page) = app.get(KEYS).await;
    assert_eq!(page["total_elements"], 1, "nothing was created");
    let (status, err) = send(as_key(&app, "kassa_test_nope", &format!("GET {KEYS}"))).await;
    assert_error(status, &err, 401, "UNAUTHORIZED");
    let longest = create_key(&app, json!({"description": "d".repeat(255)})).await;
    assert_eq!(longest["description"].as_str().unwrap().len(), 255);
});

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
        app.merchant(reqwest::Method::POST, KEYS)
            .header("Idempotency-Key", "key-for-the-till")
            .json(&json!({"description": "till"}))
    };
    let (status, first) = send(post()).await;
    let (again, second) = send(post()).await;
    assert_eq!((status, again), (201, 201), "{first} {second}");
    // Replaying would mean storing the key in the clear; the retry issues another one.
    assert_ne!(first["api_key"], second["api_key"]);
    assert!(first["api_key"]
        .as_str()
        .unwrap()
        .starts_with("kassa_test_"));
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
