//! Inbound verification: a call that fails it gets 401 and nothing is stored. Every comparison
//! of a signature or token is constant-time.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::{Verify, VerifyKind};

/// Why a call was refused (the text is safe to send back: it never holds a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("bad {0}")]
    Bad(&'static str),
    #[error("webhook-timestamp is too far from now (a replayed or delayed call)")]
    Stale,
}

fn header<'a>(h: &'a HeaderMap, name: &'static str) -> Result<&'a str, Rejected> {
    h.get(name).ok_or(Rejected::Missing(name))?.to_str().map_err(|_| Rejected::Bad(name))
}

/// Check `body` and `headers` against the webhook's scheme. `now` is in seconds.
pub fn verify(
    v: &Verify,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    tolerance: std::time::Duration,
) -> Result<(), Rejected> {
    let secret = v.secret.expose().as_bytes();
    match v.kind {
        VerifyKind::HubSignature => {
            let value = header(headers, "x-hub-signature-256")?;
            let sig = value.strip_prefix("sha256=").ok_or(Rejected::Bad("x-hub-signature-256"))?;
            let sig = B64.decode(sig.trim()).map_err(|_| Rejected::Bad("x-hub-signature-256"))?;
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
            mac.update(body);
            mac.verify_slice(&sig).map_err(|_| Rejected::Bad("x-hub-signature-256"))
        }
        VerifyKind::StandardWebhooks => {
            let id = header(headers, "webhook-id")?;
            let ts = header(headers, "webhook-timestamp")?;
            let sigs = header(headers, "webhook-signature")?;
            let t: i64 = ts.trim().parse().map_err(|_| Rejected::Bad("webhook-timestamp"))?;
            if (now - t).unsigned_abs() > tolerance.as_secs() {
                return Err(Rejected::Stale);
            }
            let mac = crate::retry::sender::standard_webhooks_mac(secret, id, ts.trim(), body);
            let ok = sigs
                .split(' ')
                .filter_map(|s| s.strip_prefix("v1,"))
                .filter_map(|b| B64.decode(b).ok())
                .any(|sig| mac.clone().verify_slice(&sig).is_ok());
            if ok { Ok(()) } else { Err(Rejected::Bad("webhook-signature")) }
        }
        VerifyKind::Bearer => {
            let value = header(headers, "authorization")?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or(Rejected::Bad("authorization"))?;
            if bool::from(token.as_bytes().ct_eq(secret)) {
                Ok(())
            } else {
                Err(Rejected::Bad("authorization"))
            }
        }
    }
}

/// `sha256=` + base64 HMAC-SHA256 of `body` (what Genesys Open Messaging sends).
pub fn hub_signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", B64.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use std::time::Duration;

    const TOL: Duration = Duration::from_secs(300);

    fn v(kind: VerifyKind, secret: &str) -> Verify {
        Verify { kind, secret: Secret::new(secret) }
    }

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, val) in pairs {
            m.insert(*k, val.parse().unwrap());
        }
        m
    }

    #[test]
    fn hub_signature_good_bad_missing() {
        let ver = v(VerifyKind::HubSignature, "s3cret");
        let body = br#"{"id":"m1"}"#;
        let good = hub_signature(b"s3cret", body);
        assert_eq!(verify(&ver, &h(&[("x-hub-signature-256", &good)]), body, 0, TOL), Ok(()));
        let other = hub_signature(b"other", body);
        assert!(verify(&ver, &h(&[("x-hub-signature-256", &other)]), body, 0, TOL).is_err());
        assert!(verify(&ver, &h(&[("x-hub-signature-256", &good)]), b"tampered", 0, TOL).is_err());
        assert_eq!(verify(&ver, &h(&[]), body, 0, TOL), Err(Rejected::Missing("x-hub-signature-256")));
        assert!(verify(&ver, &h(&[("x-hub-signature-256", "md5=abc")]), body, 0, TOL).is_err());
    }

    #[test]
    fn standard_webhooks_good_bad_missing_and_replayed() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let ver = v(VerifyKind::StandardWebhooks, secret);
        let body = br#"{"test": 2432232314}"#;
        let ts = 1614265330;
        let sig = crate::retry::sender::sign(secret.as_bytes(), "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", "the specification's example");
        let headers = |sig: &str, ts: i64| {
            h(&[
                ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
                ("webhook-timestamp", &ts.to_string()),
                ("webhook-signature", sig),
            ])
        };
        assert_eq!(verify(&ver, &headers(&sig, ts), body, ts + 10, TOL), Ok(()));
        // Several signatures (a secret being rotated): any one may match.
        assert_eq!(verify(&ver, &headers(&format!("v1,AAAA {sig}"), ts), body, ts, TOL), Ok(()));
        assert_eq!(
            verify(&ver, &headers(&sig, ts), body, ts + 3600, TOL),
            Err(Rejected::Stale),
            "replayed an hour later"
        );
        assert_eq!(
            verify(&ver, &headers(&sig, ts), body, ts - 3600, TOL),
            Err(Rejected::Stale),
            "from the future"
        );
        assert_eq!(
            verify(&ver, &headers(&sig, ts + 1), body, ts, TOL),
            Err(Rejected::Bad("webhook-signature"))
        );
        assert_eq!(verify(&ver, &headers(&sig, ts), b"{}", ts, TOL), Err(Rejected::Bad("webhook-signature")));
        assert_eq!(
            verify(&ver, &h(&[("webhook-id", "x")]), body, ts, TOL),
            Err(Rejected::Missing("webhook-timestamp"))
        );
    }

    #[test]
    fn bearer_token() {
        let ver = v(VerifyKind::Bearer, "tok-123");
        assert_eq!(verify(&ver, &h(&[("authorization", "Bearer tok-123")]), b"", 0, TOL), Ok(()));
        assert!(verify(&ver, &h(&[("authorization", "Bearer tok-124")]), b"", 0, TOL).is_err());
        assert!(verify(&ver, &h(&[("authorization", "Bearer tok-1234")]), b"", 0, TOL).is_err());
        assert!(verify(&ver, &h(&[("authorization", "Basic dG9rLTEyMw==")]), b"", 0, TOL).is_err());
        assert_eq!(verify(&ver, &h(&[]), b"", 0, TOL), Err(Rejected::Missing("authorization")));
        let e = verify(&ver, &h(&[("authorization", "Bearer wrong")]), b"", 0, TOL).unwrap_err();
        assert!(!e.to_string().contains("tok-123"), "no secret in the message");
    }
}
