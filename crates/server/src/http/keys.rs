//! API keys: a merchant lists, creates and revokes its own keys, so the portal (and any
//! backend) can rotate them without the operator's `kassa admin key …`. A key is shown once,
//! in the create answer; Kassa keeps its hash.

use super::error::ApiError;
use super::extract::{JsonBody, MerchantAuth, Params};
use super::idempotency::ShownOnce;
use super::params::page_body;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use kassa_api::keys::{ApiKey, CreateApiKey};
use kassa_api::page::PageBody;
use kassa_api::ErrorBody;
use kassa_core::ApiKeyId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
}

const MAX_DESCRIPTION_CHARS: usize = kassa_core::cart::MAX_TEXT;

/// List the merchant's API keys, newest first, revoked ones included.
///
/// Each shows its prefix and last four characters, never the key or its hash.
#[utoipa::path(get, path = "/ipp/v1/api-keys", tag = "keys", params(kassa_api::page::PageQuery),
    responses((status = 200, body = inline(PageBody<ApiKey>)), (status = 400, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    params: Params,
) -> Result<Json<PageBody<ApiKey>>, ApiError> {
    let page = params.page()?;
    let found = state.store.page_api_keys(merchant.id, page).await?;
    Ok(Json(page_body(&found, |k| ApiKey::new(k, None))))
}

/// Create an API key of the merchant's mode.
///
/// The key (`api_key`, `kassa_test_…` or `kassa_live_…`) is in this response only: Kassa
/// stores its hash. It works at once, beside the merchant's other keys. This answer is not
/// kept for `Idempotency-Key` replays (that would store the key): a retry issues another key,
/// and an unused one can be revoked.
#[utoipa::path(post, path = "/ipp/v1/api-keys", tag = "keys", request_body = CreateApiKey,
    responses((status = 201, body = ApiKey), (status = 400, body = ErrorBody)),
    security(("merchant" = [])))]
pub async fn create_api_key(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    JsonBody(body): JsonBody<CreateApiKey>,
) -> Result<(StatusCode, Extension<ShownOnce>, Json<ApiKey>), ApiError> {
    let description = description(body.description)?;
    let store = state.store.as_ref();
    let (record, key) = crate::seed::issue_key(store, &merchant, description, state.now()).await?;
    let key = Json(ApiKey::new(&record, Some(key)));
    Ok((StatusCode::CREATED, Extension(ShownOnce), key))
}

/// Revoke an API key.
///
/// From this answer on the key is refused with `401` on every server node. Revoking a
/// revoked key changes nothing and is `204` too. A key may revoke itself; the merchant's
/// other keys keep working.
#[utoipa::path(delete, path = "/ipp/v1/api-keys/{id}", tag = "keys", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("merchant" = [])))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    MerchantAuth(merchant): MerchantAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: ApiKeyId = super::params::path_id(&id, "API key")?;
    match state
        .store
        .revoke_merchant_api_key(merchant.id, id, state.now())
        .await?
    {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::not_found("API key")),
    }
}

/// At most 255 characters; blank means none.
fn description(d: Option<String>) -> Result<Option<String>, ApiError> {
    match d {
        Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => Err(ApiError::field(
            "description",
            format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
        )),
        Some(d) if d.trim().is_empty() => Ok(None),
        d => Ok(d),
    }
}
