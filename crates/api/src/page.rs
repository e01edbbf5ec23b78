//! Kustom's page envelope.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PageBody<T> {
    pub content: Vec<T>,
    pub total_elements: i64,
    pub total_pages: i64,
    pub page_number: i64,
    pub page_size: i64,
    pub first: bool,
    pub last: bool,
}

impl<T> PageBody<T> {
    pub fn new(content: Vec<T>, total: i64, page_number: i64, page_size: i64) -> Self {
        let total_pages = (total + page_size - 1) / page_size.max(1);
        Self {
            content,
            total_elements: total,
            total_pages,
            page_number,
            page_size,
            first: page_number == 0,
            last: page_number + 1 >= total_pages,
        }
    }
}

/// `page_number` (0-based) and `page_size` (1..100, default 20).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub page_number: Option<i64>,
    pub page_size: Option<i64>,
}
