//! Every call checked against Stripe's published OpenAPI description (API 2023-08-16):
//! the path and method exist, every form parameter is one the operation accepts (with an
//! allowed enum value and the right nesting), required ones are present; and Stripe's own
//! example objects parse into our types. The description is read from
//! `../shared/stripe/` (or `$KASSA_STRIPE_SPEC_DIR`); without it the tests fail, naming the path:
//! a check that silently passes when its reference is missing proves nothing.

mod support;

use std::path::PathBuf;

use kassa_stripe::{Call, CreateLocation, CreatePaymentIntent};
use serde_json::Value;
use support::{FakeStripe, Recorded, Reply};

fn spec_dir() -> PathBuf {
    let dir = std::env::var_os("KASSA_STRIPE_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/stripe")
        });
    let file = dir.join("openapi-spec3-2023-08-16.json");
    assert!(
        file.exists(),
        "Stripe's OpenAPI description is missing: looked for {} (set KASSA_STRIPE_SPEC_DIR to \
         the folder holding openapi-spec3-2023-08-16.json and fixtures3-2023-08-16.json)",
        file.display()
    );
    dir
}

fn load(dir: &std::path::Path, file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap()
}

#[tokio::test]
async fn every_request_matches_stripes_openapi_description() {
    let dir = spec_dir();
    let spec = load(&dir, "openapi-spec3-2023-08-16.json");
    let fixtures = load(&dir, "fixtures3-2023-08-16.json");
    let fixture = |name: &str| Reply::json(200, fixtures["resources"][name].clone());

    let fake = FakeStripe::start(vec![
        fixture("terminal.connection_token"),
        fixture("payment_intent"),
        fixture("payment_intent"),
        fixture("payment_intent"),
        fixture("payment_intent"),
        fixture("refund"),
        fixture("terminal.location"),
        fixture("terminal.reader"),
        fixture("terminal.reader"),
        fixture("terminal.reader"),
        fixture("terminal.reader"),
    ])
    .await;
    let client = fake.client(|_| {});
    let call = Call::new().account(Some("acct_1".into())).key("k");
    let meta = vec![("kassa_session_id".to_string(), "ses_1".to_string())];

    let token = client
        .create_connection_token(&call, Some("tml_1"))
        .await
        .unwrap();
    assert!(!token.secret.is_empty());
    let params = CreatePaymentIntent {
        amount: 1099,
        currency: "USD".into(),
        metadata: meta.clone(),
        description: Some("d".into()),
    };
    let pi = client.create_payment_intent(&call, &params).await.unwrap();
    assert_eq!(pi.id, fixtures["resources"]["payment_intent"]["id"]);
    client.retrieve_payment_intent(&call, "pi_1").await.unwrap();
    client
        .capture_payment_intent(&call, "pi_1", Some(100))
        .await
        .unwrap();
    client.cancel_payment_intent(&call, "pi_1").await.unwrap();
    let refund = client
        .create_refund(&call, "pi_1", 100, &[("k", "v")])
        .await
        .unwrap();
    assert_eq!(
        refund.charge.as_deref(),
        fixtures["resources"]["refund"]["charge"].as_str()
    );
    let location = CreateLocation {
        display_name: "Shop".into(),
        line1: "Main St 1".into(),
        line2: Some("Floor 2".into()),
        city: Some("Berlin".into()),
        postal_code: Some("10115".into()),
        country: "DE".into(),
        metadata: meta,
    };
    client.create_location(&call, &location).await.unwrap();
    client
        .create_reader(&call, "code", Some("Till"), "tml_1")
        .await
        .unwrap();
    let reader = client.retrieve_reader(&call, "tmr_1").await.unwrap();
    assert_eq!(reader.status.as_deref(), Some("online"));
    client
        .process_payment_intent(&call, "tmr_1", "pi_1")
        .await
        .unwrap();
    client.cancel_reader_action(&call, "tmr_1").await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 11);
    let problems: Vec<String> = requests.iter().flat_map(|r| check(&spec, r)).collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn stripes_example_charge_and_event_parse() {
    let dir = spec_dir();
    let fixtures = load(&dir, "fixtures3-2023-08-16.json");
    let charge: kassa_stripe::Charge =
        serde_json::from_value(fixtures["resources"]["charge"].clone()).unwrap();
    assert!(charge.refunds.is_some());
    let event: kassa_stripe::Event =
        serde_json::from_value(fixtures["resources"]["event"].clone()).unwrap();
    assert_eq!(event.data.object["object"], "plan");
}

