//! `verify_webhook` against signatures computed by an independent implementation (Python's
//! standard library, following the Standard Webhooks spec), so the two can disagree.

use kassa_client::webhook::{verify_webhook, VerifyError, WebhookHeaders, DEFAULT_TOLERANCE};
use std::process::Command;

const SECRET_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_B: &str = "whsec_3mJHE6sDNtn3ohpJm0Nn4yMytE6F4vPp7bJcR1Rjqj8=";
const ID: &str = "kevt_2kZ9qvVc0mQyP4rXbT7wLd";
const TS: i64 = 1_780_684_419;
const BODY: &str = r#"{"id":"kevt_2kZ9qvVc0mQyP4rXbT7wLd","merchant_id":"01a20bd1-1418-7107-adb0-c8e9d9318480","timestamp":"2026-06-05T18:33:39.608Z","type":"ipp.session.finalized","data":{"session_id":"01a20bd1-1419-710e-a54b-b6895f9d7803","order_id":"01a20bd1-1419-710e-a54b-b68acb9c1986","failure_reason":null,"status":"FINALIZED","previous_status":"ACTIVE","sequence":3,"merchant_reference1":"order-1001"}}"#;

/// `v1,<base64 HMAC-SHA256(base64decode(secret without whsec_), "{id}.{ts}.{body}")>`.
fn python_signature(secret: &str, id: &str, ts: i64, body: &str) -> String {
    let script = r#"
import base64, hashlib, hmac, sys
secret, msg_id, ts, body = sys.argv[1:5]
key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
mac = hmac.new(key, f"{msg_id}.{ts}.{body}".encode(), hashlib.sha256).digest()
print("v1," + base64.b64encode(mac).decode())
"#;
    let out = Command::new("python3")
        .args(["-c", script, secret, id, &ts.to_string(), body])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn headers<'a>(ts: &'a str, signature: &'a str) -> WebhookHeaders<'a> {
    WebhookHeaders {
        id: ID,
        timestamp: ts,
        signature,
    }
}

#[test]
fn a_python_signature_verifies_and_yields_the_event() {
    let sig = python_signature(SECRET_A, ID, TS, BODY);
    let ts = TS.to_string();
    let event = verify_webhook(
        &[SECRET_A],
        headers(&ts, &sig),
        BODY.as_bytes(),
        TS,
        DEFAULT_TOLERANCE,
    )
    .unwrap();
    assert_eq!(event.event_type, "ipp.session.finalized");
    assert_eq!(event.data.sequence, 3);
}

#[test]
fn any_of_several_signatures_and_any_of_several_secrets_suffices() {
    let a = python_signature(SECRET_A, ID, TS, BODY);
    let b = python_signature(SECRET_B, ID, TS, BODY);
    let ts = TS.to_string();
    let both = format!("{b} {a}");
    for secrets in [&[SECRET_A][..], &[SECRET_B], &[SECRET_B, SECRET_A]] {
        assert!(verify_webhook(
            secrets,
            headers(&ts, &both),
            BODY.as_bytes(),
            TS,
            DEFAULT_TOLERANCE
        )
        .is_ok());
    }
    // A receiver that only knows B refuses a delivery signed with A alone.
    assert_eq!(
        verify_webhook(
            &[SECRET_B],
            headers(&ts, &a),
            BODY.as_bytes(),
            TS,
            DEFAULT_TOLERANCE
        )
        .unwrap_err(),
        VerifyError::BadSignature
    );
}

#[test]
fn tampering_and_stale_timestamps_are_refused() {
    let sig = python_signature(SECRET_A, ID, TS, BODY);
    let ts = TS.to_string();
    let tampered = BODY.replace("\"sequence\":3", "\"sequence\":4");
    assert_eq!(
        verify_webhook(
            &[SECRET_A],
            headers(&ts, &sig),
            tampered.as_bytes(),
            TS,
            DEFAULT_TOLERANCE
        )
        .unwrap_err(),
        VerifyError::BadSignature
    );
    // The timestamp is signed: moving it breaks the signature.
    let later = (TS + 60).to_string();
    assert_eq!(
        verify_webhook(
            &[SECRET_A],
            headers(&later, &sig),
            BODY.as_bytes(),
            TS,
            DEFAULT_TOLERANCE
        )
        .unwrap_err(),
        VerifyError::BadSignature
    );
    // A genuine delivery is refused outside the tolerance, either way.
    for now in [TS + 301, TS - 301] {
        assert_eq!(
            verify_webhook(
                &[SECRET_A],
                headers(&ts, &sig),
                BODY.as_bytes(),
                now,
                DEFAULT_TOLERANCE
            )
            .unwrap_err(),
            VerifyError::Expired
        );
    }
    assert!(verify_webhook(
        &[SECRET_A],
        headers(&ts, &sig),
        BODY.as_bytes(),
        TS + 300,
        DEFAULT_TOLERANCE
    )
    .is_ok());
    assert_eq!(
        verify_webhook(
            &[SECRET_A],
            headers("soon", &sig),
            BODY.as_bytes(),
            TS,
            DEFAULT_TOLERANCE
        )
        .unwrap_err(),
        VerifyError::BadTimestamp
    );
    // Unknown versions and garbage are ignored, not accepted.
    let v2 = sig.replacen("v1,", "v2,", 1);
    assert_eq!(
        verify_webhook(
            &[SECRET_A],
            headers(&ts, &v2),
            BODY.as_bytes(),
            TS,
            DEFAULT_TOLERANCE
        )
        .unwrap_err(),
        VerifyError::BadSignature
    );
}

#[test]
fn kassas_own_signing_matches_python() {
    // The server signs with standardwebhooks too; this pins the shared algorithm to the spec.
    let key = standardwebhooks::Webhook::new(SECRET_B).unwrap();
    assert_eq!(
        key.sign(ID, TS, BODY.as_bytes()).unwrap(),
        python_signature(SECRET_B, ID, TS, BODY)
    );
}
