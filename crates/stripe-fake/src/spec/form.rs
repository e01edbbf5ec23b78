//! Validation of form parameters in Stripe's bracket notation against a request schema.
//!
//! The flat pairs are first rebuilt into the tree they encode (`address[line1]=…` is
//! `{address: {line1: …}}`, `payment_method_types[]=…` is a list), then the tree is walked
//! alongside the schema: every key must be described (directly, or through
//! `additionalProperties` as for `metadata[anything]`), every value must parse as its declared
//! type and sit inside its enum, and required parameters must be there.

use super::StripeSpec;
use serde_json::Value;
use std::collections::BTreeMap;

const MAX_DEPTH: usize = 32;

#[derive(Debug)]
enum Node {
    Leaf(String),
    Map(BTreeMap<String, Node>),
    List(BTreeMap<usize, Node>),
}

/// One bracket segment: a name (`[line1]`), or a list position (`[]` appends, `[2]`).
#[derive(Debug)]
enum Seg {
    Name(String),
    Index(Option<usize>),
}

pub(super) fn check(spec: &StripeSpec, schema: &Value, pairs: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut root = Node::Map(BTreeMap::new());
    for (key, value) in pairs {
        match segments(key) {
            Some(segs) => put(&mut root, &segs, value, key, &mut out),
            None => out.push(format!("`{key}` is not well-formed bracket notation")),
        }
    }
    check_node(spec, &root, schema, "", 0, &mut out);
    out
}

fn segments(key: &str) -> Option<Vec<Seg>> {
    let (name, mut rest) = key.split_once('[').map_or((key, ""), |(n, r)| (n, r));
    if name.is_empty() {
        return None;
    }
    let mut segs = vec![Seg::Name(name.to_owned())];
    while !rest.is_empty() {
        let (inner, after) = rest.split_once(']')?;
        segs.push(match inner {
            "" => Seg::Index(None),
            digits if digits.chars().all(|c| c.is_ascii_digit()) => Seg::Index(digits.parse().ok()),
            name => Seg::Name(name.to_owned()),
        });
        rest = match after {
            "" => "",
            more => more.strip_prefix('[')?,
        };
    }
    Some(segs)
}

fn fresh(next: Option<&Seg>, value: &str) -> Node {
    match next {
        None => Node::Leaf(value.to_owned()),
        Some(Seg::Name(_)) => Node::Map(BTreeMap::new()),
        Some(Seg::Index(_)) => Node::List(BTreeMap::new()),
    }
}

fn put(node: &mut Node, segs: &[Seg], value: &str, key: &str, out: &mut Vec<String>) {
    let Some((first, rest)) = segs.split_first() else {
        return;
    };
    let (child, existed) = match (node, first) {
        (Node::Map(map), Seg::Name(name)) => {
            let existed = map.contains_key(name);
            (
                map.entry(name.clone())
                    .or_insert_with(|| fresh(rest.first(), value)),
                existed,
            )
        }
        (Node::List(list), Seg::Index(index)) => {
            let next = list.keys().next_back().map_or(0, |last| last + 1);
            let index = index.unwrap_or(next);
            let existed = list.contains_key(&index);
            (
                list.entry(index)
                    .or_insert_with(|| fresh(rest.first(), value)),
                existed,
            )
        }
        _ => {
            out.push(format!(
                "`{key}` mixes list and object notation for one parameter"
            ));
            return;
        }
    };
    match (rest.is_empty(), existed, &*child) {
        (true, true, _) => out.push(format!("`{key}` is given more than once")),
        (true, false, _) => {}
        (false, _, Node::Leaf(_)) => out.push(format!(
            "`{key}` gives a value and nested keys to one parameter"
        )),
        (false, _, _) => put(child, rest, value, key, out),
    }
}

