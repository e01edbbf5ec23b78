//! The POS side: `DeviceClient` calls with the device token, and the push stream.

use crate::{both_backends, sqlite};
use futures::StreamExt;
use kassa_client::api::session::{Finalize, PaymentResult};
use kassa_client::{DeviceClient, DeviceStream, Error, ErrorCode, PushFrame, SessionStatus};
use std::collections::HashSet;
use std::time::Duration;
use uuid::Uuid;

fn attempt(outcome: &str) -> Finalize {
    Finalize {
        attempt_id: Uuid::now_v7(),
        payment: PaymentResult {
            processor: "simulated".into(),
            outcome: Some(outcome.into()),
            reference: None,
        },
    }
}

async fn any_frame(stream: &mut DeviceStream) -> kassa_client::Result<PushFrame> {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a frame in time")
        .expect("the stream is open")
}

/// The next frame that is news: a session committed while the stream connects is both
/// replayed and pushed live, and the contract leaves the dedup by id to the device.
async fn next_frame(
    stream: &mut DeviceStream,
    announced: &mut HashSet<Uuid>,
) -> kassa_client::Result<PushFrame> {
    loop {
        let frame = any_frame(stream).await?;
        if let PushFrame::SessionCreated { session_id } = &frame {
            if !announced.insert(*session_id) {
                continue;
            }
        }
        return Ok(frame);
    }
}

sqlite!(a_device_sees_and_pays_its_sessions, |server| {
    let (till, pos) = server.till("Till 2").await;
    assert!(pos.sessions(&[]).await.unwrap().is_empty());
    let session = server.session_on(till.id, 9_000).await;
    let open = pos.sessions(&[]).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        pos.session(session.session_id).await.unwrap().status,
        "CREATED"
    );

    let active = pos
        .choose_payment(session.session_id, "CARD_TAP")
        .await
        .unwrap();
    assert_eq!(
        (active.status.as_str(), active.payment_method.as_deref()),
        ("ACTIVE", Some("CARD_TAP"))
    );

    // A decline keeps the session open; the same attempt id answers the same again.
    let declined = attempt("INSUFFICIENT_FUNDS");
    let first = pos.finalize(session.session_id, &declined).await.unwrap();
    assert_eq!(
        (first.result.as_str(), first.session.status.as_str()),
        ("FAILED", "ACTIVE")
    );
    let again = pos.finalize(session.session_id, &declined).await.unwrap();
    assert_eq!(again, first);
    let paid = pos
        .finalize(session.session_id, &attempt("SUCCESS"))
        .await
        .unwrap();
    assert_eq!(
        (paid.result.as_str(), paid.session.status.as_str()),
        ("SUCCEEDED", "FINALIZED")
    );
    let finished = pos.sessions(&[SessionStatus::Finalized]).await.unwrap();
    assert_eq!(finished.len(), 1);
    let timeline = pos.timeline(session.session_id).await.unwrap();
    assert_eq!(
        timeline
            .events
            .iter()
            .filter(|e| e.kind == "attempt")
            .count(),
        2
    );

    // The simulated processor has no SDK to connect.
    let err = pos.connection_token().await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(409), Some(&ErrorCode::NotAllowed))
    );

    // The clerk cancels the next one.
    let next = server.session_on(till.id, 9_000).await;
    let cancelled = pos.cancel(next.session_id).await.unwrap();
    assert_eq!(cancelled.status, "CANCELLED");

    // Another device sees none of it.
    let (_, other) = server.till("Till 3").await;
    let err = other.session(session.session_id).await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::NotFound));

    // A token the server does not know is refused, over REST and at the stream's handshake.
    let stranger = DeviceClient::new(&server.base, "kdt_nobody").unwrap();
    let err = stranger.sessions(&[]).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some(&ErrorCode::Unauthorized))
    );
    let err = stranger.stream().await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(401), Some(&ErrorCode::Unauthorized))
    );
});

both_backends!(
    the_stream_pushes_sessions_and_ends_when_the_device_goes,
    |server| {
        let (till, pos) = server.till("Till 2").await;
        let mut stream = pos.stream().await.unwrap();
        let mut seen = HashSet::new();
        let session = server.session_on(till.id, 6_000).await;
        assert_eq!(
            next_frame(&mut stream, &mut seen).await.unwrap(),
            PushFrame::SessionCreated {
                session_id: session.session_id
            }
        );
        server
            .client
            .sessions()
            .cancel(session.session_id)
            .await
            .unwrap();
        assert_eq!(
            next_frame(&mut stream, &mut seen).await.unwrap(),
            PushFrame::SessionUpdated {
                session_id: session.session_id,
                status: "CANCELLED".into()
            }
        );

        // A second connection first hears of the sessions still open.
        let open = server.session_on(till.id, 6_000).await;
        assert_eq!(
            next_frame(&mut stream, &mut seen)
                .await
                .unwrap()
                .session_id(),
            Some(open.session_id)
        );
        let mut second = pos.stream().await.unwrap();
        assert_eq!(
            next_frame(&mut second, &mut HashSet::new()).await.unwrap(),
            PushFrame::SessionCreated {
                session_id: open.session_id
            }
        );
        second.close().await.unwrap();

        // Deleting the device closes its stream with its own error, then the stream ends.
        server
            .client
            .sessions()
            .cancel(open.session_id)
            .await
            .unwrap();
        server.client.devices().delete(till.id).await.unwrap();
        loop {
            match next_frame(&mut stream, &mut seen).await {
                Ok(PushFrame::SessionUpdated { .. }) => continue,
                Err(Error::DeviceRemoved) => break,
                other => panic!("{other:?}"),
            }
        }
        assert!(stream.next().await.is_none());
    }
);