/// Every way `request` departs from the description of its operation.
fn check(spec: &Value, request: &Recorded) -> Vec<String> {
    let path = request.path.split('?').next().unwrap();
    let method = request.method.as_str().to_ascii_lowercase();
    let Some(operation) = find_operation(spec, path, &method) else {
        return vec![format!("{method} {path}: no such operation")];
    };
    let schema =
        &operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"];
    let mut problems = Vec::new();
    let form = request.form();
    for required in schema["required"].as_array().into_iter().flatten() {
        let name = required.as_str().unwrap();
        if !form
            .iter()
            .any(|(k, _)| k == name || k.starts_with(&format!("{name}[")))
        {
            problems.push(format!("{method} {path}: required `{name}` missing"));
        }
    }
    // Required fields of a nested object (e.g. `address[country]`) once the object is sent.
    for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
        let prefix = format!("{name}[");
        if !form.iter().any(|(k, _)| k.starts_with(&prefix)) {
            continue;
        }
        for object in variants(spec, resolve(spec, prop)) {
            for sub in object["required"].as_array().into_iter().flatten() {
                let key = format!("{name}[{}]", sub.as_str().unwrap());
                if !form.iter().any(|(k, _)| *k == key) {
                    problems.push(format!("{method} {path}: required `{key}` missing"));
                }
            }
        }
    }
    for (key, value) in &form {
        if let Err(why) = check_param(spec, schema, key, value) {
            problems.push(format!("{method} {path}: `{key}={value}`: {why}"));
        }
    }
    problems
}

fn find_operation<'a>(spec: &'a Value, path: &str, method: &str) -> Option<&'a Value> {
    let segments: Vec<&str> = path.split('/').collect();
    spec["paths"]
        .as_object()?
        .iter()
        .find_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            let fits = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t.starts_with('{') || t == s);
            fits.then(|| item.get(method)).flatten()
        })
}

/// `name`, `name[]` or `name[sub]` against the operation's form schema.
fn check_param(spec: &Value, schema: &Value, key: &str, value: &str) -> Result<(), String> {
    let (name, rest) = key
        .split_once('[')
        .map_or((key, None), |(n, r)| (n, Some(r)));
    let prop = resolve(spec, &schema["properties"][name]);
    if prop.is_null() {
        return Err("not a parameter of this operation".into());
    }
    match rest {
        None => check_scalar(spec, prop, value),
        Some("]") => {
            let list = variants(spec, prop)
                .into_iter()
                .find(|v| v["type"] == "array");
            let list = list.ok_or("not a list")?;
            check_scalar(spec, resolve(spec, &list["items"]), value)
        }
        Some(sub) => {
            let sub = sub.strip_suffix(']').ok_or("unbalanced brackets")?;
            let object = variants(spec, prop)
                .into_iter()
                .find(|v| v["type"] == "object");
            let object = object.ok_or("not an object")?;
            match &object["properties"][sub] {
                Value::Null if object.get("additionalProperties").is_some() => Ok(()),
                Value::Null => Err(format!("`{sub}` is not a field of `{name}`")),
                field => check_scalar(spec, resolve(spec, field), value),
            }
        }
    }
}

fn check_scalar(spec: &Value, prop: &Value, value: &str) -> Result<(), String> {
    for variant in variants(spec, prop) {
        let allowed = match variant["enum"].as_array() {
            Some(values) => values.iter().any(|v| v == value),
            None => match variant["type"].as_str() {
                Some("integer") => value.parse::<i64>().is_ok(),
                Some("boolean") => matches!(value, "true" | "false"),
                Some("string") => true,
                _ => false,
            },
        };
        if allowed {
            return Ok(());
        }
    }
    Err(format!("value not allowed by {prop}"))
}

/// The alternatives of an `anyOf`, or the schema itself.
fn variants<'a>(spec: &'a Value, prop: &'a Value) -> Vec<&'a Value> {
    match prop["anyOf"].as_array() {
        Some(options) => options.iter().map(|o| resolve(spec, o)).collect(),
        None => vec![prop],
    }
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &spec["components"]["schemas"][name]
        }
        None => schema,
    }
}
