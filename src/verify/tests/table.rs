//! The README's provider table and `conf/providers/all-presets.toml` are
//! rendered from the rows; these tests fail when either drifts.
//! `HOOKGATE_BLESS=1 cargo test --lib verify::tests::table` rewrites both.

use super::*;
use crate::verify::spec::{Alg, Replay, Spec};

const BEGIN: &str = "<!-- providers:begin (generated from src/verify/providers.rs) -->\n";
const END: &str = "<!-- providers:end -->";

fn code(s: &str) -> String {
    format!("`{}`", s.replace('|', "\\|"))
}

fn signature(spec: &Spec) -> String {
    let enc = spec.enc.label();
    let what = match spec.alg {
        Alg::Token => "<token>".to_string(),
        _ => format!("<{enc}>"),
    };
    match spec.sig {
        Sig::Header { name, prefix } => code(&format!("{name}: {prefix}{what}")),
        Sig::List { name, sep, prefix } => {
            code(&format!("{name}: {prefix}{what}[{sep}{prefix}{what}…]"))
        }
        Sig::Pairs {
            name,
            sep,
            key,
            ts_key,
            groups,
        } => {
            let one = if ts_key.is_empty() {
                format!("{key}={what}")
            } else {
                format!("{ts_key}=<ts>{sep}{key}={what}")
            };
            let more = groups.map_or(String::new(), |g| format!(" (sets separated by {g:?})"));
            format!("{}{more}", code(&format!("{name}: {one}")))
        }
        Sig::Each { names } => code(&format!("{names}: {what}")),
        Sig::Token { name, prefix } => code(&format!("{name}: {prefix}<token>")),
        Sig::Basic => code("Authorization: Basic …"),
        Sig::Body { path } => format!("body field {}", code(path)),
        Sig::Jwt {
            name,
            prefix,
            body_hash,
        } => {
            let hash = body_hash.map_or(String::new(), |(c, _)| {
                format!(", body SHA-256 in claim {}", code(c))
            });
            format!("{}{hash}", code(&format!("{name}: {prefix}<JWT>")))
        }
    }
}

fn signed(p: &Provider) -> String {
    let s = &p.spec;
    match s.sig {
        _ if s.alg == Alg::Token => "(shared token, constant-time compare)".into(),
        Sig::Basic => "(credentials, constant-time compare)".into(),
        Sig::Jwt { .. } => format!("{} JWT", s.alg.label()),
        _ => format!("{} {}", s.alg.label(), code(s.content)),
    }
}

fn timestamp(p: &Provider) -> String {
    let where_ = match p.spec.ts {
        Ts::None => return "none".into(),
        Ts::Header { name, fmt } => format!("{} ({})", code(name), fmt.label()),
        Ts::Pair { fmt } => format!("pair ({})", fmt.label()),
        Ts::Body { path, fmt } => format!("body {} ({})", code(path), fmt.label()),
        Ts::Jwt => "JWT iat/exp".into(),
    };
    format!("{where_}: {} s; provider: {}", p.tol.secs, p.tol.provider)
}

fn replay(p: &Provider) -> String {
    let key = match p.replay {
        Replay::SignedHeader(h, _) => format!("{} (signed)", code(h)),
        Replay::Header(h, _) => format!("{} (not signed)", code(h)),
        Replay::Signature(_) => "signature digest".into(),
        Replay::None(_) => "none".into(),
    };
    format!("{key}: {}", p.replay.why().replace('|', "\\|"))
}

fn handshake(p: &Provider) -> &'static str {
    match p.handshake {
        None => "",
        Some(Handshake::HubChallenge { .. }) => "GET `hub.challenge`",
        Some(Handshake::QueryEcho("challenge")) => "GET `challenge`",
        Some(Handshake::QueryEcho(_)) => "`?validationToken=`",
        Some(Handshake::HeaderEcho(_)) => "GET endpoint verification header",
        Some(Handshake::TwitterCrc) => "GET `crc_token`",
        Some(Handshake::AsanaSecret) => "`X-Hook-Secret`",
        Some(Handshake::ZoomValidation) => "`endpoint.url_validation`",
        Some(Handshake::TwitchChallenge) => "`webhook_callback_verification`",
        Some(Handshake::SlackChallenge) => "`url_verification`",
        Some(Handshake::OktaChallenge) => "`X-Okta-Verification-Challenge`",
        Some(Handshake::DiscordPing) => "PING",
        Some(Handshake::HeadOk) => "`HEAD`",
        Some(Handshake::SnsSubscribe) => "`SubscriptionConfirmation`",
        Some(Handshake::HeaderChallenge { .. }) => "POST challenge header",
        Some(Handshake::JsonChallenge) => "POST `{\"challenge\"}`",
    }
}

