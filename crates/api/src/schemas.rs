//! Schemas for fields whose rules a derive cannot state: metadata maps, closed lists of
//! names and codes. Used with `#[schema(schema_with = …)]`, from the same constants and
//! lists the server checks, so the OpenAPI document states what the server enforces. The
//! optional ones (`metadata`, `event_types`) also admit `null`, as their fields do.

use kassa_core::event::EventType;
use kassa_core::limits::{MAX_METADATA_KEY, MAX_METADATA_KEYS, MAX_METADATA_VALUE};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;

/// Up to 50 keys of 1 to 40 characters, string values up to 500.
pub fn metadata() -> Schema {
    let key = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_METADATA_KEY));
    let value = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(MAX_METADATA_VALUE));
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .property_names(Some(key))
        .additional_properties(Some(value))
        .max_properties(Some(MAX_METADATA_KEYS))
        .into()
}

/// An event type filter: at least one of the event types.
pub fn event_types() -> Schema {
    let names = EventType::ALL.iter().map(|t| t.as_str());
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(RefOr::T(one_of(names)))
        .min_items(Some(1))
        .into()
}

/// The device platforms a POS registers as.
pub fn platform() -> Schema {
    one_of(
        kassa_core::session::Platform::ALL
            .iter()
            .map(|p| p.as_str()),
    )
}

/// The processors a reader can be registered with.
pub fn reader_processor() -> Schema {
    one_of(["stripe"].into_iter())
}

pub fn one_of<'a>(values: impl Iterator<Item = &'a str>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.map(str::to_string)))
        .into()
}
