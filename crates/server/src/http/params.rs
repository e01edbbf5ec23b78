//! Query parameters: parsed by hand from the query string so that a bad value is a
//! `400 BAD_VALUE` naming the parameter, and repeats (`metadata=a:1&metadata=b:2`) are kept.

use super::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kassa_api::page::{PageBody, PageQuery};
use kassa_store::{Page, PageRequest};

pub const MAX_PAGE_NUMBER: i64 = 10_000_000;
pub const MAX_PAGE_SIZE: i64 = 100;

/// A store page on the wire, each item turned by `f`.
pub fn page_body<'a, S, T>(found: &'a Page<S>, f: impl FnMut(&'a S) -> T) -> PageBody<T> {
    let items = found.items.iter().map(f).collect();
    let request = found.request;
    PageBody::new(items, found.total, request.number, request.size)
}

/// An id from the path: one that does not parse names nothing, so it is `404` like any
/// unknown id (`what` names the kind of object).
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(what))
}

pub fn page_request(q: &PageQuery) -> Result<PageRequest, ApiError> {
    let number = q.page_number.unwrap_or(0);
    let size = q.page_size.unwrap_or(20);
    // The bound keeps `number × size` (the row offset) far from overflow.
    if !(0..=MAX_PAGE_NUMBER).contains(&number) {
        return Err(ApiError::field(
            "page_number",
            format!("must be between 0 and {MAX_PAGE_NUMBER}"),
        ));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(ApiError::field(
            "page_size",
            format!("must be between 1 and {MAX_PAGE_SIZE}"),
        ));
    }
    Ok(PageRequest { number, size })
}

/// A request's query parameters, in order, repeats kept (`metadata=a:1&metadata=b:2`).
/// Handlers read them through `Params` so a bad value is a `400 BAD_VALUE` naming it.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn from_uri(uri: &axum::http::Uri) -> Self {
        let raw = uri.query().unwrap_or("");
        Self(
            form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn parse<T: std::str::FromStr>(
        &self,
        name: &str,
        what: &str,
    ) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| ApiError::field(name, format!("must be {what}, got {v:?}")))
            })
            .transpose()
    }

    pub fn page(&self) -> Result<PageRequest, ApiError> {
        page_request(&PageQuery {
            page_number: self.parse("page_number", "a whole number")?,
            page_size: self.parse("page_size", "a whole number")?,
        })
    }

    /// `metadata=key:value`, at most five, ANDed.
    pub fn metadata(&self) -> Result<Vec<(String, String)>, ApiError> {
        let pairs = self.all("metadata");
        if pairs.len() > 5 {
            return Err(ApiError::field("metadata", "at most 5 filters"));
        }
        pairs
            .into_iter()
            .map(|p| {
                p.split_once(':')
                    .filter(|(k, _)| !k.is_empty())
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(|| {
                        ApiError::field("metadata", format!("must be key:value, got {p:?}"))
                    })
            })
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let params = Self::from_uri(&parts.uri);
        match params
            .0
            .iter()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            Some((k, _)) => Err(ApiError::field(k, "must not contain NUL characters")),
            None => Ok(params),
        }
    }
}
