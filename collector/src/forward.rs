//! Forwarding to webhooks (a CRM, a chat channel, an automation tool). The
//! store queues a delivery in the same transaction as the change it reports;
//! this worker posts due deliveries, signs each body with HMAC-SHA256 over
//! `timestamp.body`, and retries with the same backoff policy the widget uses
//! until the attempts run out, when the delivery moves to the dead-letter list.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use leadscore::core::delivery::{parse_retry_after, Outcome, RetryPolicy};
use leadscore::core::Timestamp;
use serde_json::json;
use sha2::Sha256;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::settings::{Forwarding, Webhook};
use crate::store::{blocking, Change, Delivery, LeadRow, Store};
use crate::Clock;

/// The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
pub const SIGNATURE_HEADER: &str = "leadscore-signature";
/// The event name header.
pub const EVENT_HEADER: &str = "leadscore-event";
/// The delivery id header: the same on every retry of one delivery, so a
/// receiver can drop repeats.
pub const DELIVERY_HEADER: &str = "leadscore-delivery";
/// Deliveries posted at once.
const BATCH: u32 = 32;

/// The JSON a webhook receives about `row`, with the funnel `change` for
/// `lead.lifecycle` events.
pub fn event_body(event: &str, row: &LeadRow, change: Option<&Change>, at: Timestamp) -> String {
    let lead = row.lead();
    let body = json!({
        "event": event,
        "occurred_at": at,
        "lead": {
            "lead_id": row.lead_id,
            "site": row.site,
            "visitor_id": row.visitor_id,
            "stage": row.stage,
            "funnel": row.funnel,
            "funnel_reason": row.funnel_reason,
            "claimed_score": row.claimed_score,
            "verified_score": row.verified_score,
            "verified_stage": row.verified_stage,
            "verdict": row.verdict,
            "grade": row.grade,
            "email": row.email,
            "identity": lead.as_ref().map(|lead| &lead.identity),
            "source": row.source,
            "touch": lead.as_ref().map(|lead| &lead.touch),
            "ledger": lead.as_ref().map(|lead| &lead.ledger),
            "page": row.page,
            "created_at": row.created_at,
            "received_at": row.received_at,
        },
        "change": change,
    });
    body.to_string()
}

/// The `Leadscore-Signature` value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    format!("t={timestamp},v1={}", crate::hex(&mac(secret, timestamp, body).finalize().into_bytes()))
}

fn mac(secret: &str, timestamp: i64, body: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac
}

