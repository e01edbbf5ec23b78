//! Locations and enrollments (pairing codes).

use super::error::ApiError;
use super::extract::{JsonBody, MerchantAuth, Params};
use super::params::page_body;
use super::params::path_id;
use crate::secrets;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use kassa_api::device::{CreateEnrollment, CreateLocation, Enrollment, Location};
use kassa_api::page::PageBody;
use kassa_api::ErrorBody;
use kassa_core::limits::{self, MAX_TEXT};
use kassa_core::{EnrollmentId, LocationId};
use kassa_store::{EnrollmentFilter, EnrollmentStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_location, list_locations))
        .routes(routes!(get_location, update_location, delete_location))
        .routes(routes!(create_enrollment, list_enrollments))
        .routes(routes!(delete_enrollment))
}

const DEFAULT_CODE_TTL_MS: i64 = 7_200_000;
const CODE_TTL_RANGE_MS: std::ops::RangeInclusive<i64> = 60_000..=604_800_000;

/// Create a location (a store or site).
#[utoipa::path(post, path = "/ipp/v1/locations", tag = "locations", request_body = CreateLocation,
    responses((status = 201, body = Location), (status = 400, body = ErrorBody)), security(("merchant" = [])))]
pub async fn create_location(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    JsonBody(body): JsonBody<CreateLocation>,
) -> Result<(StatusCode, Json<Location>), ApiError> {
    check_location(&body)?;
    let location = stored_location(LocationId::new(), merchant.id, body, state.now());
    state.store.create_location(&location).await?;
    Ok((StatusCode::CREATED, Json(Location::from(&location))))
}

/// Every broken rule of a location body, each naming its field.
fn check_location(body: &CreateLocation) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if body.name.trim().is_empty() {
        errors.push("name: must not be empty".to_string());
    }
    for (field, value) in [
        ("name", Some(&body.name)),
        ("street_address", body.street_address.as_ref()),
        ("street_address2", body.street_address2.as_ref()),
        ("postal_code", body.postal_code.as_ref()),
        ("city", body.city.as_ref()),
    ] {
        if let Err(e) = limits::check_len(field, value.map(String::as_str), MAX_TEXT) {
            errors.push(e.to_string());
        }
    }
    if body
        .country
        .as_ref()
        .is_some_and(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        errors.push("country: must be an ISO 3166-1 alpha-2 code such as SE".into());
    }
    match errors.is_empty() {
        true => Ok(()),
        false => Err(ApiError::BadValue(errors)),
    }
}

/// The record a checked body describes. `created_at` is only kept on insert: an update
/// keeps the stored one and moves `updated_at`.
fn stored_location(
    id: LocationId,
    merchant: kassa_core::MerchantId,
    body: CreateLocation,
    now: kassa_core::Timestamp,
) -> kassa_store::Location {
    kassa_store::Location {
        id,
        merchant_id: merchant,
        name: body.name,
        street_address: body.street_address,
        street_address2: body.street_address2,
        postal_code: body.postal_code,
        city: body.city,
        country: body.country,
        created_at: now,
        updated_at: now,
    }
}

#[utoipa::path(get, path = "/ipp/v1/locations", tag = "locations", params(kassa_api::page::PageQuery),
    responses((status = 200, body = inline(PageBody<Location>))), security(("merchant" = [])))]
pub async fn list_locations(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    params: Params,
) -> Result<Json<PageBody<Location>>, ApiError> {
    let page = params.page()?;
    let found = state.store.list_locations(merchant.id, page).await?;
    Ok(Json(page_body(&found, Location::from)))
}

#[utoipa::path(get, path = "/ipp/v1/locations/{id}", tag = "locations", params(("id" = Uuid, Path)),
    responses((status = 200, body = Location), (status = 404, body = ErrorBody)), security(("merchant" = [])))]
