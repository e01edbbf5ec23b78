//! Checks requests, answers and webhook events against Stripe's own OpenAPI description
//! (`openapi-spec3-2023-08-16.json`), read at run time from outside the repository.
//!
//! It owns finding and loading the description, matching a concrete path to its template
//! (`/v1/payment_intents/pi_1/capture` → `/v1/payment_intents/{intent}/capture`), and the
//! entry points; the form-parameter rules live in `form.rs`, the JSON rules in `json.rs`.
//!
//! One convention of Stripe's description is relied on throughout: an object schema that
//! lists `properties` and says nothing about `additionalProperties` is closed. Stripe's
//! schemas never set `additionalProperties` on resources and Stripe refuses unknown request
//! parameters, so an undescribed field or parameter is reported, not waved through.

mod form;
mod json;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

static NULL: Value = Value::Null;

/// The description's file name; the API version is the one the fake speaks.
pub const SPEC_FILE: &str = "openapi-spec3-2023-08-16.json";

/// Stripe's OpenAPI description, loaded.
pub struct StripeSpec {
    doc: Value,
    /// Path templates split at `/`, for matching concrete paths.
    templates: Vec<(Vec<String>, String)>,
}

impl StripeSpec {
    /// Finds `openapi-spec3-2023-08-16.json`: in `$KASSA_STRIPE_SPEC_DIR` if set, else in
    /// `<repo root>/../shared/stripe/` (the root found by walking up from this crate to the
    /// `Cargo.toml` that declares the workspace). The error names the path looked at.
    pub fn load() -> Result<StripeSpec, String> {
        let dir = match std::env::var_os("KASSA_STRIPE_SPEC_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => default_dir()?,
        };
        Self::load_from_dir(&dir)
    }

