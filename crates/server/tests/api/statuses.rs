//! The exact success status of every route the typed tests call, on the wire: the typed
//! client takes any 2xx, so `201` for a create, `204` for a delete and `200` for the rest are
//! checked here, each answer decoded as its wire type. The bodies leave optional fields
//! out, where the typed client sends `null`: an absent field means its default.

use crate::bad_input::{send_json, split, NONE};
use crate::both_backends;
use crate::harness::*;
use kassa_client::api::device::{Device, Enrollment, Location};
use kassa_client::api::keys::ApiKey;
use kassa_client::api::order::Order;
use kassa_client::api::session::{FinalizeResponse, Session, Timeline};
use kassa_client::api::webhook::WebhookEndpoint;
use kassa_client::Page;
use reqwest::RequestBuilder;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// `spec` (`"POST /path"`) with the merchant's key.
fn merchant(app: &TestApp, spec: &str) -> RequestBuilder {
    let (method, path) = split(spec);
    app.merchant(method, path)
}

/// `spec` with the app's device token.
fn till(app: &TestApp, spec: &str) -> RequestBuilder {
    let (method, path) = split(spec);
    app.device(method, path, &app.device_token)
}

/// `request` with `body` (none when `null`) answers `want`; its body as wire type `T`.
async fn answer<T: DeserializeOwned>(request: RequestBuilder, body: Value, want: u16) -> T {
    let (status, got) = send_json(request, body).await;
    assert_eq!(status, want, "{got}");
    serde_json::from_value(got.clone()).unwrap_or_else(|e| panic!("{e}: {got}"))
}

/// `request` answers `204` with an empty body.
async fn no_content(request: RequestBuilder) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!((status, body.as_str()), (204, ""));
}

both_backends!(places_and_devices_answer_201_200_and_204, |app| {
    let shop = json!({"name": "Shop", "city": "Malmö"});
    let l: Location = answer(merchant(&app, "POST /ipp/v1/locations"), shop, 201).await;
    let one = format!("/ipp/v1/locations/{}", l.id);
    let _: Location = answer(merchant(&app, &format!("GET {one}")), NONE, 200).await;
    let put = merchant(&app, &format!("PUT {one}"));
    let put: Location = answer(put, json!({"name": "Shop 2"}), 200).await;
    assert_eq!(put.city, None, "a field left out is cleared");
    let _: Page<Location> = answer(merchant(&app, "GET /ipp/v1/locations"), NONE, 200).await;

    let enroll = || merchant(&app, "POST /ipp/v1/enrollments");
    let code: Enrollment = answer(enroll(), json!({}), 201).await;
    let register = app.http.post(app.url("/ipp/v1/devices"));
    let body = json!({"enrollment_code": code.enrollment_code, "platform": "WEB"});
    let device: Device = answer(register, body, 201).await;
    assert!(device.credentials.is_some());
    let spare: Enrollment = answer(enroll(), json!({}), 201).await;
    let spare = format!("DELETE /ipp/v1/enrollments/{}", spare.enrollment_id);
    no_content(merchant(&app, &spare)).await;
    let list = merchant(&app, "GET /ipp/v1/enrollments");
    let _: Page<Enrollment> = answer(list, NONE, 200).await;

    let simulated = merchant(&app, "POST /ipp/v1/dev/devices");
    let sim: Device = answer(simulated, json!({"name": "Till 2"}), 201).await;
    let one_device = format!("/ipp/v1/devices/{}", sim.id);
    let put = merchant(&app, &format!("PUT {one_device}"));
    let _: Device = answer(put, json!({"name": "Till 3"}), 200).await;
    let get = merchant(&app, &format!("GET {one_device}"));
    let _: Device = answer(get, NONE, 200).await;
    let _: Page<Device> = answer(merchant(&app, "GET /ipp/v1/devices"), NONE, 200).await;
    no_content(merchant(&app, &format!("DELETE {one_device}"))).await;
    no_content(merchant(&app, &format!("DELETE {one}"))).await;
});