/// SDKs (with versions) that signed fixtures for each preset (`make vectors`).
fn sdk_fixtures() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut out: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for (file, label) in [
        (
            include_str!("../../../tests/fixtures/sdk-vectors.json"),
            None,
        ),
        (
            include_str!("../../../tests/fixtures/derived-vectors.json"),
            Some("tests/vectors/derive.py"),
        ),
    ] {
        let doc: serde_json::Value = serde_json::from_str(file).unwrap();
        for v in doc["vectors"].as_array().unwrap() {
            out.entry(v["provider"].as_str().unwrap().to_string())
                .or_default()
                .insert(
                    label.map_or_else(|| v["sdk"].as_str().unwrap().to_string(), str::to_string),
                );
        }
    }
    out
}

/// The README table.
pub fn readme_table() -> String {
    let sdks = sdk_fixtures();
    let mut out = String::from(BEGIN);
    out += "| scheme | provider | signature | signed | timestamp: hookgate default; provider's own | default replay key: why | handshake | tested against | docs |\n";
    out += "|---|---|---|---|---|---|---|---|---|\n";
    for p in PROVIDERS {
        let aliases = if p.aliases.is_empty() {
            String::new()
        } else {
            format!(
                " (also {})",
                p.aliases
                    .iter()
                    .map(|a| code(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        out += &format!(
            "| {}{aliases} | {} | {} | {} | {} | {} | {} | {} | [docs]({}) |\n",
            code(p.name),
            p.title,
            signature(&p.spec),
            signed(p),
            timestamp(p),
            replay(p),
            handshake(p),
            tested(p, &sdks),
            p.docs
        );
    }
    out += &format!(
        "\n{} presets, {} names with aliases.\n",
        PROVIDERS.len(),
        known_schemes().len() - 1
    );
    out + END
}

/// The row's vector source, plus the SDKs that signed fixtures for it.
fn tested(
    p: &Provider,
    sdks: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> String {
    let mut t = p.vector.replace('|', "\\|");
    if let Some(list) = sdks.get(p.name) {
        t += &format!(
            "; fixtures: {}",
            list.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    t
}

/// The env var holding a row's secret in the example file.
pub fn env_name(p: &Provider) -> String {
    format!("HG_{}", p.name.to_ascii_uppercase().replace('-', "_"))
}

/// `conf/providers/all-presets.toml`.
pub fn all_presets() -> String {
    let mut out = String::from(
        "# One example route per signature preset, generated from src/verify/providers.rs\n\
         # (HOOKGATE_BLESS=1 cargo test --lib verify::tests::table rewrites it).\n\
         # Copy the block you need. Secrets are env: references; the tests check this\n\
         # file with values of the right shape so every example stays valid.\n\n\
         [admin]\nlisten = \"127.0.0.1:9901\"\n\n[[listener]]\nname = \"public\"\nlisten = \"0.0.0.0:8080\"\n",
    );
    for p in PROVIDERS {
        out += &format!("\n# {} ({})\n", p.title, p.docs);
        out += &format!(
            "[[route]]\nname = \"{0}\"\npath_prefix = \"/hooks/{0}\"\nupstreams = [\"127.0.0.1:3000\"]\n[route.verify]\nscheme = \"{0}\"\n",
            p.name
        );
        if p.spec.key != KeyFmt::Remote {
            out += &format!("secrets = [\"env:{}\"]\n", env_name(p));
        }
        if p.spec.content.contains("{url}") {
            out += "public_url = \"https://hooks.example.com\"   # the URL the provider calls\n";
        }
        if p.spec.content == "{sns}" {
            out += "topic_arns = [\"arn:aws:sns:us-east-1:123456789012:my-topic\"]   # any AWS account can sign: list yours\n# auto_confirm = true   # confirm SubscriptionConfirmation by fetching SubscribeURL\n";
        }
        if p.spec.content.contains("{config:webhook_id}") {
            out +=
                "webhook_id = \"WH-XXXXXXXX\"   # this webhook's id, part of what PayPal signs\n";
        }
        match p.handshake {
            Some(Handshake::HubChallenge { .. }) => {
                out += &format!("verify_token = \"env:{}_VERIFY_TOKEN\"   # answers the subscription GET\n", env_name(p))
            }
            Some(Handshake::AsanaSecret) => {
                out += "state_dir = \"/tmp\"   # keeps the X-Hook-Secret; use a directory only hookgate can write\n"
            }
            _ => {}
        }
        if p.legacy.is_some() {
            out += "# legacy_sha1 = true   # also accept X-Hub-Signature (SHA-1) when SHA-256 is absent\n";
        }
    }
    out
}

/// The rows as data for `tests/vectors/derive.py`, which computes derived
/// vectors with an independent implementation (Python's hmac) of each row.
pub fn rows_json() -> String {
    use serde_json::json;
    let rows: Vec<serde_json::Value> = PROVIDERS
        .iter()
        .map(|p| {
            let s = &p.spec;
            let sig = match s.sig {
                Sig::Header { name, prefix } => json!({"kind": "header", "name": name, "prefix": prefix}),
                Sig::List { name, sep, prefix } => json!({"kind": "list", "name": name, "sep": sep.to_string(), "prefix": prefix}),
                Sig::Pairs { name, sep, key, ts_key, groups } => json!({"kind": "pairs", "name": name, "sep": sep.to_string(), "key": key, "ts_key": ts_key, "groups": groups.map(|g| g.to_string())}),
                Sig::Each { names } => json!({"kind": "each", "name": names}),
                Sig::Token { name, prefix } => json!({"kind": "token", "name": name, "prefix": prefix}),
                Sig::Basic => json!({"kind": "basic"}),
                Sig::Body { path } => json!({"kind": "body", "path": path}),
                Sig::Jwt { name, prefix, body_hash } => json!({"kind": "jwt", "name": name, "prefix": prefix, "body_hash": body_hash.map(|(c, e)| json!([c, e.label()]))}),
            };
            let ts = match s.ts {
                Ts::None => json!(null),
                Ts::Header { name, fmt } => json!({"kind": "header", "name": name, "fmt": fmt.label()}),
                Ts::Pair { fmt } => json!({"kind": "pair", "fmt": fmt.label()}),
                Ts::Body { path, fmt } => json!({"kind": "body", "path": path, "fmt": fmt.label()}),
                Ts::Jwt => json!({"kind": "jwt"}),
            };
            json!({
                "name": p.name, "vector": p.vector, "alg": s.alg.label(), "enc": s.enc.label(),
                "sig": sig, "ts": ts, "content": s.content, "key": format!("{:?}", s.key),
                "alg_switch": s.alg_switch.is_some(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&json!({
        "about": "Generated from src/verify/providers.rs (HOOKGATE_BLESS=1 cargo test --lib verify::tests::table); read by tests/vectors/derive.py.",
        "rows": rows
    }))
    .unwrap()
        + "\n"
}

fn bless_or_compare(path: &str, want: &str, whole: bool) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    let have = if whole {
        text.clone()
    } else {
        let a = text
            .find(BEGIN)
            .unwrap_or_else(|| panic!("{path} has no {BEGIN:?} marker"));
        let b = text
            .find(END)
            .unwrap_or_else(|| panic!("{path} has no {END:?} marker"));
        text[a..b + END.len()].to_string()
    };
    if have == want {
        return;
    }
    if std::env::var_os("HOOKGATE_BLESS").is_some() {
        let new = if whole {
            want.to_string()
        } else {
            text.replace(&have, want)
        };
        std::fs::write(&file, new).unwrap();
        return;
    }
    panic!("{path} is out of date with the provider table: run HOOKGATE_BLESS=1 cargo test --lib verify::tests::table");
}

#[test]
fn readme_table_is_generated_from_the_rows() {
    bless_or_compare("README.md", &readme_table(), false);
}

#[test]
fn all_presets_example_is_generated_from_the_rows() {
    bless_or_compare("conf/providers/all-presets.toml", &all_presets(), true);
}

#[test]
fn rows_export_is_generated_from_the_rows() {
    bless_or_compare("tests/fixtures/rows.json", &rows_json(), true);
}
