//! Validation of a JSON value (an answer, an event) against a schema of the description:
//! types, enums, required and undescribed fields, nullability, `$ref`, `anyOf`/`oneOf`, `allOf`.
//!
//! Only the parts of OpenAPI 3.0 Stripe's description uses for the objects checked here; no
//! formats, lengths or patterns, which Stripe's answers are not promised to honour anyway.

use super::StripeSpec;
use serde_json::Value;

/// Deep enough for every object Kassa meets; a bound because Stripe's schemas are recursive
/// (a charge names its payment_intent, which may be expanded to a charge, …).
const MAX_DEPTH: usize = 48;

pub(super) fn check(
    spec: &StripeSpec,
    value: &Value,
    schema: &Value,
    at: &str,
    depth: usize,
    out: &mut Vec<String>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let schema = spec.resolve(schema);
    let here = if at.is_empty() { "the body" } else { at };
    if value.is_null() {
        if !nullable(spec, schema) {
            out.push(format!(
                "`{here}` is null, which the description does not allow"
            ));
        }
        return;
    }
    if let Some(alternatives) = alternatives(schema) {
        let fitting: Vec<&Value> = alternatives
            .iter()
            .filter(|a| fits(spec, value, spec.resolve(a)))
            .collect();
        if fitting.is_empty() {
            out.push(format!(
                "`{here}` is {}, which none of its anyOf alternatives allows",
                kind(value)
            ));
            return;
        }
        // Report the alternative that came closest: its complaints are the useful ones.
        let mut closest: Option<Vec<String>> = None;
        for alternative in fitting {
            let mut found = Vec::new();
            check(spec, value, alternative, at, depth + 1, &mut found);
            if found.is_empty() {
                return;
            }
            if closest.as_ref().is_none_or(|c| found.len() < c.len()) {
                closest = Some(found);
            }
        }
        out.extend(closest.unwrap_or_default());
        return;
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check(spec, value, part, at, depth + 1, out);
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        if !type_is(value, expected) {
            out.push(format!(
                "`{here}` is {}, the description says {expected}",
                kind(value)
            ));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            out.push(format!(
                "`{here}` = {value} is not one of {}",
                list(allowed)
            ));
        }
    }
    match value {
        Value::Object(fields) => {
            let required = schema.get("required").and_then(Value::as_array);
            for name in required.into_iter().flatten().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    out.push(format!("`{}` is required but missing", join(at, name)));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (name, field) in fields {
                let at = join(at, name);
                match (
                    properties.and_then(|p| p.get(name)),
                    schema.get("additionalProperties"),
                ) {
                    (Some(described), _) => check(spec, field, described, &at, depth + 1, out),
                    (None, Some(extra @ Value::Object(_))) => {
                        check(spec, field, extra, &at, depth + 1, out)
                    }
                    (None, Some(Value::Bool(true))) => {}
                    (None, _) if properties.is_some() => {
                        out.push(format!("`{at}` is not a field the description has"));
                    }
                    (None, _) => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check(spec, v, item, &format!("{here}[{i}]"), depth + 1, out);
                }
            }
        }
        _ => {}
    }
}

/// `anyOf` (expandable fields, unions) or `oneOf`, checked alike: the value must match one.
fn alternatives(schema: &Value) -> Option<&Vec<Value>> {
    schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
}

/// Stripe marks nullability on the field (often on the `anyOf` wrapper itself).
fn nullable(spec: &StripeSpec, schema: &Value) -> bool {
    schema.get("nullable") == Some(&Value::Bool(true))
        || alternatives(schema)
            .is_some_and(|alts| alts.iter().any(|a| nullable(spec, spec.resolve(a))))
}

/// Whether `value` has the JSON type an alternative is about, so that an object is judged
/// against the object alternative of `anyOf [string id, object]`, not the id.
fn fits(spec: &StripeSpec, value: &Value, schema: &Value) -> bool {
    match (
        schema.get("type").and_then(Value::as_str),
        alternatives(schema),
    ) {
        (Some(t), _) => type_is(value, t),
        (None, Some(alts)) => alts.iter().any(|a| fits(spec, value, spec.resolve(a))),
        (None, None) => true,
    }
}

fn type_is(value: &Value, expected: &str) -> bool {
    match expected {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        _ => true,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn join(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_owned()
    } else {
        format!("{at}.{name}")
    }
}

fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
