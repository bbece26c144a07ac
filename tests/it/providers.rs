//! The provider table as a user meets it: the generated example config
//! passes `check` for every row, and `check` tells what each route does.

use crate::harness::*;
use base64::Engine;
use hookgate::verify::providers::{find, PROVIDERS};
use hookgate::verify::spec::KeyFmt;
use std::process::Command;

/// A value of the right shape for the row a `HG_<ROW>` variable belongs to.
fn example_value(var: &str) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    if var.ends_with("_VERIFY_TOKEN") {
        return "verify-token".into();
    }
    let row = PROVIDERS
        .iter()
        .find(|p| format!("HG_{}", p.name.to_ascii_uppercase().replace('-', "_")) == var)
        .unwrap_or_else(|| panic!("{var} names no row"));
    match row.spec.key {
        KeyFmt::Whsec | KeyFmt::RawAndBase64 => format!("whsec_{}", b64(&[1u8; 24])),
        KeyFmt::Ed25519 => "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a".into(),
        KeyFmt::EcdsaP256 | KeyFmt::Jwk => "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==".into(),
        KeyFmt::Basic => "hook:sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8".into(),
        KeyFmt::Base64 => b64(&[2u8; 32]),
        KeyFmt::Hex => hex::encode([2u8; 32]),
        KeyFmt::Raw | KeyFmt::Remote => format!("dummy-{var}"),
    }
}

#[test]
fn all_presets_example_passes_check() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = repo.join("conf/providers/all-presets.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(["check", "-c"]).arg(&file);
    for var in text
        .split("\"env:")
        .skip(1)
        .filter_map(|r| r.split('"').next())
    {
        cmd.env(var, example_value(var));
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for p in PROVIDERS {
        assert!(
            stdout.contains(&format!("checks: verify {} (", p.name)),
            "no example for {}:\n{stdout}",
            p.name
        );
        assert!(find(p.name).is_some());
    }
    // The D1 rule, as check reports it: no token or Basic route keys on its credential.
    for line in stdout.lines().filter(|l| {
        l.contains("verify gitlab") || l.contains("verify basic-auth") || l.contains("verify okta")
    }) {
        assert!(!line.contains("signature digest"), "{line}");
    }
    assert!(
        stdout.contains("replay key header x-github-delivery (not covered by the signature)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("handshake: answers X-Hook-Secret; secret kept in"),
        "{stdout}"
    );
}