both_backends!(sessions_and_orders_answer_200_and_201, |app| {
    let create = || merchant(&app, "POST /ipp/v1/sessions");
    let s: Session = answer(create(), cart(&app.device_id, 12_500), 200).await;
    let one = format!("/ipp/v1/sessions/{}", s.session_id);
    let _: Session = answer(merchant(&app, &format!("GET {one}")), NONE, 200).await;
    let _: Page<Session> = answer(merchant(&app, "GET /ipp/v1/sessions"), NONE, 200).await;
    let events = merchant(&app, &format!("GET {one}/events"));
    let _: Timeline = answer(events, NONE, 200).await;
    let open = till(&app, "GET /ipp/v1/device/sessions");
    let _: Page<Session> = answer(open, NONE, 200).await;
    let pay = till(&app, &format!("PUT {one}/payment"));
    let _: Session = answer(pay, json!({"payment_method": "CARD_TAP"}), 200).await;
    let decline = json!({"attempt_id": uuid::Uuid::new_v4(),
        "payment": {"processor": "simulated", "outcome": "INSUFFICIENT_FUNDS"}});
    let finalize = till(&app, &format!("POST {one}/finalize"));
    let _: FinalizeResponse = answer(finalize, decline, 200).await;
    let tap = |id| {
        merchant(
            &app,
            &format!("POST /ipp/v1/dev/sessions/{id}/simulate-tap"),
        )
    };
    let paid: FinalizeResponse = answer(tap(s.session_id), NONE, 200).await;
    let order = format!(
        "/ordermanagement/v1/orders/{}",
        paid.session.order_id.unwrap()
    );
    let _: Order = answer(merchant(&app, &format!("GET {order}")), NONE, 200).await;
    let refund = merchant(&app, &format!("POST {order}/refunds"));
    let _: Order = answer(refund, json!({"refunded_amount": 100}), 201).await;

    // Cancels: the merchant's (twice: a repeat is a no-op) and the clerk's.
    for by_clerk in [false, true] {
        let s: Session = answer(create(), cart(&app.device_id, 100), 200).await;
        let cancel = format!("PUT /ipp/v1/sessions/{}/cancel", s.session_id);
        if by_clerk {
            let _: Session = answer(till(&app, &cancel), NONE, 200).await;
        } else {
            let _: Session = answer(merchant(&app, &cancel), NONE, 200).await;
            let _: Session = answer(merchant(&app, &cancel), NONE, 200).await;
        }
    }
    // Orders left authorized: one captured, one cancelled.
    for capture in [true, false] {
        let mut body = cart(&app.device_id, 1_000);
        body["auto_capture"] = json!(false);
        let s: Session = answer(create(), body, 200).await;
        let paid: FinalizeResponse = answer(tap(s.session_id), NONE, 200).await;
        let order = format!(
            "/ordermanagement/v1/orders/{}",
            paid.session.order_id.unwrap()
        );
        if capture {
            let captures = merchant(&app, &format!("POST {order}/captures"));
            let _: Order = answer(captures, json!({"captured_amount": 1_000}), 201).await;
        } else {
            no_content(merchant(&app, &format!("POST {order}/cancel"))).await;
        }
    }
});

both_backends!(keys_and_endpoints_answer_201_200_and_204, |app| {
    let create = merchant(&app, "POST /ipp/v1/api-keys");
    let key: ApiKey = answer(create, json!({}), 201).await;
    assert_eq!(key.description, None);
    let _: Page<ApiKey> = answer(merchant(&app, "GET /ipp/v1/api-keys"), NONE, 200).await;
    let revoke = format!("DELETE /ipp/v1/api-keys/{}", key.id);
    no_content(merchant(&app, &revoke)).await;
    no_content(merchant(&app, &revoke)).await;
    let endpoint = json!({"url": "http://127.0.0.1:1/hook"});
    let create = merchant(&app, "POST /ipp/v1/webhook-endpoints");
    let _: WebhookEndpoint = answer(create, endpoint, 201).await;
});
