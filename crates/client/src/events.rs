//! The merchant's event feed (`GET /ipp/v1/events`): the same events webhooks carry, oldest
//! first after a cursor, with a long-poll; and redelivery of one event to the endpoints.

use crate::call::{self, Call};
use crate::error::{Error, ErrorCode, Result};
use crate::sessions::MAX_WAIT;
use crate::transport::{push_opt, segment, wait_secs, Transport};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use kassa_api::event::{Event, EventList};
use kassa_api::webhook::Redelivery;
use reqwest::Method;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The event feed. From [`Client::events`](crate::Client::events).
#[derive(Debug, Clone)]
pub struct Events {
    transport: Arc<Transport>,
}

/// Which events to read. The default is every retained event from the oldest, no waiting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// One type, e.g. `ipp.session.finalized`.
    pub event_type: Option<String>,
    pub session_id: Option<Uuid>,
    /// Only events after this one (an event id, `kevt_…`): the cursor.
    pub after: Option<String>,
    /// Events per answer, 1 to 1000 (server default 100).
    pub limit: Option<u32>,
    /// With nothing after the cursor, hold the request until an event arrives or this much
    /// time passed (at most 30 s; longer is cut to it).
    pub wait: Option<Duration>,
}

impl Events {
    pub(crate) fn new(transport: &Arc<Transport>) -> Self {
        Self {
            transport: transport.clone(),
        }
    }

    /// One read of the feed. A cursor the server does not know (older than its retention,
    /// 30 days by default) fails with [`Error::CursorExpired`].
    pub async fn list(&self, query: &EventQuery) -> Result<EventList> {
        let mut params = Vec::new();
        push_opt(&mut params, "type", query.event_type.as_ref());
        push_opt(&mut params, "session_id", query.session_id);
        push_opt(&mut params, "after", query.after.as_ref());
        push_opt(&mut params, "limit", query.limit);
        let wait = query.wait.map(|w| wait_secs(w, MAX_WAIT.as_secs()));
        push_opt(&mut params, "wait", wait);
        let answer = match wait {
            Some(secs) if secs > 0 => {
                let wait = Duration::from_secs(secs);
                self.transport
                    .long_poll("/ipp/v1/events", &params, wait)
                    .await
            }
            _ => self.transport.get("/ipp/v1/events", &params).await,
        };
        match (answer, &query.after) {
            (Err(Error::Api(e)), Some(cursor))
                if e.code == ErrorCode::BadValue && e.mentions("after") =>
            {
                Err(Error::CursorExpired {
                    cursor: cursor.clone(),
                    error: e,
                })
            }
            (answer, _) => answer,
        }
    }

    /// Every event matching `query` from its cursor on, without end: each read long-polls
    /// (30 s unless `query.wait` says otherwise) and the next starts from the last event
    /// seen. Each event's `id` is the cursor after it: store the last one handled, and
    /// resume with it as `after` after a restart or an error (an error ends the stream).
    /// A cursor past the server's retention ends it with [`Error::CursorExpired`].
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use kassa_client::EventQuery;
    /// # async fn run(client: kassa_client::Client, saved: Option<String>) -> kassa_client::Result<()> {
    /// let mut events = client.events().stream(EventQuery { after: saved, ..Default::default() });
    /// while let Some(event) = events.try_next().await? {
    ///     println!("{} {}", event.event_type, event.data.session_id);
    ///     // save event.id as the cursor to resume from
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(&self, mut query: EventQuery) -> BoxStream<'static, Result<Event>> {
        query.wait = Some(query.wait.unwrap_or(MAX_WAIT));
        let events = Self::new(&self.transport);
        let batches = stream::try_unfold((events, query), |(events, mut query)| async move {
            let list = events.list(&query).await?;
            if let Some(cursor) = list.next_cursor {
                query.after = Some(cursor);
            }
            Ok::<_, Error>(Some((list.events, (events, query))))
        });
        batches
            .map_ok(|batch| stream::iter(batch.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// Sends the event again: a fresh attempt series to every enabled endpoint that wants its
    /// type (`202`, with how many endpoints).
    pub fn redeliver(&self, event_id: &str) -> Call<Redelivery> {
        call::json(
            &self.transport,
            Method::POST,
            format!("/ipp/v1/events/{}/redeliver", segment(event_id)),
        )
    }
}