    /// Loads the description from `dir`.
    pub fn load_from_dir(dir: &Path) -> Result<StripeSpec, String> {
        let path = dir.join(SPEC_FILE);
        let missing = |why: String| {
            format!(
                "STRIPE OPENAPI DESCRIPTION NOT AVAILABLE at {}: {why}. The Stripe spec checks \
                 compare the fake Stripe and Kassa's Stripe client with Stripe's published API \
                 and cannot run without it. Put Stripe's {SPEC_FILE} (from github.com/stripe/openapi, \
                 API version 2023-08-16) there, or set KASSA_STRIPE_SPEC_DIR to the directory \
                 that holds it.",
                path.display()
            )
        };
        let text = std::fs::read_to_string(&path).map_err(|e| missing(e.to_string()))?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| missing(format!("not JSON: {e}")))?;
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            return Err(missing("no `paths` in the document".into()));
        };
        let templates = paths
            .keys()
            .map(|t| (t.split('/').map(str::to_owned).collect(), t.clone()))
            .collect();
        Ok(StripeSpec { doc, templates })
    }

    /// Every way the request breaks the description for this method and concrete path:
    /// unknown path or method, parameters not in the form schema (nested bracket keys
    /// included), values outside an enum, values that are not the declared type, missing
    /// required parameters. A GET's `form` is its query string.
    pub fn check_request(
        &self,
        method: &str,
        path: &str,
        form: &[(String, String)],
    ) -> Vec<String> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        pairs.extend_from_slice(form);
        let op = match self.operation(method, path) {
            Ok(op) => op,
            Err(e) => return vec![e],
        };
        let schema = if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("DELETE")
        {
            query_schema(op)
        } else {
            op.pointer("/requestBody/content/application~1x-www-form-urlencoded/schema")
                .cloned()
                .unwrap_or_else(|| json!({ "type": "object", "properties": {} }))
        };
        form::check(self, &schema, &pairs)
            .into_iter()
            .map(|v| format!("{} {path}: {v}", method.to_ascii_uppercase()))
            .collect()
    }

    /// Every way an answer breaks the described response: a 2xx against its status's
    /// schema, anything else against the `error` schema (`default`). Checks required fields,
    /// JSON types, enums, nullability and undescribed fields, through `$ref`, `anyOf`
    /// (expandable fields: an id or the object) and `allOf`.
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Vec<String> {
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let where_ = format!("{} {path} → {status}", method.to_ascii_uppercase());
        let op = match self.operation(method, path) {
            Ok(op) => op,
            Err(e) => return vec![e],
        };
        let responses = &op["responses"];
        let described = responses.get(status.to_string()).or_else(|| {
            // A 2xx must be described as such; only errors fall back to `default`.
            (!(200..300).contains(&status))
                .then(|| responses.get("default"))
                .flatten()
        });
        let Some(schema) = described.and_then(|r| r.pointer("/content/application~1json/schema"))
        else {
            return vec![format!("{where_}: this status is not described")];
        };
        self.check_json(body, schema, &where_)
    }

    /// Checks a webhook event: the envelope against `event`, its `type` against the event
    /// types Stripe lists, and `data.object` against the schema of the resource named by
    /// `data.object.object` (`payment_intent`, `charge`, `terminal.reader`, …), which must
    /// also be the resource the type is about.
    pub fn check_event(&self, event: &Value) -> Vec<String> {
        let kind = event["type"].as_str().unwrap_or_default();
        let where_ = format!("event {kind}");
        let mut out = self.check_json(
            event,
            &json!({ "$ref": "#/components/schemas/event" }),
            &where_,
        );
        let known = self.doc.pointer(
            "/paths/~1v1~1webhook_endpoints/post/requestBody/content/application~1x-www-form-urlencoded/schema/properties/enabled_events/items/enum",
        );
        if let Some(known) = known.and_then(Value::as_array) {
            if !known.iter().any(|k| k == kind) {
                out.push(format!(
                    "{where_}: `{kind}` is not an event type Stripe sends"
                ));
            }
        }
        let Some(object) = event.pointer("/data/object/object").and_then(Value::as_str) else {
            out.push(format!(
                "{where_}: data.object has no `object` naming its resource"
            ));
            return out;
        };
        if !kind.starts_with(&format!("{object}.")) {
            out.push(format!(
                "{where_}: carries a `{object}`, not the resource its type is about"
            ));
        }
        let schema = json!({ "$ref": format!("#/components/schemas/{object}") });
        if self.resolve(&schema).is_null() {
            out.push(format!("{where_}: no schema describes a `{object}`"));
            return out;
        }
        out.extend(self.check_json(
            &event["data"]["object"],
            &schema,
            &format!("{where_} data.object"),
        ));
        out
    }

    fn check_json(&self, value: &Value, schema: &Value, where_: &str) -> Vec<String> {
        let mut out = Vec::new();
        json::check(self, value, schema, "", 0, &mut out);
        out.into_iter().map(|v| format!("{where_}: {v}")).collect()
    }

    /// The operation for `method` on the template matching `path`, preferring the template
    /// with the most literal segments (`/v1/payment_intents/search` over `/{intent}`).
    fn operation(&self, method: &str, path: &str) -> Result<&Value, String> {
        let segments: Vec<&str> = path.split('/').collect();
        let template = self
            .templates
            .iter()
            .filter(|(t, _)| {
                t.len() == segments.len()
                    && t.iter()
                        .zip(&segments)
                        .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
            })
            .max_by_key(|(t, _)| t.iter().filter(|s| !s.starts_with('{')).count())
            .map(|(_, template)| template)
            .ok_or_else(|| format!("{method} {path}: no path in Stripe's description matches"))?;
        self.doc["paths"][template]
            .get(method.to_ascii_lowercase())
            .ok_or_else(|| format!("{method} {path}: {template} has no {method} operation"))
    }

    /// Follows `$ref`s (`#/components/schemas/…`) to the schema itself; `Null` if dangling.
    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..16 {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(r) => schema = self.doc.pointer(r.trim_start_matches('#')).unwrap_or(&NULL),
                None => return schema,
            }
        }
        &NULL
    }
}

/// A GET's query parameters as one object schema, so they are checked like a form body.
fn query_schema(op: &Value) -> Value {
    let params = op["parameters"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let query = params.iter().filter(|p| p["in"] == "query");
    let properties: serde_json::Map<String, Value> = query
        .clone()
        .filter_map(|p| Some((p["name"].as_str()?.to_owned(), p["schema"].clone())))
        .collect();
    let required: Vec<&Value> = query
        .filter(|p| p["required"] == true)
        .map(|p| &p["name"])
        .collect();
    json!({ "type": "object", "properties": properties, "required": required })
}

/// `<workspace root>/../shared/stripe`, the workspace root being the nearest ancestor of
/// this crate whose `Cargo.toml` declares `[workspace]`.
fn default_dir() -> Result<PathBuf, String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .map(|root| root.parent().unwrap_or(root).join("shared").join("stripe"))
        .ok_or_else(|| {
            format!(
                "STRIPE OPENAPI DESCRIPTION NOT AVAILABLE: no workspace root above {} to find \
                 ../shared/stripe/{SPEC_FILE} from; set KASSA_STRIPE_SPEC_DIR to its directory.",
                manifest.display()
            )
        })
}