pub async fn get_location(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<Json<Location>, ApiError> {
    let location = state
        .store
        .get_location(merchant.id, path_id::<LocationId>(&id, "location")?)
        .await?
        .ok_or_else(|| ApiError::not_found("location"))?;
    Ok(Json(Location::from(&location)))
}

/// Replace a location's name and address.
///
/// The body is the create body and is checked the same way. This is a replacement, unlike
/// the patching `PUT` of devices and webhook endpoints: an optional field left out is
/// cleared. Devices, sessions and pairing codes at the location are unaffected. A Stripe
/// Terminal location that Kassa created for it keeps the old name and address at Stripe.
#[utoipa::path(put, path = "/ipp/v1/locations/{id}", tag = "locations", params(("id" = Uuid, Path)),
    request_body = CreateLocation,
    responses((status = 200, body = Location), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn update_location(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CreateLocation>,
) -> Result<Json<Location>, ApiError> {
    let id = path_id::<LocationId>(&id, "location")?;
    check_location(&body)?;
    let location = stored_location(id, merchant.id, body, state.now());
    let stored = state
        .store
        .update_location(&location)
        .await
        .map_err(ApiError::missing("location"))?;
    Ok(Json(Location::from(&stored)))
}

/// Delete a location.
///
/// `409 NOT_ALLOWED` while devices are assigned to it or pending (unexpired) pairing codes
/// would place new devices there; the message gives both counts. Move or delete the devices
/// and cancel the codes first: nothing is cancelled or moved on the merchant's behalf.
/// Deleted devices and used or expired codes then show `location_id: null`; sessions keep
/// the id of the location they were taken at. Kassa forgets its Stripe Terminal location
/// mirror; the location object at Stripe is left as it is.
#[utoipa::path(delete, path = "/ipp/v1/locations/{id}", tag = "locations", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn delete_location(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_location(
            merchant.id,
            path_id::<LocationId>(&id, "location")?,
            state.now(),
        )
        .await
        .map_err(ApiError::missing("location"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a one-time pairing code (`ABCDE-FGHJK`) for a POS device.
///
/// The code is shown only in this response: Kassa stores its hash. `expires_in` is in
/// milliseconds (60 s .. 7 days, default 2 h).
#[utoipa::path(post, path = "/ipp/v1/enrollments", tag = "enrollments", request_body = CreateEnrollment,
    responses((status = 201, body = Enrollment), (status = 400, body = ErrorBody)), security(("merchant" = [])))]
pub async fn create_enrollment(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    JsonBody(body): JsonBody<CreateEnrollment>,
) -> Result<(StatusCode, Json<Enrollment>), ApiError> {
    let ttl = body.expires_in.unwrap_or(DEFAULT_CODE_TTL_MS);
    if !CODE_TTL_RANGE_MS.contains(&ttl) {
        return Err(ApiError::field(
            "expires_in",
            "must be between 60000 and 604800000 milliseconds",
        ));
    }
    super::devices::check_metadata(body.metadata.as_ref())?;
    let location = body.location_id.map(LocationId);
    require_location(&state, merchant.id, location).await?;
    let now = state.now();
    let code = secrets::new_enrollment_code();
    let enrollment = kassa_store::Enrollment {
        id: EnrollmentId::new(),
        merchant_id: merchant.id,
        code_hash: secrets::hash(&secrets::normalize_code(&code)),
        status: EnrollmentStatus::Pending,
        metadata: body.metadata.unwrap_or_default(),
        location_id: location,
        expires_at: now + chrono::Duration::milliseconds(ttl),
        created_at: now,
    };
    state.store.create_enrollment(&enrollment).await?;
    Ok((
        StatusCode::CREATED,
        Json(Enrollment::new(&enrollment, now, Some(code))),
    ))
}

/// List pairing codes, newest first. Expired ones show as `EXPIRED`; cancelled ones never show.
#[utoipa::path(get, path = "/ipp/v1/enrollments", tag = "enrollments",
    params(("location_id" = Option<Uuid>, Query), ("metadata" = Option<String>, Query, description = "key:value, up to 5, ANDed"),
        ("include_consumed" = Option<bool>, Query), kassa_api::page::PageQuery),
    responses((status = 200, body = inline(PageBody<Enrollment>))), security(("merchant" = [])))]
pub async fn list_enrollments(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    params: Params,
) -> Result<Json<PageBody<Enrollment>>, ApiError> {
    let filter = EnrollmentFilter {
        location_id: params.parse("location_id", "a UUID")?,
        metadata: params.metadata()?,
        include_consumed: params
            .parse("include_consumed", "true or false")?
            .unwrap_or(false),
    };
    let page = params.page()?;
    let now = state.now();
    let found = state
        .store
        .list_enrollments(merchant.id, &filter, page, now)
        .await?;
    Ok(Json(page_body(&found, |e| Enrollment::new(e, now, None))))
}

/// Cancel a pairing code (soft delete: status `CANCELLED`).
#[utoipa::path(delete, path = "/ipp/v1/enrollments/{id}", tag = "enrollments", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("merchant" = [])))]
pub async fn delete_enrollment(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: EnrollmentId = path_id(&id, "enrollment")?;
    if state.store.cancel_enrollment(merchant.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("enrollment"))
    }
}

/// Checks that `location` (when given) is one of the merchant's; else `400` naming `location_id`.
pub async fn require_location(
    state: &AppState,
    merchant: kassa_core::MerchantId,
    location: Option<LocationId>,
) -> Result<(), ApiError> {
    let Some(l) = location else { return Ok(()) };
    state
        .store
        .get_location(merchant, l)
        .await?
        .map(|_| ())
        .ok_or_else(|| ApiError::field("location_id", format!("no location {l}")))
}
