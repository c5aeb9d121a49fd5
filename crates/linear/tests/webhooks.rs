//! Webhook verification against Linear's signed example deliveries, and trigger classification.

use std::path::PathBuf;

use cutover_linear::webhook::{
    DeliveryHeaders, Identity, Trigger, WebhookError, WebhookSecret, check_organization, classify, sign, verify,
};

const SECRET: &str = "lin_wh_EXAMPLE_secret_not_real_0123456789";
const APP_USER: &str = "7b3f0c1e-2d4a-4b5c-9d6e-8f7a6b5c4d3e";
/// `organizationId` of every example.
const ORGANIZATION: &str = "5d0e6f3a-1b2c-4d3e-8f4a-9b0c1d2e3f4a";

struct Example {
    body: Vec<u8>,
    headers: serde_json::Value,
    timestamp: u64,
}

fn example(name: &str) -> Example {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/linear-examples");
    let body = std::fs::read(dir.join(format!("{name}.json"))).expect("example body");
    let headers: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.headers.json"))).expect("headers"))
            .expect("headers json");
    let payload: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let timestamp = payload["webhookTimestamp"].as_u64().expect("timestamp");
    Example { body, headers, timestamp }
}

impl Example {
    fn headers(&self) -> DeliveryHeaders<'_> {
        DeliveryHeaders {
            signature: self.headers["Linear-Signature"].as_str(),
            delivery: self.headers["Linear-Delivery"].as_str(),
            event: self.headers["Linear-Event"].as_str(),
        }
    }
}

fn me() -> Identity {
    Identity {
        organization_id: Some(ORGANIZATION.into()),
        app_user_id: Some(APP_USER.into()),
        mention_handles: vec!["https://linear.app/acme/profiles/migra".into(), "@migra".into()],
    }
}

const NAMES: [&str; 5] = [
    "agent-session-event.created",
    "agent-session-event.prompted",
    "comment.create",
    "issue.create",
    "issue.update.delegated",
];

#[test]
fn every_signed_example_is_accepted() {
    for name in NAMES {
        let ex = example(name);
        let delivery = verify(&WebhookSecret::new(SECRET), ex.headers(), &ex.body, ex.timestamp + 5_000)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(delivery.id, ex.headers["Linear-Delivery"].as_str().unwrap());
        assert_eq!(delivery.event, ex.headers["Linear-Event"].as_str().unwrap());
        assert_eq!(delivery.timestamp_ms, ex.timestamp);
        // Our signer agrees with the examples byte for byte.
        assert_eq!(sign(&WebhookSecret::new(SECRET), &ex.body), ex.headers["Linear-Signature"].as_str().unwrap());
    }
}

#[test]
fn one_changed_byte_is_rejected() {
    for name in NAMES {
        let ex = example(name);
        for at in [0, ex.body.len() / 2, ex.body.len() - 2] {
            let mut body = ex.body.clone();
            body[at] ^= 0x01;
            let err = verify(&WebhookSecret::new(SECRET), ex.headers(), &body, ex.timestamp).unwrap_err();
            assert_eq!(err, WebhookError::BadSignature, "{name} byte {at}");
        }
    }
}

#[test]
fn wrong_secret_and_bad_signatures_are_rejected() {
    let ex = example("agent-session-event.created");
    let wrong = verify(&WebhookSecret::new("lin_wh_other"), ex.headers(), &ex.body, ex.timestamp);
    assert_eq!(wrong.unwrap_err(), WebhookError::BadSignature);
    for signature in ["", "zz", "00", &"a".repeat(64)] {
        let headers = DeliveryHeaders { signature: Some(signature), ..ex.headers() };
        assert_eq!(
            verify(&WebhookSecret::new(SECRET), headers, &ex.body, ex.timestamp).unwrap_err(),
            WebhookError::BadSignature
        );
    }
    let missing = DeliveryHeaders { signature: None, ..ex.headers() };
    let err = verify(&WebhookSecret::new(SECRET), missing, &ex.body, ex.timestamp).unwrap_err();
    assert_eq!(err, WebhookError::MissingHeader("Linear-Signature"));
    assert_eq!(err.status(), 400);
}

#[test]
fn stale_and_future_timestamps_are_rejected() {
    let ex = example("issue.update.delegated");
    let secret = WebhookSecret::new(SECRET);
    assert!(verify(&secret, ex.headers(), &ex.body, ex.timestamp + 60_000).is_ok());
    let late = verify(&secret, ex.headers(), &ex.body, ex.timestamp + 60_001).unwrap_err();
    assert_eq!(late, WebhookError::Stale { skew_ms: 60_001 });
    assert_eq!(late.status(), 401);
    let early = verify(&secret, ex.headers(), &ex.body, ex.timestamp - 61_000).unwrap_err();
    assert_eq!(early, WebhookError::Stale { skew_ms: 61_000 });
}

