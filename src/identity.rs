//! Client-certificate identity and the per-route policy over it.

use crate::reject::{Reason, Rejection};
use sha2::{Digest, Sha256};

/// What a verified client certificate says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// SAN DNS names.
    pub san_dns: Vec<String>,
    /// SAN URIs (SPIFFE IDs).
    pub san_uri: Vec<String>,
    /// Subject common name.
    pub cn: Option<String>,
    /// Lower-case hex SHA-256 of the leaf certificate's DER.
    pub sha256: String,
}

impl ClientIdentity {
    /// Parse a DER certificate; `None` if it cannot be parsed.
    pub fn from_der(der: &[u8]) -> Option<ClientIdentity> {
        use x509_parser::extensions::GeneralName;
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let mut san_dns = Vec::new();
        let mut san_uri = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                match n {
                    GeneralName::DNSName(d) => san_dns.push(d.to_ascii_lowercase()),
                    GeneralName::URI(u) => san_uri.push(u.to_string()),
                    _ => {}
                }
            }
        }
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|c| c.as_str().ok())
            .map(str::to_string);
        Some(ClientIdentity {
            san_dns,
            san_uri,
            cn,
            sha256: hex::encode(Sha256::digest(der)),
        })
    }
}

/// Validated route policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertPolicy {
    required: bool,
    san_dns: Vec<String>,
    san_uri: Vec<String>,
    cn: Vec<String>,
    sha256: Vec<String>,
    /// Header for the identity upstream.
    pub forward_header: Option<http::HeaderName>,
}

/// Which certificates a route accepts: any entry of any list may match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityRules {
    /// SAN DNS names (case-insensitive).
    pub san_dns: Vec<String>,
    /// SAN URIs (SPIFFE IDs).
    pub san_uri: Vec<String>,
    /// Subject common names.
    pub cn: Vec<String>,
    /// SHA-256 fingerprints of the DER certificate (hex; colons and case ignored).
    pub sha256: Vec<String>,
}

fn normalise_fp(s: &str) -> String {
    s.chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_lowercase()
}

impl ClientCertPolicy {
    /// A policy; a certificate is needed when `required` or when any list is
    /// non-empty. Errs naming a fingerprint that is not 64 hex digits.
    pub fn new(
        required: bool,
        rules: IdentityRules,
        forward_header: Option<http::HeaderName>,
    ) -> Result<ClientCertPolicy, String> {
        let sha256: Vec<String> = rules.sha256.iter().map(|s| normalise_fp(s)).collect();
        if let Some(bad) = sha256
            .iter()
            .find(|s| s.len() != 64 || !s.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(format!(
                "{bad:?} is not a SHA-256 fingerprint (64 hex digits)"
            ));
        }
        Ok(ClientCertPolicy {
            required,
            san_dns: rules
                .san_dns
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
            san_uri: rules.san_uri,
            cn: rules.cn,
            sha256,
            forward_header,
        })
    }

    /// Does the route demand a certificate (explicitly or through allow lists)?
    pub fn requires_certificate(&self) -> bool {
        self.required || self.has_lists()
    }

    fn has_lists(&self) -> bool {
        !(self.san_dns.is_empty()
            && self.san_uri.is_empty()
            && self.cn.is_empty()
            && self.sha256.is_empty())
    }

    /// Check the connection's identity; returns the identity string to forward.
    pub fn check(&self, id: Option<&ClientIdentity>) -> Result<Option<String>, Rejection> {
        let Some(id) = id else {
            if self.requires_certificate() {
                return Err(Rejection::new(
                    Reason::ClientCertificateRequired,
                    "no verified client certificate",
                ));
            }
            return Ok(None);
        };
        let matched = if !self.has_lists() {
            Some(describe(id))
        } else {
            id.san_uri
                .iter()
                .find(|u| self.san_uri.contains(u))
                .map(|u| format!("uri:{u}"))
                .or_else(|| {
                    id.san_dns
                        .iter()
                        .find(|d| self.san_dns.contains(d))
                        .map(|d| format!("dns:{d}"))
                })
                .or_else(|| {
                    id.cn
                        .as_ref()
                        .filter(|c| self.cn.contains(c))
                        .map(|c| format!("cn:{c}"))
                })
                .or_else(|| {
                    self.sha256
                        .contains(&id.sha256)
                        .then(|| format!("sha256:{}", id.sha256))
                })
        };
        match matched {
            Some(m) => Ok(Some(m)),
            None => Err(Rejection::new(
                Reason::ClientIdentityNotAllowed,
                format!("client certificate {} not allowed", describe(id)),
            )),
        }
    }
}

/// A one-line identity for logs and the forward header.
fn describe(id: &ClientIdentity) -> String {
    id.san_uri
        .first()
        .map(|u| format!("uri:{u}"))
        .or_else(|| id.san_dns.first().map(|d| format!("dns:{d}")))
        .or_else(|| id.cn.as_ref().map(|c| format!("cn:{c}")))
        .unwrap_or_else(|| format!("sha256:{}", id.sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ClientIdentity {
        ClientIdentity {
            san_dns: vec!["sender-a.example".into()],
            san_uri: vec!["spiffe://hookgate.test/sender-a".into()],
            cn: Some("Sender A".into()),
            sha256: "ab".repeat(32),
        }
    }

    fn policy(toml_src: &str) -> ClientCertPolicy {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct T {
            required: bool,
            san_dns: Vec<String>,
            san_uri: Vec<String>,
            cn: Vec<String>,
            sha256: Vec<String>,
        }
        let t: T = toml::from_str(toml_src).unwrap();
        let rules = IdentityRules {
            san_dns: t.san_dns,
            san_uri: t.san_uri,
            cn: t.cn,
            sha256: t.sha256,
        };
        ClientCertPolicy::new(t.required, rules, None).unwrap()
    }

    #[test]
    fn allow_lists_each_kind() {
        assert_eq!(
            policy("san_dns = [\"SENDER-A.example\"]")
                .check(Some(&id()))
                .unwrap()
                .unwrap(),
            "dns:sender-a.example"
        );
        assert_eq!(
            policy("san_uri = [\"spiffe://hookgate.test/sender-a\"]")
                .check(Some(&id()))
                .unwrap()
                .unwrap(),
            "uri:spiffe://hookgate.test/sender-a"
        );
        assert_eq!(
            policy("cn = [\"Sender A\"]")
                .check(Some(&id()))
                .unwrap()
                .unwrap(),
            "cn:Sender A"
        );
        let fp = "AB:".repeat(31) + "AB";
        assert!(
            policy(&format!("sha256 = [\"{fp}\"]"))
                .check(Some(&id()))
                .is_ok(),
            "fingerprints: case and colons ignored"
        );
        let r = policy("san_dns = [\"other.example\"]")
            .check(Some(&id()))
            .unwrap_err();
        assert_eq!(r.reason, Reason::ClientIdentityNotAllowed);
        assert_eq!(
            policy("san_dns = [\"x\"]").check(None).unwrap_err().reason,
            Reason::ClientCertificateRequired
        );
        assert_eq!(
            policy("required = true").check(None).unwrap_err().reason,
            Reason::ClientCertificateRequired
        );
        assert_eq!(policy("").check(None).unwrap(), None);
        let bad = IdentityRules {
            sha256: vec!["zz".into()],
            ..Default::default()
        };
        assert_eq!(
            ClientCertPolicy::new(false, bad, None).unwrap_err(),
            "\"zz\" is not a SHA-256 fingerprint (64 hex digits)"
        );
    }
}
