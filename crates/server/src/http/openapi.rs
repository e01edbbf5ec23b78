//! Completes the generated OpenAPI document with what every operation shares, so that the
//! schema states every rule the server enforces and a client generated from it validates as
//! much as the server does:
//!
//! * the error answers any operation can give (`400`, `401`/`403` where it is authenticated,
//!   `404` where it names an object, `408`, `413` where it takes a body, `429`, `500`), each
//!   with the contract's error body, unless the operation already documents that status;
//! * the ranges, formats and enums of the query and path parameters shared by many routes
//!   (paging, long-poll waits, event types, statuses), written once here from the same
//!   constants the handlers check.

use kassa_core::event::EventType;
use kassa_core::session::{PaymentOutcome, SessionStatus};
use utoipa::openapi::path::{Operation, Parameter};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder, Schema};

/// The longest long-poll (`wait`, seconds) on sessions and the events feed.
pub const MAX_WAIT_SECS: i64 = 30;

/// Adds the shared answers and parameter rules to every operation of `doc`.
pub fn complete(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let names_an_object = path.contains('{');
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            add_error_answers(op, names_an_object);
            for param in op.parameters.iter_mut().flatten() {
                constrain(param);
            }
        }
    }
}

fn add_error_answers(op: &mut Operation, names_an_object: bool) {
    let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut answers = vec![
        ("400", "Bad input: `BAD_VALUE` names the field"),
        (
            "408",
            "The request's body did not arrive in time (`BAD_VALUE`)",
        ),
        (
            "429",
            "Over the rate limit (`RATE_LIMITED`); see `Retry-After`",
        ),
        ("500", "A fault of the server (`INTERNAL_ERROR`)"),
    ];
    if authenticated {
        answers.push(("401", "Missing or wrong credentials (`UNAUTHORIZED`)"));
        answers.push(("403", "Not allowed for these credentials (`FORBIDDEN`)"));
    }
    if names_an_object {
        answers.push(("404", "No such object for this merchant (`NOT_FOUND`)"));
    }
    if op.request_body.is_some() {
        answers.push(("413", "Body over 1 MiB (`PAYLOAD_TOO_LARGE`)"));
    }
    for (status, description) in answers {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error_answer(description));
    }
}

fn error_answer(description: &str) -> RefOr<utoipa::openapi::Response> {
    let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", body)
            .build(),
    )
}

/// The rules of a shared parameter, by name.
fn constrain(param: &mut Parameter) {
    let schema = match param.name.as_str() {
        "page_size" => integer(1, super::params::MAX_PAGE_SIZE),
        "page_number" => integer(0, super::params::MAX_PAGE_NUMBER),
        "limit" => integer(1, super::events::MAX_LIMIT),
        "wait" => integer(0, MAX_WAIT_SECS),
        "created_after" | "created_before" => date_time(),
        "type" => one_of(EventType::ALL.iter().map(|t| t.as_str())),
        "status" | "if_status" => one_of(SessionStatus::ALL.iter().map(|s| s.as_str())),
        "outcome" => one_of(PaymentOutcome::ALL.iter().map(|o| o.as_str())),
        "event_id" | "after" => event_id(),
        "metadata" => text_pattern("^[^:\\x00]+:[^\\x00]*$"),
        _ => return,
    };
    param.schema = Some(RefOr::T(schema));
}

fn integer(min: i64, max: i64) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min))
        .maximum(Some(max))
        .into()
}

fn date_time() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .into()
}

fn one_of<'a>(values: impl Iterator<Item = &'a str>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.map(str::to_string)))
        .into()
}

/// `kevt_` and 22 base62 characters.
fn event_id() -> Schema {
    text_pattern("^kevt_[0-9A-Za-z]{22}$")
}

fn text_pattern(pattern: &str) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .into()
}
