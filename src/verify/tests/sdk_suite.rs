//! Disagreements found by running the providers' own SDKs against a running
//! gateway (review of issue 12): each test holds the request the SDK accepts.

use super::*;
use hmac::{Hmac, Mac};

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

/// Orb signs with every active secret while one rotates and sends the
/// signatures space-separated in one `X-Orb-Signature` header; orb-billing's
/// `verify_signature` accepts a match in any position (orb-billing 4.90.0).
#[test]
fn orb_accepts_space_separated_signatures_during_rotation() {
    let v = verifier("scheme = \"orb\"\nsecrets = [\"orb-secret\"]");
    let (ts, body) = ("2023-11-14T22:13:20.000000", br#"{"id":"evt_1"}"#.as_slice());
    let good = format!(
        "v1={}",
        hex::encode(mac::<Hmac<sha2::Sha256>>(b"orb-secret", &[b"v1:", ts.as_bytes(), b":", body]))
    );
    let other = format!("v1={}", "0".repeat(64));
    for header in [format!("{good} {other}"), format!("{other} {good}"), good.clone()] {
        let hdrs = h(&[("x-orb-timestamp", ts), ("x-orb-signature", &header)]);
        assert!(
            check(&v, "POST", "/", &hdrs, body, at(1_700_000_000)).is_ok(),
            "{header}"
        );
    }
    let hdrs = h(&[("x-orb-timestamp", ts), ("x-orb-signature", &other)]);
    assert_eq!(
        check(&v, "POST", "/", &hdrs, body, at(1_700_000_000)),
        Err(Reason::SignatureInvalid)
    );
}