#[test]
fn oversized_and_malformed_bodies_are_rejected() {
    let secret = WebhookSecret::new(SECRET);
    let big = vec![b' '; cutover_linear::webhook::MAX_BODY_BYTES + 1];
    let sig = sign(&secret, &big);
    let headers = DeliveryHeaders { signature: Some(&sig), delivery: Some("d1"), event: Some("Issue") };
    assert_eq!(verify(&secret, headers, &big, 0).unwrap_err(), WebhookError::TooLarge);

    let body = br#"{"type":"Issue","action":"update"}"#;
    let sig = sign(&secret, body);
    let headers = DeliveryHeaders { signature: Some(&sig), delivery: Some("d1"), event: Some("Issue") };
    assert_eq!(
        verify(&secret, headers, body, 0).unwrap_err(),
        WebhookError::Malformed("webhookTimestamp is missing or not a number".into())
    );
    let body = b"{not json";
    let sig = sign(&secret, body);
    let headers = DeliveryHeaders { signature: Some(&sig), delivery: Some("d1"), event: Some("Issue") };
    assert!(matches!(verify(&secret, headers, body, 0).unwrap_err(), WebhookError::Malformed(_)));
    let headers = DeliveryHeaders { signature: Some(&sig), delivery: None, event: Some("Issue") };
    assert_eq!(verify(&secret, headers, body, 0).unwrap_err(), WebhookError::MissingHeader("Linear-Delivery"));
}

fn classified(name: &str, me: &Identity) -> Trigger {
    let ex = example(name);
    let delivery = verify(&WebhookSecret::new(SECRET), ex.headers(), &ex.body, ex.timestamp).expect("valid");
    classify(&delivery, me)
}

#[test]
fn examples_classify_into_triggers() {
    assert_eq!(
        classified("agent-session-event.created", &me()),
        Trigger::SessionCreated {
            session_id: "8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a".into(),
            issue_id: "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e".into(),
            identifier: "ENG-123".into(),
            app_user_id: APP_USER.into(),
        }
    );
    assert_eq!(
        classified("agent-session-event.prompted", &me()),
        Trigger::SessionPrompted {
            session_id: "8d7c6b5a-4f3e-4d2c-9b1a-0f9e8d7c6b5a".into(),
            issue_id: "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e".into(),
            identifier: "ENG-123".into(),
            body: "Also add a rollback step that drops the column if the backfill fails.".into(),
            stop: false,
        }
    );
    assert_eq!(
        classified("issue.update.delegated", &me()),
        Trigger::IssueDelegated {
            issue_id: "b7c8d9e0-f1a2-4b3c-8d4e-5f6a7b8c9d0e".into(),
            identifier: "ENG-123".into()
        }
    );
    assert!(matches!(
        classified("comment.create", &me()),
        Trigger::CommentMention { ref identifier, ref comment_id, .. }
            if identifier == "ENG-123" && comment_id == "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
    ));
    assert_eq!(classified("issue.create", &me()), Trigger::Ignored("issue event other than update".into()));
}

#[test]
fn own_writes_and_unrelated_updates_are_ignored() {
    // A delegation to someone else is not ours.
    let other = Identity { app_user_id: Some("someone-else".into()), mention_handles: vec![], ..me() };
    assert_eq!(
        classified("issue.update.delegated", &other),
        Trigger::Ignored("issue update that does not hand the issue to Cutover".into())
    );
    assert_eq!(classified("comment.create", &other), Trigger::Ignored("comment does not mention Cutover".into()));
    // A comment written by Cutover itself never triggers it, even if it mentions itself.
    let as_author = Identity { app_user_id: Some("4e86b2c7-0a24-412d-bf38-156e073ab384".into()), ..me() };
    assert_eq!(classified("comment.create", &as_author), Trigger::Ignored("own write".into()));
}

#[test]
fn deliveries_for_another_organization_are_refused() {
    let secret = WebhookSecret::new(SECRET);
    for name in NAMES {
        let ex = example(name);
        let delivery = verify(&secret, ex.headers(), &ex.body, ex.timestamp).expect("valid");
        assert_eq!(delivery.organization_id.as_deref(), Some(ORGANIZATION), "{name}");
        assert_eq!(check_organization(&delivery, Some(ORGANIZATION)), Ok(()), "{name}");
        // Another workspace that installed the same app: same secret, valid signature.
        let err = check_organization(&delivery, Some("another-org")).unwrap_err();
        assert_eq!(err, WebhookError::ForeignOrganization { got: Some(ORGANIZATION.into()) });
        assert_eq!(err.status(), 403);
        assert!(check_organization(&delivery, None).is_err(), "{name}: nothing is accepted before the org is known");
    }
    let body = br#"{"webhookTimestamp": 0, "action": "create", "type": "Issue"}"#;
    let signature = sign(&secret, body);
    let headers = DeliveryHeaders { signature: Some(&signature), delivery: Some("d"), event: Some("Issue") };
    let delivery = verify(&secret, headers, body, 0).expect("signed");
    assert_eq!(
        check_organization(&delivery, Some(ORGANIZATION)),
        Err(WebhookError::ForeignOrganization { got: None }),
        "a payload without organizationId is not ours"
    );
}

#[test]
fn the_digest_names_the_signed_body_not_the_delivery() {
    let secret = WebhookSecret::new(SECRET);
    let ex = example("issue.update.delegated");
    let original = verify(&secret, ex.headers(), &ex.body, ex.timestamp).unwrap();
    let replayed = DeliveryHeaders { delivery: Some("a-new-delivery-id"), ..ex.headers() };
    let replay = verify(&secret, replayed, &ex.body, ex.timestamp).unwrap();
    assert_ne!(replay.id, original.id);
    assert_eq!(replay.digest, original.digest);
    assert_eq!(original.digest.len(), 64, "hex SHA-256: {}", original.digest);
    let other = example("comment.create");
    assert_ne!(verify(&secret, other.headers(), &other.body, other.timestamp).unwrap().digest, original.digest);
}
