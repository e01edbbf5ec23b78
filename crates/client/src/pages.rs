//! [`List`]: a listing with its filters set, read one page at a time or as a `Stream` of
//! items that follows the pages.

use crate::error::Result;
use crate::transport::Transport;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use kassa_api::PageBody;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;

/// One page of a listing: Kustom's envelope (`content`, `total_elements`, `page_number`, …).
pub type Page<T> = PageBody<T>;

/// The most items the server returns in one page.
pub const MAX_PAGE_SIZE: u32 = 100;

/// A listing (newest first unless the route says otherwise), not yet fetched.
///
/// ```no_run
/// use futures::TryStreamExt;
/// # async fn run(client: kassa_client::Client) -> kassa_client::Result<()> {
/// // Every location, 100 per request.
/// let all: Vec<_> = client.locations().list().page_size(100).stream().try_collect().await?;
///
/// // Or just the first page.
/// let first = client.locations().list().page(0).await?;
/// println!("{} of {}", first.content.len(), first.total_elements);
/// # Ok(()) }
/// ```
#[must_use = "a listing does nothing until a page or the stream is read"]
pub struct List<T> {
    transport: Arc<Transport>,
    path: String,
    query: Vec<(&'static str, String)>,
    page_size: Option<u32>,
    _item: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned + Send + 'static> List<T> {
    pub(crate) fn new(
        transport: &Arc<Transport>,
        path: String,
        query: Vec<(&'static str, String)>,
    ) -> Self {
        Self {
            transport: transport.clone(),
            path,
            query,
            page_size: None,
            _item: PhantomData,
        }
    }

    /// Items per page, 1 to [`MAX_PAGE_SIZE`] (the server's default is 20). Bigger pages
    /// mean fewer requests when streaming everything.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size.clamp(1, MAX_PAGE_SIZE));
        self
    }

    /// Page `number` (0-based).
    pub async fn page(&self, number: u32) -> Result<Page<T>> {
        let mut query = self.query.clone();
        query.push(("page_number", number.to_string()));
        if let Some(size) = self.page_size {
            query.push(("page_size", size.to_string()));
        }
        self.transport.get(&self.path, &query).await
    }

    /// Every item, page after page, until the last page. Pages are read as the stream is
    /// polled. The pages are offsets into a list ordered newest first, so an object created
    /// while the stream runs shifts the later pages by one: an item may then show twice.
    /// An error ends the stream after it is yielded.
    pub fn stream(self) -> BoxStream<'static, Result<T>> {
        let pages = stream::try_unfold((self, Some(0u32)), |(list, next)| async move {
            let Some(number) = next else {
                return Ok::<_, crate::Error>(None);
            };
            let page = list.page(number).await?;
            let done = page.last || page.content.is_empty();
            let next = (!done).then_some(number + 1);
            Ok(Some((page.content, (list, next))))
        });
        pages
            .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

/// `metadata=key:value` filters, at most five (ANDed); the server refuses more.
pub(crate) fn metadata_query(
    query: &mut Vec<(&'static str, String)>,
    metadata: &[(String, String)],
) {
    for (key, value) in metadata {
        query.push(("metadata", format!("{key}:{value}")));
    }
}
