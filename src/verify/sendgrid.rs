//! Twilio SendGrid event webhook: ECDSA P-256 / SHA-256 over `{timestamp}{body}`,
//! signature base64 DER, public key base64 DER SubjectPublicKeyInfo. The
//! body's trailing CRLFs are part of what is signed.

use super::{Algorithm, Encoding, KeyFormat, Part, Scheme, SigLocation, TsFormat, TsLocation};
use http::HeaderName;

/// The SendGrid scheme.
pub fn scheme() -> Scheme {
    Scheme {
        name: "sendgrid",
        algorithm: Algorithm::EcdsaP256,
        encoding: Encoding::Base64,
        signature: SigLocation::Header {
            name: HeaderName::from_static("x-twilio-email-event-webhook-signature"),
            prefix: "",
        },
        timestamp: TsLocation::Header(HeaderName::from_static(
            "x-twilio-email-event-webhook-timestamp",
        )),
        ts_format: TsFormat::UnixSeconds,
        content: vec![Part::Timestamp, Part::Body],
        key_format: KeyFormat::EcdsaP256,
        replay_header: None,
    }
}