/// Checks a `Leadscore-Signature` header the way a receiver should: the HMAC
/// in constant time, and the timestamp within `tolerance` seconds of `now`
/// (Unix seconds) so a captured request cannot be replayed later.
pub fn verify(secret: &str, header: &str, body: &str, now: i64, tolerance: i64) -> Result<(), String> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or("signature header has no t=<timestamp>")?;
    if (now - timestamp).abs() > tolerance {
        return Err(format!("signature timestamp {timestamp} is more than {tolerance} s from now"));
    }
    let valid = signatures.iter().any(|signature| {
        unhex(signature).is_some_and(|bytes| mac(secret, timestamp, body).verify_slice(&bytes).is_ok())
    });
    if valid {
        Ok(())
    } else {
        Err("no v1 signature matches the body".into())
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Posts queued deliveries until shutdown.
pub struct Forwarder {
    /// Where deliveries wait.
    pub store: Arc<dyn Store>,
    /// Targets by name.
    pub webhooks: Vec<Webhook>,
    /// Retry timing.
    pub timing: Forwarding,
    /// The collector's clock.
    pub clock: Clock,
    /// Woken when a delivery is queued.
    pub wake: Arc<Notify>,
}

impl Forwarder {
    /// How long a claimed batch stays this collector's: three request
    /// timeouts (a batch's attempts run at once, each bounded by one), at
    /// least a second. A collector that dies holding a batch frees it then.
    pub fn lease(&self) -> Duration {
        (self.timing.timeout * 3).max(Duration::from_secs(1))
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let client = match reqwest::Client::builder().timeout(self.timing.timeout).build() {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(%err, "webhook client could not start; forwarding is off");
                return;
            }
        };
        let policy = RetryPolicy {
            base_ms: self.timing.base_delay.as_millis() as u64,
            cap_ms: self.timing.max_delay.as_millis() as u64,
            max_attempts: self.timing.max_attempts,
            max_age_ms: u64::MAX,
        };
        while !*shutdown.borrow() {
            let now = self.clock.now();
            // Long enough for every attempt of the batch to finish; a
            // collector that dies holding it frees the batch when it ends.
            let lease_until = now.plus_millis(self.lease().as_millis() as u64);
            let claimed = blocking(self.store.clone(), move |store| store.claim_deliveries(now, BATCH, lease_until));
            let due = match claimed.await {
                Ok(due) => due,
                Err(err) => {
                    tracing::error!(%err, "cannot read the forwarding outbox");
                    Vec::new()
                }
            };
            let full = due.len() as u32 == BATCH;
            let mut attempts = JoinSet::new();
            for delivery in due {
                let Some(hook) = self.webhooks.iter().find(|hook| hook.name == delivery.webhook).cloned() else {
                    let reason = format!("webhook `{}` is no longer configured", delivery.webhook);
                    let id = delivery.id;
                    let _ = blocking(self.store.clone(), move |store| store.delivery_failed(id, &reason, None)).await;
                    continue;
                };
                let (client, store, clock) = (client.clone(), self.store.clone(), self.clock.clone());
                attempts.spawn(attempt(client, store, clock, policy, hook, delivery));
            }
            while attempts.join_next().await.is_some() {}
            if full {
                continue;
            }
            let next = blocking(self.store.clone(), |store| store.next_delivery_at()).await.ok().flatten();
            let wait = next.map_or(60_000, |at| at.millis_since(self.clock.now()).min(60_000));
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

async fn attempt(
    client: reqwest::Client,
    store: Arc<dyn Store>,
    clock: Clock,
    policy: RetryPolicy,
    hook: Webhook,
    delivery: Delivery,
) {
    let now = clock.now();
    let signature = sign(&hook.secret, (now.as_millis() / 1000) as i64, &delivery.body);
    let sent = client
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("user-agent", concat!("leadscore-collector/", env!("CARGO_PKG_VERSION")))
        .header(SIGNATURE_HEADER, signature)
        .header(EVENT_HEADER, &delivery.event)
        .header(DELIVERY_HEADER, delivery.id.to_string())
        .body(delivery.body.clone())
        .send()
        .await;
    let (status, retry_after, error) = match &sent {
        Ok(response) => {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, now));
            (Some(response.status().as_u16()), retry_after, format!("HTTP {}", response.status()))
        }
        Err(err) => (None, None, err.to_string()),
    };
    let attempts = delivery.attempts + 1;
    let (id, webhook, event) = (delivery.id, hook.name.clone(), delivery.event.clone());
    let result = match Outcome::of(status) {
        Outcome::Delivered => {
            tracing::info!(id, %webhook, %event, attempts, "webhook delivered");
            blocking(store, move |store| store.delivery_succeeded(id)).await
        }
        outcome => {
            let jitter = random_unit();
            let retry_at = (outcome == Outcome::Retry)
                .then(|| policy.next_attempt(delivery.created_at, now, attempts, jitter, retry_after))
                .flatten();
            match retry_at {
                Some(at) => {
                    tracing::warn!(id, %webhook, %event, attempts, %error, retry_in_ms = at.millis_since(now), "webhook failed")
                }
                None => {
                    tracing::error!(id, %webhook, %event, attempts, %error, "webhook delivery moved to dead letters")
                }
            }
            blocking(store, move |store| store.delivery_failed(id, &error, retry_at)).await
        }
    };
    if let Err(err) = result {
        tracing::error!(id, %err, "cannot record a webhook attempt");
    }
}

/// A random number in `[0, 1)` for retry jitter.
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_units_are_in_range() {
        for _ in 0..100 {
            let unit = random_unit();
            assert!((0.0..1.0).contains(&unit), "{unit}");
        }
    }

    #[test]
    fn a_signature_verifies_and_a_changed_body_does_not() {
        let header = sign("0123456789abcdef", 1_767_225_600, r#"{"event":"lead.created"}"#);
        assert!(header.starts_with("t=1767225600,v1="));
        assert_eq!(header.len(), "t=1767225600,v1=".len() + 64);
        assert_eq!(verify("0123456789abcdef", &header, r#"{"event":"lead.created"}"#, 1_767_225_700, 300), Ok(()));
        let cases = [
            ("0123456789abcdef", r#"{"event":"lead.changed"}"#, 1_767_225_700, "no v1 signature matches"),
            ("another-secret-value", r#"{"event":"lead.created"}"#, 1_767_225_700, "no v1 signature matches"),
            ("0123456789abcdef", r#"{"event":"lead.created"}"#, 1_767_226_000, "more than 300 s from now"),
        ];
        for (secret, body, now, expected) in cases {
            let error = verify(secret, &header, body, now, 300).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
        assert!(verify("k", "v1=00", "", 0, 300).unwrap_err().contains("no t="));
    }

    #[test]
    fn hex_decoding_refuses_odd_or_foreign_digits() {
        assert_eq!(unhex("00ff"), Some(vec![0, 255]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
    }
}