fn check_node(
    spec: &StripeSpec,
    node: &Node,
    schema: &Value,
    at: &str,
    depth: usize,
    out: &mut Vec<String>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let schema = spec.resolve(schema);
    if let Some(alternatives) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        let fitting: Vec<&Value> = alternatives
            .iter()
            .filter(|a| fits(node, spec.resolve(a)))
            .collect();
        let mut closest: Option<Vec<String>> = None;
        for alternative in &fitting {
            let mut found = Vec::new();
            check_node(spec, node, alternative, at, depth + 1, &mut found);
            if found.is_empty() {
                return;
            }
            if closest.as_ref().is_none_or(|c| found.len() < c.len()) {
                closest = Some(found);
            }
        }
        match closest {
            Some(found) => out.extend(found),
            None => out.push(format!(
                "`{at}` has a shape none of its anyOf alternatives allows"
            )),
        }
        return;
    }
    let expected = schema.get("type").and_then(Value::as_str);
    match node {
        Node::Leaf(value) => check_leaf(value, schema, expected, at, out),
        Node::Map(children) => {
            if expected.is_some_and(|t| t != "object") {
                out.push(format!(
                    "`{at}` takes a single value, not nested keys like `{at}[…]`"
                ));
                return;
            }
            let required = schema.get("required").and_then(Value::as_array);
            for name in required.into_iter().flatten().filter_map(Value::as_str) {
                if !children.contains_key(name) {
                    out.push(format!("required parameter `{}` is missing", key(at, name)));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (name, child) in children {
                let here = key(at, name);
                match (
                    properties.and_then(|p| p.get(name)),
                    schema.get("additionalProperties"),
                ) {
                    (Some(described), _) => {
                        check_node(spec, child, described, &here, depth + 1, out)
                    }
                    (None, Some(extra @ Value::Object(_))) => {
                        check_node(spec, child, extra, &here, depth + 1, out)
                    }
                    (None, Some(Value::Bool(true))) => {}
                    (None, _) => out.push(format!("unknown parameter `{here}`")),
                }
            }
        }
        Node::List(items) => {
            if expected.is_some_and(|t| t != "array") {
                out.push(format!(
                    "`{at}` is sent as a list (`{at}[]`) but is not an array"
                ));
                return;
            }
            for item in items.values() {
                let item_schema = schema.get("items").unwrap_or(&Value::Null);
                check_node(spec, item, item_schema, &format!("{at}[]"), depth + 1, out);
            }
        }
    }
}

fn check_leaf(
    value: &str,
    schema: &Value,
    expected: Option<&str>,
    at: &str,
    out: &mut Vec<String>,
) {
    let parses = match expected {
        Some("integer") => value.parse::<i64>().is_ok(),
        Some("number") => value.parse::<f64>().is_ok(),
        Some("boolean") => value == "true" || value == "false",
        Some("object") | Some("array") => false,
        _ => true,
    };
    if !parses {
        let expected = expected.unwrap_or_default();
        out.push(format!("`{at}` = {value:?} is not {}", article(expected)));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        let as_text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        if !allowed.iter().any(|a| as_text(a) == value) {
            let names: Vec<String> = allowed.iter().map(as_text).collect();
            out.push(format!(
                "`{at}` = {value:?} is not one of: {}",
                names.join(", ")
            ));
        }
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        if value.chars().count() as u64 > max {
            out.push(format!("`{at}` is longer than its maxLength of {max}"));
        }
    }
}

fn article(expected: &str) -> String {
    match expected {
        "integer" | "array" | "object" => format!("an {expected}"),
        other => format!("a {other}"),
    }
}

/// Whether a node has the shape an alternative is about: a single value for scalars, nested
/// keys for objects, a list for arrays.
fn fits(node: &Node, schema: &Value) -> bool {
    match (node, schema.get("type").and_then(Value::as_str)) {
        (_, None) => true,
        (Node::Leaf(_), Some(t)) => !matches!(t, "object" | "array"),
        (Node::Map(_), Some(t)) => t == "object",
        (Node::List(_), Some(t)) => t == "array",
    }
}

fn key(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_owned()
    } else {
        format!("{at}[{name}]")
    }
}
