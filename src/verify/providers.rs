//! The provider table: one row per preset, nothing else.
//!
//! Every row is data over the one engine: where the signature and timestamp
//! are, what is signed, the default tolerance next to the provider's own, the
//! default replay key with the reason it can never merge two real deliveries,
//! the handshake the gateway answers, where the scheme is documented and what
//! the preset is tested against. The README's provider table and
//! `conf/providers/all-presets.toml` are generated from these rows (a test
//! fails when they drift), and the tests iterate over the rows.

use super::spec::{
    Alg, AlgSwitch, Enc, Handshake, KeyFmt, Provider, Queueing, RemoteCert, Replay, Sig, Spec, Tol,
    Ts, TsFmt,
};
use Alg::{HmacSha1 as SHA1, HmacSha256 as SHA256, HmacSha512 as SHA512};
use Enc::{Base64 as B64, Hex};

// ---- building blocks (const, so rows stay one screen each) ----

/// `prefix` + signature in one header (`a|b`: alternative names).
const fn hdr(name: &'static str, prefix: &'static str) -> Sig {
    Sig::Header { name, prefix }
}

/// `k=v` pairs in one header: signature key `key`, timestamp key `ts`.
const fn pairs(name: &'static str, sep: char, key: &'static str, ts: &'static str) -> Sig {
    Sig::Pairs {
        name,
        sep,
        key,
        ts_key: ts,
        groups: None,
    }
}

/// A timestamp header.
const fn ts_hdr(name: &'static str, fmt: TsFmt) -> Ts {
    Ts::Header { name, fmt }
}

/// HMAC of the raw body, no timestamp, secret used as its UTF-8 bytes.
const fn body(alg: Alg, enc: Enc, sig: Sig) -> Spec {
    Spec {
        alg,
        enc,
        sig,
        ts: Ts::None,
        content: "{body}",
        key: KeyFmt::Raw,
        alg_switch: None,
        remote: None,
    }
}

/// HMAC-SHA256 hex over `content` with a timestamp.
const fn timed(sig: Sig, ts: Ts, content: &'static str) -> Spec {
    Spec {
        ts,
        content,
        ..body(SHA256, Hex, sig)
    }
}

/// Stripe's shape: `t=<unix>,v1=<hex>` over `{t}.{body}`.
const fn t_v1(header: &'static str) -> Spec {
    timed(
        pairs(header, ',', "v1", "t"),
        Ts::Pair { fmt: TsFmt::Unix },
        "{timestamp}.{body}",
    )
}

/// Standard Webhooks (`v1,<b64>` over `{id}.{ts}.{body}`, `whsec_` secret).
const fn standard(sig: &'static str, ts: &'static str) -> Spec {
    Spec {
        alg: SHA256,
        enc: B64,
        sig: Sig::List {
            name: sig,
            sep: ' ',
            prefix: "v1,",
        },
        ts: Ts::Header {
            name: ts,
            fmt: TsFmt::Unix,
        },
        content: "",
        key: KeyFmt::Whsec,
        alg_switch: None,
        remote: None,
    }
}

/// The `webhook-*` names of Standard Webhooks.
const STANDARD: Spec = Spec {
    content: "{header:webhook-id}.{timestamp}.{body}",
    ..standard("webhook-signature", "webhook-timestamp")
};

/// Svix: `svix-*` names, falling back to `webhook-*` as the Svix libraries do (D10).
const SVIX: Spec = Spec {
    content: "{header:svix-id|webhook-id}.{timestamp}.{body}",
    ..standard(
        "svix-signature|webhook-signature",
        "svix-timestamp|webhook-timestamp",
    )
};

/// Ed25519 (`v1a,`) over the same content.
const fn asymmetric(spec: Spec) -> Spec {
    Spec {
        alg: Alg::Ed25519,
        key: KeyFmt::Ed25519,
        sig: match spec.sig {
            Sig::List { name, sep, .. } => Sig::List {
                name,
                sep,
                prefix: "v1a,",
            },
            other => other,
        },
        ..spec
    }
}

/// A shared token compared whole.
const fn token(name: &'static str) -> Spec {
    Spec {
        sig: Sig::Token { name, prefix: "" },
        content: "",
        ..body(Alg::Token, Hex, Sig::Basic)
    }
}

/// HTTP Basic credentials.
const BASIC: Spec = Spec {
    alg: Alg::Basic,
    key: KeyFmt::Basic,
    content: "",
    ..body(Alg::Basic, B64, Sig::Basic)
};

/// Twilio: URL + sorted form parameters, SHA-1 unless the settings header says SHA-256 (D5).
const TWILIO: Spec = Spec {
    content: "{url}{form:sorted}",
    alg_switch: Some(AlgSwitch {
        header: "x-twilio-webhooks-signature-settings",
        key: "algorithm",
        choices: &[("HMAC_SHA1", SHA1), ("HMAC_SHA256", SHA256)],
    }),
    ..body(SHA1, B64, hdr("x-twilio-signature", ""))
};

const GITHUB_SHA1: Spec = body(SHA1, Hex, hdr("x-hub-signature", "sha1="));
const META_SHA1: Spec = body(SHA1, Hex, hdr("x-hub-signature", "sha1="));

const NO_TS: Tol = Tol {
    secs: 300,
    provider: "no timestamp",
};

/// A JWT in a header, HS256 over the shared secret; `hash`: the body-hash claim.
const fn jwt(name: &'static str, prefix: &'static str, hash: Option<(&'static str, Enc)>) -> Spec {
    Spec {
        alg: Alg::JwtHs256,
        sig: Sig::Jwt {
            name,
            prefix,
            body_hash: hash,
        },
        ts: Ts::Jwt,
        content: "",
        ..body(SHA256, B64, Sig::Basic)
    }
}

/// Defaults every row overrides as needed.
const ROW: Provider = Provider {
    name: "",
    title: "",
    aliases: &[],
    spec: body(SHA256, Hex, Sig::Basic),
    legacy: None,
    tol: NO_TS,
    replay: Replay::None(""),
    handshake: None,
    queueing: Queueing::Allowed,
    docs: "",
    vector: "derived from the documented scheme",
};

const TOKEN_REPLAY: Replay = Replay::None(
    "the token is the same on every delivery and the body is not signed: nothing signed is unique per delivery",
);
const BASIC_REPLAY: Replay = Replay::None(
    "the credentials are the same on every delivery and the body is not signed: nothing signed is unique per delivery",
);

/// Every preset, in documentation order.
pub static PROVIDERS: &[Provider] = &[
    Provider {
        name: "github",
        title: "GitHub",
        spec: body(SHA256, Hex, hdr("x-hub-signature-256", "sha256=")),
        legacy: Some(&GITHUB_SHA1),
        replay: Replay::Header("x-github-delivery", "unique per delivery and kept on redelivery; two real deliveries can carry identical bodies"),
        docs: "https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries",
        vector: "published: GitHub docs; @octokit/webhooks-methods tests",
        ..ROW
    },
    Provider {
        name: "stripe",
        title: "Stripe",
        spec: t_v1("stripe-signature"),
        tol: Tol { secs: 300, provider: "SDK 300 s, past only" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the event id (`evt_…`)"),
        docs: "https://docs.stripe.com/webhooks#verify-manually",
        vector: "sdk: stripe generateTestHeaderString",
        ..ROW
    },
    Provider {
        name: "slack",
        title: "Slack",
        spec: timed(hdr("x-slack-signature", "v0="), ts_hdr("x-slack-request-timestamp", TsFmt::Unix), "v0:{timestamp}:{body}"),
        tol: Tol { secs: 300, provider: "slack_sdk 300 s, both ways" },
        replay: Replay::Signature("the signed bytes hold the timestamp and a per-request id (`event_id`, `trigger_id`)"),
        handshake: Some(Handshake::SlackChallenge),
        queueing: Queueing::NeedsAppAnswer("Slack slash commands and interactivity are answered with the app's response"),
        docs: "https://api.slack.com/authentication/verifying-requests-from-slack",
        vector: "published: Slack docs / slack_sdk tests",
        ..ROW
    },
    Provider {
        name: "standard-webhooks",
        title: "Standard Webhooks",
        spec: STANDARD,
        tol: Tol { secs: 300, provider: "libraries ±300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md",
        vector: "published: standard-webhooks libraries' tests",
        ..ROW
    },
    Provider {
        name: "standard-webhooks-v1a",
        title: "Standard Webhooks (Ed25519)",
        spec: asymmetric(STANDARD),
        tol: Tol { secs: 300, provider: "libraries ±300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md",
        vector: "published: svix-server worker.rs test",
        ..ROW
    },
    Provider {
        name: "svix",
        title: "Svix",
        spec: SVIX,
        tol: Tol { secs: 300, provider: "svix libraries ±300 s" },
        replay: Replay::SignedHeader("svix-id|webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://docs.svix.com/receiving/verifying-payloads/how-manual",
        vector: "published: standard-webhooks libraries' tests (svix-* names)",
        ..ROW
    },
    Provider {
        name: "svix-v1a",
        title: "Svix (Ed25519)",
        spec: asymmetric(SVIX),
        tol: Tol { secs: 300, provider: "svix libraries ±300 s" },
        replay: Replay::SignedHeader("svix-id|webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://docs.svix.com/receiving/verifying-payloads/how-manual",
        vector: "published: svix-server worker.rs test (svix-* names)",
        ..ROW
    },
    Provider {
        name: "polar",
        title: "Polar (Standard Webhooks)",
        spec: Spec { key: KeyFmt::RawAndBase64, ..STANDARD },
        tol: Tol { secs: 300, provider: "standardwebhooks ±300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://docs.polar.sh/integrate/webhooks/delivery",
        vector: "sdk: @polar-sh/sdk validateEvent (raw `polar_whs_` secret)",
        ..ROW
    },
    Provider {
        name: "shopify",
        title: "Shopify",
        spec: body(SHA256, B64, hdr("x-shopify-hmac-sha256|shopify-hmac-sha256", "")),
        replay: Replay::Header("x-shopify-webhook-id|shopify-webhook-id", "Shopify's documented duplicate-detection id, unique per delivery"),
        docs: "https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook",
        vector: "derived; @shopify/shopify-api validate",
        ..ROW
    },
    Provider {
        name: "twilio",
        title: "Twilio",
        spec: TWILIO,
        replay: Replay::Header("i-twilio-idempotency-token", "unique per delivery and kept on retries; status callbacks can repeat a body"),
        queueing: Queueing::NeedsAppAnswer("Twilio voice and messaging webhooks are answered with the app's TwiML"),
        docs: "https://www.twilio.com/docs/usage/security#validating-requests",
        vector: "published: twilio-python tests (form, multi-value, JSON)",
        ..ROW
    },
    Provider {
        name: "mandrill",
        title: "Mailchimp Transactional (Mandrill)",
        // The URL, then each POST parameter (`mandrill_events`) as name + value, sorted by name.
        spec: Spec { content: "{url}{form:sorted}", ..body(SHA1, B64, hdr("x-mandrill-signature", "")) },
        replay: Replay::Signature("each event in `mandrill_events` has its own `_id` and `ts`"),
        handshake: Some(Handshake::HeadOk),
        docs: "https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/#authenticating-webhook-requests",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "smartsheet",
        title: "Smartsheet",
        spec: body(SHA256, Hex, hdr("smartsheet-hmac-sha256", "")),
        replay: Replay::Signature("every callback body carries a random `nonce`"),
        handshake: Some(Handshake::HeaderChallenge {
            header: "smartsheet-hook-challenge",
            reply_header: "smartsheet-hook-response",
            json_field: "smartsheetHookResponse",
        }),
        docs: "https://developers.smartsheet.com/api/smartsheet/guides/webhooks/webhook-callbacks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "trello",
        title: "Trello",
        // The raw body, then the callbackURL exactly as registered: the public URL, not hookgate's.
        spec: Spec { content: "{body}{url}", ..body(SHA1, B64, hdr("x-trello-webhook", "")) },
        replay: Replay::Signature("each delivery is one action with its own `action.id`; the callback URL is signed too, so two webhooks never share a signature"),
        handshake: Some(Handshake::HeadOk),
        docs: "https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "meta",
        title: "Meta (Facebook, Instagram, WhatsApp, Messenger)",
        aliases: &["facebook", "instagram", "whatsapp"],
        spec: body(SHA256, Hex, hdr("x-hub-signature-256", "sha256=")),
        legacy: Some(&META_SHA1),
        replay: Replay::Signature("each entry carries its millisecond `time` and object ids (`mid`, `wamid`)"),
        handshake: Some(Handshake::HubChallenge { json: false }),
        docs: "https://developers.facebook.com/docs/graph-api/webhooks/getting-started",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "gitlab",
        title: "GitLab",
        spec: token("x-gitlab-token"),
        replay: Replay::Header("idempotency-key|x-gitlab-event-uuid", "`Idempotency-Key` is unique per delivery and kept on retries (older GitLab: the event UUID)"),
        docs: "https://docs.gitlab.com/user/project/integrations/webhooks/#validate-requests-with-a-secret-token",
        vector: "token compare",
        ..ROW
    },
    Provider {
        name: "discord",
        title: "Discord interactions",
        spec: Spec { alg: Alg::Ed25519, key: KeyFmt::Ed25519, ..timed(hdr("x-signature-ed25519", ""), ts_hdr("x-signature-timestamp", TsFmt::Unix), "{timestamp}{body}") },
        tol: Tol { secs: 300, provider: "discord-interactions: none (answers are due within 3 s)" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the interaction `id`"),
        handshake: Some(Handshake::DiscordPing),
        queueing: Queueing::NeedsAppAnswer("Discord interactions are answered with the app's response (commands need their reply within 3 s)"),
        docs: "https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers",
        vector: "sdk: discord-interactions verifyKey",
        ..ROW
    },
    Provider {
        name: "sendgrid",
        title: "Twilio SendGrid",
        spec: Spec { alg: Alg::EcdsaP256, enc: B64, key: KeyFmt::EcdsaP256, ..timed(hdr("x-twilio-email-event-webhook-signature", ""), ts_hdr("x-twilio-email-event-webhook-timestamp", TsFmt::Unix), "{timestamp}{body}") },
        tol: Tol { secs: 300, provider: "@sendgrid/eventwebhook: none" },
        replay: Replay::Signature("the signed bytes hold the timestamp and each event's `sg_event_id`"),
        docs: "https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features",
        vector: "published: @sendgrid/eventwebhook tests",
        ..ROW
    },
    Provider {
        name: "paddle",
        title: "Paddle Billing",
        spec: Spec { ts: Ts::Pair { fmt: TsFmt::Unix }, content: "{timestamp}:{body}", ..body(SHA256, Hex, pairs("paddle-signature", ';', "h1", "ts")) },
        tol: Tol { secs: 300, provider: "SDKs 5 s (node: past only; python: both ways)" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the `event_id`"),
        docs: "https://developer.paddle.com/webhooks/signature-verification",
        vector: "published: @paddle/paddle-node-sdk tests",
        ..ROW
    },
    Provider {
        name: "linear",
        title: "Linear",
        spec: Spec { ts: Ts::Body { path: "webhookTimestamp", fmt: TsFmt::UnixMs }, ..body(SHA256, Hex, hdr("linear-signature", "")) },
        tol: Tol { secs: 60, provider: "@linear/sdk ±60 s (body `webhookTimestamp`)" },
        replay: Replay::Signature("the signed body holds `webhookTimestamp` (ms) and the entity id"),
        docs: "https://linear.app/developers/webhooks#securing-webhooks",
        vector: "sdk: @linear/sdk LinearWebhookClient.verify",
        ..ROW
    },
    Provider {
        name: "zoom",
        title: "Zoom",
        spec: timed(hdr("x-zm-signature", "v0="), ts_hdr("x-zm-request-timestamp", TsFmt::Unix), "v0:{timestamp}:{body}"),
        tol: Tol { secs: 300, provider: "Rivet SDK: none" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the event's `event_ts` (ms)"),
        handshake: Some(Handshake::ZoomValidation),
        docs: "https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "basic-auth",
        title: "HTTP Basic",
        spec: BASIC,
        replay: BASIC_REPLAY,
        docs: "https://www.rfc-editor.org/rfc/rfc7617",
        vector: "credentials compare",
        ..ROW
    },
    Provider {
        name: "twitch",
        title: "Twitch EventSub",
        spec: timed(hdr("twitch-eventsub-message-signature", "sha256="), ts_hdr("twitch-eventsub-message-timestamp", TsFmt::Rfc3339), "{header:twitch-eventsub-message-id}{timestamp}{body}"),
        tol: Tol { secs: 600, provider: "Twitch docs, @twurple/eventsub-http: 10 min old" },
        replay: Replay::SignedHeader("twitch-eventsub-message-id", "signed, unique per message and kept on retries"),
        handshake: Some(Handshake::TwitchChallenge),
        docs: "https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message",
        vector: "derived; twitch-cli signer",
        ..ROW
    },
    Provider {
        name: "square",
        title: "Square",
        spec: Spec { content: "{url}{body}", ..body(SHA256, B64, hdr("x-square-hmacsha256-signature", "")) },
        replay: Replay::Signature("the signed body holds the `event_id`"),
        docs: "https://developer.squareup.com/docs/webhooks/step3validate",
        vector: "published: square SDK WebhooksHelper tests",
        ..ROW
    },
    Provider {
        name: "hubspot",
        title: "HubSpot (v3)",
        spec: Spec { enc: B64, ..timed(hdr("x-hubspot-signature-v3", ""), ts_hdr("x-hubspot-request-timestamp", TsFmt::UnixMs), "{method}{url}{body}{timestamp}") },
        tol: Tol { secs: 300, provider: "@hubspot/api-client 300 s, past only" },
        replay: Replay::Signature("the signed bytes hold the timestamp (ms) and each event's `eventId`"),
        docs: "https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests",
        vector: "sdk: @hubspot/api-client Signature.isValid",
        ..ROW
    },
    Provider {
        name: "pagerduty",
        title: "PagerDuty (v3)",
        spec: body(SHA256, Hex, Sig::List { name: "x-pagerduty-signature", sep: ',', prefix: "v1=" }),
        replay: Replay::Signature("the signed body holds the event `id`"),
        docs: "https://developer.pagerduty.com/docs/webhooks-overview#webhook-signatures",
        vector: "published: go-pagerduty webhookv3 test",
        ..ROW
    },
    Provider {
        name: "intercom",
        title: "Intercom",
        spec: body(SHA1, Hex, hdr("x-hub-signature", "sha1=")),
        replay: Replay::Signature("the signed body holds the notification `id`"),
        docs: "https://developers.intercom.com/docs/webhooks/webhook-notifications#signed-notifications",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "typeform",
        title: "Typeform",
        spec: body(SHA256, B64, hdr("typeform-signature", "sha256=")),
        replay: Replay::Signature("the signed body holds the `event_id`"),
        docs: "https://www.typeform.com/developers/webhooks/secure-your-webhooks/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "calendly",
        title: "Calendly",
        spec: t_v1("calendly-webhook-signature"),
        tol: Tol { secs: 300, provider: "docs example 180 s" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the invitee/event URIs"),
        docs: "https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "mux",
        title: "Mux",
        spec: t_v1("mux-signature"),
        tol: Tol { secs: 300, provider: "@mux/mux-node 300 s, past only" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the event `id`"),
        docs: "https://docs.mux.com/core/verify-webhook-signatures",
        vector: "sdk: @mux/mux-node webhooks.verifySignature",
        ..ROW
    },
    Provider {
        name: "bitbucket",
        title: "Bitbucket",
        spec: body(SHA256, Hex, hdr("x-hub-signature", "sha256=")),
        replay: Replay::Header("x-request-uuid", "unique per request; two real deliveries can carry identical bodies"),
        docs: "https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "jira",
        title: "Jira / Confluence (Atlassian)",
        aliases: &["confluence"],
        spec: body(SHA256, Hex, hdr("x-hub-signature", "sha256=")),
        replay: Replay::Header("x-atlassian-webhook-identifier", "unique per webhook delivery and kept on retries"),
        docs: "https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "docusign",
        title: "DocuSign Connect",
        spec: body(SHA256, B64, Sig::Each { names: "x-docusign-signature-*" }),
        replay: Replay::None("no delivery id is documented and identical status notifications can repeat"),
        docs: "https://developers.docusign.com/platform/webhooks/connect/hmac/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "vercel",
        title: "Vercel",
        spec: body(SHA1, Hex, hdr("x-vercel-signature", "")),
        replay: Replay::Signature("the signed body holds the event `id`"),
        docs: "https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "sentry",
        title: "Sentry",
        spec: body(SHA256, Hex, hdr("sentry-hook-signature", "")),
        replay: Replay::Header("request-id", "unique per request"),
        docs: "https://docs.sentry.io/organization/integrations/integration-platform/webhooks/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "coinbase",
        title: "Coinbase Commerce",
        spec: body(SHA256, Hex, hdr("x-cc-webhook-signature", "")),
        replay: Replay::Signature("the signed body holds the event `id`"),
        docs: "https://docs.cdp.coinbase.com/commerce/docs/webhooks-security",
        vector: "published: coinbase-commerce-node tests",
        ..ROW
    },
    Provider {
        name: "razorpay",
        title: "Razorpay",
        spec: body(SHA256, Hex, hdr("x-razorpay-signature", "")),
        replay: Replay::Header("x-razorpay-event-id", "unique per event and kept on retries"),
        docs: "https://razorpay.com/docs/webhooks/validate-test/",
        vector: "published: razorpay SDK tests",
        ..ROW
    },
    Provider {
        name: "gitea",
        title: "Gitea / Forgejo",
        aliases: &["forgejo"],
        spec: body(SHA256, Hex, hdr("x-gitea-signature", "")),
        replay: Replay::Header("x-gitea-delivery", "unique per delivery"),
        docs: "https://docs.gitea.com/usage/webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "gogs",
        title: "Gogs",
        spec: body(SHA256, Hex, hdr("x-gogs-signature", "")),
        replay: Replay::Header("x-gogs-delivery", "unique per delivery"),
        docs: "https://gogs.io/docs/features/webhook",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "dropbox",
        title: "Dropbox",
        spec: body(SHA256, Hex, hdr("x-dropbox-signature", "")),
        replay: Replay::None("Dropbox sends the same `{\"list_folder\":…,\"delta\":…}` body for distinct changes and no delivery id"),
        handshake: Some(Handshake::QueryEcho("challenge")),
        docs: "https://www.dropbox.com/developers/reference/webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "asana",
        title: "Asana",
        spec: body(SHA256, Hex, hdr("x-hook-signature", "")),
        replay: Replay::None("heartbeats are byte-identical `{\"events\":[]}` deliveries and there is no delivery id"),
        handshake: Some(Handshake::AsanaSecret),
        docs: "https://developers.asana.com/docs/webhook-security",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "woocommerce",
        title: "WooCommerce",
        spec: body(SHA256, B64, hdr("x-wc-webhook-signature", "")),
        replay: Replay::Header("x-wc-webhook-delivery-id", "unique per delivery"),
        docs: "https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "nylas",
        title: "Nylas",
        spec: body(SHA256, Hex, hdr("x-nylas-signature", "")),
        replay: Replay::Signature("the signed body holds the notification `id`"),
        handshake: Some(Handshake::QueryEcho("challenge")),
        docs: "https://developer.nylas.com/docs/v3/notifications/webhooks/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "lemonsqueezy",
        title: "Lemon Squeezy",
        spec: body(SHA256, Hex, hdr("x-signature", "")),
        replay: Replay::None("no delivery or event id: two events for one object can carry identical bodies"),
        docs: "https://docs.lemonsqueezy.com/help/webhooks/signing-requests",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "calcom",
        title: "Cal.com",
        spec: body(SHA256, Hex, hdr("x-cal-signature-256", "")),
        replay: Replay::Signature("the signed body holds the trigger's `createdAt` (ms)"),
        docs: "https://cal.com/docs/developing/guides/automation/webhooks#verifying-the-authenticity-of-the-received-payload",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "terraform",
        title: "HCP Terraform",
        spec: body(SHA512, Hex, hdr("x-tfe-notification-signature", "")),
        replay: Replay::Signature("the signed body holds the run id, trigger and `run_updated_at`"),
        docs: "https://developer.hashicorp.com/terraform/cloud-docs/api-docs/notification-configurations#notification-authenticity",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "gocardless",
        title: "GoCardless",
        spec: body(SHA256, Hex, hdr("webhook-signature", "")),
        replay: Replay::Signature("the signed body holds the events' `id`s"),
        docs: "https://developer.gocardless.com/getting-started/staying-up-to-date-with-webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "heroku",
        title: "Heroku",
        spec: body(SHA256, B64, hdr("heroku-webhook-hmac-sha256", "")),
        replay: Replay::Header("heroku-webhook-id", "unique per delivery"),
        docs: "https://devcenter.heroku.com/articles/app-webhooks#securing-webhook-requests",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "xero",
        title: "Xero",
        spec: body(SHA256, B64, hdr("x-xero-signature", "")),
        replay: Replay::Signature("the signed body holds a random `entropy` and event sequence numbers"),
        docs: "https://developer.xero.com/documentation/guides/webhooks/overview/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "intuit",
        title: "Intuit QuickBooks",
        spec: body(SHA256, B64, hdr("intuit-signature", "")),
        replay: Replay::Signature("the signed body holds each entity's `lastUpdated`"),
        docs: "https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "line",
        title: "LINE Messaging API",
        spec: body(SHA256, B64, hdr("x-line-signature", "")),
        replay: Replay::Signature("each signed event has a unique `webhookEventId`"),
        docs: "https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/",
        vector: "sdk: @line/bot-sdk validateSignature",
        ..ROW
    },
    Provider {
        name: "paystack",
        title: "Paystack",
        spec: body(SHA512, Hex, hdr("x-paystack-signature", "")),
        replay: Replay::Signature("the signed body holds the event name and the object's `id`"),
        docs: "https://paystack.com/docs/payments/webhooks/#verify-event-origin",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "checkout",
        title: "Checkout.com",
        spec: body(SHA256, Hex, hdr("cko-signature", "")),
        replay: Replay::Signature("the signed body holds the event `id`"),
        docs: "https://www.checkout.com/docs/developer-resources/webhooks/manage-webhooks/receive-webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "onfido",
        title: "Onfido",
        spec: body(SHA256, Hex, hdr("x-sha2-signature", "")),
        replay: Replay::Signature("the signed body holds the object id, action and `completed_at_iso8601`"),
        docs: "https://documentation.onfido.com/api/latest/#webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "hookdeck",
        title: "Hookdeck",
        spec: body(SHA256, B64, Sig::Each { names: "x-hookdeck-signature,x-hookdeck-signature-2" }),
        replay: Replay::Header("x-hookdeck-eventid", "unique per event"),
        docs: "https://hookdeck.com/docs/authentication#hookdeck-webhook-signature-verification",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "persona",
        title: "Persona",
        spec: Spec { sig: Sig::Pairs { name: "persona-signature", sep: ',', key: "v1", ts_key: "t", groups: Some(' ') }, ..t_v1("persona-signature") },
        tol: Tol { secs: 300, provider: "docs example 300 s" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the event `id`"),
        docs: "https://docs.withpersona.com/docs/webhooks-best-practices#checking-signatures",
        vector: "derived, including the two-set rotation header",
        ..ROW
    },
    Provider {
        name: "workos",
        title: "WorkOS",
        spec: Spec { ts: Ts::Pair { fmt: TsFmt::UnixMs }, ..t_v1("workos-signature") },
        tol: Tol { secs: 300, provider: "SDKs 180 s (node: past only; python: both ways)" },
        replay: Replay::Signature("the signed bytes hold the timestamp (ms) and the event `id`"),
        docs: "https://workos.com/docs/events/data-syncing/webhooks/3-process-the-events/b-validate-the-requests-manually",
        vector: "sdk: @workos-inc/node webhooks.constructEvent",
        ..ROW
    },
    Provider {
        name: "buildkite",
        title: "Buildkite",
        spec: Spec { sig: pairs("x-buildkite-signature", ',', "signature", "timestamp"), ..t_v1("x-buildkite-signature") },
        tol: Tol { secs: 300, provider: "docs: not specified" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the build/job ids"),
        docs: "https://buildkite.com/docs/apis/webhooks#webhook-signature",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "okta",
        title: "Okta event hooks",
        spec: token("authorization"),
        replay: TOKEN_REPLAY,
        handshake: Some(Handshake::OktaChallenge),
        docs: "https://developer.okta.com/docs/concepts/event-hooks/",
        vector: "token compare",
        ..ROW
    },
    Provider {
        name: "telegram",
        title: "Telegram Bot API",
        spec: token("x-telegram-bot-api-secret-token"),
        replay: TOKEN_REPLAY,
        docs: "https://core.telegram.org/bots/api#setwebhook",
        vector: "token compare",
        ..ROW
    },
    Provider {
        name: "flutterwave",
        title: "Flutterwave",
        spec: token("verif-hash"),
        replay: TOKEN_REPLAY,
        docs: "https://developer.flutterwave.com/docs/webhooks",
        vector: "token compare",
        ..ROW
    },
    Provider {
        name: "clerk",
        title: "Clerk (via Svix)",
        spec: SVIX,
        tol: Tol { secs: 300, provider: "@clerk/backend (standardwebhooks) ±300 s" },
        replay: Replay::SignedHeader("svix-id|webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://clerk.com/docs/webhooks/sync-data",
        vector: "derived (Svix scheme)",
        ..ROW
    },
    Provider {
        name: "resend",
        title: "Resend (via Svix)",
        spec: SVIX,
        tol: Tol { secs: 300, provider: "resend SDK (svix) ±300 s" },
        replay: Replay::SignedHeader("svix-id|webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests",
        vector: "derived (Svix scheme)",
        ..ROW
    },
    Provider {
        name: "openai",
        title: "OpenAI (Standard Webhooks)",
        spec: STANDARD,
        tol: Tol { secs: 300, provider: "openai SDK unwrap() 300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://platform.openai.com/docs/guides/webhooks#verifying-webhook-signatures",
        vector: "sdk: openai webhooks.verify_signature",
        ..ROW
    },
    Provider {
        name: "replicate",
        title: "Replicate (Standard Webhooks)",
        spec: STANDARD,
        tol: Tol { secs: 300, provider: "replicate SDKs: none by default" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://replicate.com/docs/topics/webhooks/verify-webhook",
        vector: "sdk: replicate validateWebhook",
        ..ROW
    },
    Provider {
        name: "postmark",
        title: "Postmark (HTTP Basic)",
        spec: BASIC,
        replay: BASIC_REPLAY,
        docs: "https://postmarkapp.com/developer/webhooks/webhooks-overview#protecting-your-webhook",
        vector: "credentials compare",
        ..ROW
    },
    Provider {
        name: "pipedrive",
        title: "Pipedrive (HTTP Basic)",
        spec: BASIC,
        replay: BASIC_REPLAY,
        docs: "https://pipedrive.readme.io/docs/guide-for-webhooks",
        vector: "credentials compare",
        ..ROW
    },
    Provider {
        name: "sparkpost",
        title: "SparkPost (HTTP Basic)",
        spec: BASIC,
        replay: BASIC_REPLAY,
        docs: "https://developers.sparkpost.com/api/webhooks/",
        vector: "credentials compare",
        ..ROW
    },
    Provider {
        name: "aftership",
        title: "AfterShip",
        spec: body(SHA256, B64, hdr("aftership-hmac-sha256", "")),
        replay: Replay::Signature("the signed body holds the `event_id`"),
        docs: "https://www.aftership.com/docs/tracking/webhook/webhook-signature",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "alchemy",
        title: "Alchemy Notify",
        spec: body(SHA256, Hex, hdr("x-alchemy-signature", "")),
        replay: Replay::Signature("the signed body holds the event `id` (`whevt_…`)"),
        docs: "https://docs.alchemy.com/reference/notify-api-faq",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "autodesk",
        title: "Autodesk Platform Services",
        spec: body(SHA1, Hex, hdr("x-adsk-signature", "sha1hash=")),
        replay: Replay::None("no delivery id is documented and two real deliveries can carry identical bodies"),
        docs: "https://aps.autodesk.com/en/docs/webhooks/v1/tutorials/how-to-verify-payload-signature/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "bolt",
        title: "Bolt",
        spec: body(SHA256, B64, hdr("x-bolt-hmac-sha256", "")),
        replay: Replay::None("no delivery id is documented and two real deliveries can carry identical bodies"),
        docs: "https://help.bolt.com/developers/guides/webhooks/hook-verification/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "castle",
        title: "Castle",
        spec: body(SHA256, B64, hdr("x-castle-signature", "")),
        replay: Replay::Signature("the signed body holds the event `id`"),
        docs: "https://castle.io/docs/securing_requests",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "chargify",
        title: "Maxio Advanced Billing (Chargify)",
        spec: body(SHA256, Hex, hdr("x-chargify-webhook-signature-hmac-sha-256", "")),
        replay: Replay::Header("x-chargify-webhook-id", "unique per webhook and kept on retries"),
        docs: "https://maxio.zendesk.com/hc/en-us/articles/24266136649229-Webhooks-Reference",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "circleci",
        title: "CircleCI",
        spec: body(SHA256, Hex, Sig::List { name: "circleci-signature", sep: ',', prefix: "v1=" }),
        replay: Replay::Signature("the signed body holds the event `id`"),
        docs: "https://circleci.com/docs/webhooks/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "clearbit",
        title: "Clearbit",
        spec: body(SHA1, Hex, hdr("x-request-signature", "sha1=")),
        replay: Replay::None("the body's `id` is the lookup id, the same on repeated results"),
        docs: "https://github.com/clearbit/clearbit-ruby/blob/master/lib/clearbit/webhook_signature.rb",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "launchdarkly",
        title: "LaunchDarkly",
        spec: body(SHA256, Hex, hdr("x-ld-signature", "")),
        replay: Replay::Signature("the signed body holds the audit-log entry `_id`"),
        docs: "https://docs.launchdarkly.com/home/connecting/webhooks/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "modern-treasury",
        title: "Modern Treasury",
        spec: body(SHA256, Hex, hdr("x-signature", "")),
        replay: Replay::Signature("the signed body holds the event `id`"),
        docs: "https://docs.moderntreasury.com/platform/docs/verifying-webhooks",
        vector: "published: modern-treasury-node tests",
        ..ROW
    },
    Provider {
        name: "mongodb",
        title: "MongoDB Atlas",
        spec: body(SHA1, B64, hdr("x-mms-signature", "")),
        replay: Replay::None("the body's `id` is the alert's, the same across its open/update/close notifications"),
        docs: "https://www.mongodb.com/docs/atlas/tutorial/webhook-integration/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "microsoft-teams",
        title: "Microsoft Teams outgoing webhooks",
        spec: Spec { key: KeyFmt::Base64, ..body(SHA256, B64, hdr("authorization", "HMAC ")) },
        replay: Replay::Signature("the signed body holds the activity `id`"),
        queueing: Queueing::NeedsAppAnswer("Teams posts the app's response into the channel (due within 5 s)"),
        docs: "https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-outgoing-webhook",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "pusher",
        title: "Pusher Channels",
        spec: body(SHA256, Hex, hdr("x-pusher-signature", "")),
        replay: Replay::None("no delivery id is documented and two real deliveries can carry identical bodies"),
        docs: "https://pusher.com/docs/channels/server_api/webhooks/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "signal-sciences",
        title: "Fastly Next-Gen WAF (Signal Sciences)",
        spec: body(SHA256, Hex, hdr("x-sigsci-signature", "")),
        replay: Replay::None("no delivery id is documented and two real deliveries can carry identical bodies"),
        docs: "https://docs.fastly.com/signalsciences/integrations/generic-webhooks/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "sonatype-nexus",
        title: "Sonatype Nexus Repository",
        spec: body(SHA1, Hex, hdr("x-nexus-webhook-signature", "")),
        replay: Replay::Header("x-nexus-webhook-delivery", "unique per delivery"),
        docs: "https://help.sonatype.com/en/enabling-a-repository-webhook-capability.html",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "trendmicro-conformity",
        title: "Trend Micro Cloud One Conformity",
        spec: body(SHA256, Hex, hdr("x-conformity-signature", "")),
        replay: Replay::None("no delivery id is documented and two real deliveries can carry identical bodies"),
        docs: "https://cloudone.trendmicro.com/docs/conformity/webhook-communication/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "twitter",
        title: "X (Twitter) Account Activity",
        aliases: &["x"],
        spec: body(SHA256, B64, hdr("x-twitter-webhooks-signature", "sha256=")),
        replay: Replay::Signature("each signed event carries its own ids (tweet, message, user event ids)"),
        handshake: Some(Handshake::TwitterCrc),
        docs: "https://docs.x.com/x-api/webhooks/quickstart",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "webex",
        title: "Webex",
        spec: body(SHA1, Hex, hdr("x-spark-signature", "")),
        replay: Replay::None("the body's `id` is the webhook's: distinct deliveries can be identical"),
        docs: "https://developer.webex.com/blog/using-a-webhook-secret",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "worldline",
        title: "Worldline Connect",
        spec: body(SHA256, B64, hdr("x-gcs-signature", "")),
        replay: Replay::Signature("the signed body holds the event `id`"),
        handshake: Some(Handshake::HeaderEcho("x-gcs-webhooks-endpoint-verification")),
        docs: "https://docs.connect.worldline-solutions.com/documentation/webhooks/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "clickup",
        title: "ClickUp",
        spec: body(SHA256, Hex, hdr("x-signature", "")),
        replay: Replay::None("the body holds only the webhook id and event: no per-delivery id"),
        docs: "https://developer.clickup.com/docs/webhooksignature",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "salesforce-mc",
        title: "Salesforce Marketing Cloud (ENS)",
        spec: body(SHA256, B64, hdr("x-sfmc-ens-signature", "")),
        replay: Replay::None("no delivery id is documented and two real deliveries can carry identical bodies"),
        docs: "https://developer.salesforce.com/docs/marketing/marketing-cloud/guide/ens-notification-signing.html",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "bill",
        title: "BILL",
        spec: body(SHA256, B64, hdr("x-bill-sha-signature", "")),
        replay: Replay::None("no delivery id is documented and two real deliveries can carry identical bodies"),
        docs: "https://developer.bill.com/docs/bill-webhook-api-general-rules",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "easypost",
        title: "EasyPost",
        spec: body(SHA256, Hex, hdr("x-hmac-signature", "hmac-sha256-hex=")),
        replay: Replay::Signature("the signed body holds the event `id`"),
        docs: "https://docs.easypost.com/guides/webhooks-guide#hmac-validation",
        vector: "sdk: easypost util.validate_webhook",
        ..ROW
    },
    Provider {
        name: "loop-returns",
        title: "Loop Returns",
        spec: body(SHA256, B64, hdr("x-loop-signature", "")),
        replay: Replay::None("no delivery id is documented and two real deliveries can carry identical bodies"),
        docs: "https://docs.loopreturns.com/webhook-reference/validation",
        vector: "recomputed from the Loop docs",
        ..ROW
    },
    Provider {
        name: "notion",
        title: "Notion",
        spec: body(SHA256, Hex, hdr("x-notion-signature", "sha256=")),
        replay: Replay::Signature("the signed body holds the event `id`"),
        docs: "https://developers.notion.com/reference/webhooks#step-3-validating-event-payloads-recommended",
        vector: "sdk: @notionhq/client signWebhookPayload",
        ..ROW
    },
    Provider {
        name: "grafana",
        title: "Grafana Alerting",
        spec: body(SHA256, Hex, hdr("x-grafana-alerting-signature", "")),
        replay: Replay::None("the body's `groupKey` and alert fingerprints repeat across notifications"),
        docs: "https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/",
        vector: "recomputed from grafana/alerting http/hmac.go",
        ..ROW
    },
    Provider {
        name: "box",
        title: "Box",
        spec: Spec { enc: B64, ..timed(Sig::Each { names: "box-signature-primary,box-signature-secondary" }, ts_hdr("box-delivery-timestamp", TsFmt::Rfc3339), "{body}{timestamp}") },
        tol: Tol { secs: 600, provider: "box-sdk-gen 600 s old, none from the future" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the event `id`"),
        docs: "https://developer.box.com/guides/webhooks/v2/signatures-v2/",
        vector: "published: Box docs / box-sdk-gen tests",
        ..ROW
    },
    Provider {
        name: "frameio",
        title: "Frame.io",
        spec: timed(hdr("x-frameio-signature", "v0="), ts_hdr("x-frameio-request-timestamp", TsFmt::Unix), "v0:{timestamp}:{body}"),
        tol: Tol { secs: 300, provider: "docs: 5 min" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the resource id"),
        docs: "https://developer.frame.io/docs/automations-webhooks/webhooks-overview",
        vector: "recomputed from the Frame.io docs sample",
        ..ROW
    },
    Provider {
        name: "go1",
        title: "Go1",
        spec: t_v1("go1-signature"),
        tol: Tol { secs: 300, provider: "@go1/webhook-verifier-js 60 s, past only" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the event `id`"),
        docs: "https://www.go1.com/developers/partners/concepts/webhook-signature-authentification",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "orb",
        title: "Orb",
        // One `v1=` signature per active secret, space-separated, while a secret rotates.
        spec: timed(Sig::List { name: "x-orb-signature", sep: ' ', prefix: "v1=" }, ts_hdr("x-orb-timestamp", TsFmt::Rfc3339), "v1:{timestamp}:{body}"),
        tol: Tol { secs: 300, provider: "orb SDKs ±300 s" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the event `id`"),
        docs: "https://docs.withorb.com/guides/integrations-and-exports/webhooks",
        vector: "published: orb-python tests",
        ..ROW
    },
    Provider {
        name: "pinwheel",
        title: "Pinwheel",
        spec: timed(hdr("x-pinwheel-signature", "v2="), ts_hdr("x-timestamp", TsFmt::Unix), "v2:{timestamp}:{body}"),
        replay: Replay::Signature("the signed bytes hold the timestamp and the event payload ids"),
        docs: "https://docs.pinwheelapi.com/docs/webhook-signature-verification",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "tiktok",
        title: "TikTok",
        spec: Spec { sig: pairs("tiktok-signature", ',', "s", "t"), ..t_v1("tiktok-signature") },
        tol: Tol { secs: 300, provider: "docs: receiver's choice" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the event's ids"),
        docs: "https://developers.tiktok.com/doc/webhooks-verification",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "zendesk",
        title: "Zendesk",
        spec: Spec { enc: B64, ..timed(hdr("x-zendesk-webhook-signature", ""), ts_hdr("x-zendesk-webhook-signature-timestamp", TsFmt::Rfc3339), "{timestamp}{body}") },
        tol: Tol { secs: 300, provider: "not specified" },
        replay: Replay::None("bodies are user-defined templates that can repeat within one second"),
        docs: "https://developer.zendesk.com/documentation/webhooks/verifying/",
        vector: "computed from the current Zendesk docs formula",
        ..ROW
    },
    Provider {
        name: "webflow",
        title: "Webflow",
        spec: timed(hdr("x-webflow-signature", ""), ts_hdr("x-webflow-timestamp", TsFmt::UnixMs), "{timestamp}:{body}"),
        tol: Tol { secs: 300, provider: "docs: 5 min; webflow-api: none" },
        replay: Replay::Signature("the signed bytes hold the timestamp (ms) and the trigger payload"),
        docs: "https://developers.webflow.com/data/docs/working-with-webhooks",
        vector: "sdk: webflow-api webhooks.verifySignature",
        ..ROW
    },
    Provider {
        name: "customerio",
        title: "Customer.io reporting webhooks",
        spec: timed(hdr("x-cio-signature", ""), ts_hdr("x-cio-timestamp", TsFmt::Unix), "v0:{timestamp}:{body}"),
        tol: Tol { secs: 300, provider: "customerio-node: none" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the `event_id`"),
        docs: "https://docs.customer.io/api/webhooks/",
        vector: "derived from the documented scheme (customerio-node verifyRequestSignature, not run by `make vectors`)",
        ..ROW
    },
    Provider {
        name: "sanity",
        title: "Sanity",
        spec: Spec { enc: Enc::Base64Url, ts: Ts::Pair { fmt: TsFmt::UnixMs }, ..t_v1("sanity-webhook-signature") },
        tol: Tol { secs: 300, provider: "@sanity/webhook: none" },
        replay: Replay::Signature("the signed bytes hold the timestamp (ms) and the document revision"),
        docs: "https://www.sanity.io/docs/webhooks",
        vector: "sdk: @sanity/webhook encodeSignatureHeader",
        ..ROW
    },
    Provider {
        name: "tailscale",
        title: "Tailscale",
        spec: t_v1("tailscale-webhook-signature"),
        tol: Tol { secs: 300, provider: "docs: 5 min" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the events' timestamps"),
        docs: "https://tailscale.com/kb/1213/webhooks",
        vector: "recomputed from the Tailscale docs example",
        ..ROW
    },
    Provider {
        name: "elevenlabs",
        title: "ElevenLabs",
        spec: Spec { sig: pairs("elevenlabs-signature", ',', "v0", "t"), ..t_v1("elevenlabs-signature") },
        tol: Tol { secs: 1800, provider: "elevenlabs SDK 1800 s, past only" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the event payload"),
        docs: "https://elevenlabs.io/docs/product-guides/administration/webhooks",
        vector: "sdk: elevenlabs webhooks.construct_event",
        ..ROW
    },
    Provider {
        name: "justifi",
        title: "JustiFi",
        spec: timed(hdr("justifi-signature", ""), ts_hdr("justifi-timestamp", TsFmt::Rfc3339), "{timestamp}.{body}"),
        tol: Tol { secs: 300, provider: "not specified" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the event `id`"),
        docs: "https://docs.justifi.tech/api-spec#section/Webhooks",
        vector: "recomputed from the JustiFi docs",
        ..ROW
    },
    Provider {
        name: "telnyx",
        title: "Telnyx",
        spec: Spec { alg: Alg::Ed25519, enc: B64, key: KeyFmt::Ed25519, ..timed(hdr("telnyx-signature-ed25519", ""), ts_hdr("telnyx-timestamp", TsFmt::Unix), "{timestamp}|{body}") },
        tol: Tol { secs: 300, provider: "telnyx SDK ±300 s" },
        replay: Replay::Signature("the signed bytes hold the timestamp and the event `id`"),
        docs: "https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks",
        vector: "sdk: telnyx TelnyxWebhook.verify",
        ..ROW
    },
    Provider {
        name: "brex",
        title: "Brex",
        spec: Spec { key: KeyFmt::RawAndBase64, ..STANDARD },
        tol: Tol { secs: 300, provider: "Standard Webhooks ±300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://developer.brex.com/docs/webhooks/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "render",
        title: "Render",
        spec: STANDARD,
        tol: Tol { secs: 300, provider: "standardwebhooks ±300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://render.com/docs/webhooks",
        vector: "sdk: standardwebhooks Webhook.sign (Render's documented verifier)",
        ..ROW
    },
    Provider {
        name: "lithic",
        title: "Lithic",
        spec: STANDARD,
        tol: Tol { secs: 300, provider: "lithic SDK ±300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://docs.lithic.com/docs/events-api#verifying-webhooks",
        vector: "sdk: lithic webhooks.verify_signature",
        ..ROW
    },
    Provider {
        name: "increase",
        title: "Increase",
        spec: Spec { key: KeyFmt::Raw, ..STANDARD },
        tol: Tol { secs: 300, provider: "increase SDK ±300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://increase.com/documentation/webhooks",
        vector: "sdk: increase events.unwrap (raw UTF-8 key)",
        ..ROW
    },
    Provider {
        name: "dodo-payments",
        title: "Dodo Payments",
        spec: STANDARD,
        tol: Tol { secs: 300, provider: "standardwebhooks ±300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://docs.dodopayments.com/developer-resources/webhooks",
        vector: "sdk: standardwebhooks Webhook.sign (Dodo's SDK delegates to it)",
        ..ROW
    },
    Provider {
        name: "imagekit",
        title: "ImageKit",
        spec: Spec { key: KeyFmt::Raw, ..STANDARD },
        tol: Tol { secs: 300, provider: "imagekitio ±300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://imagekit.io/docs/webhooks",
        vector: "sdk: imagekitio webhooks.unwrap (raw UTF-8 key)",
        ..ROW
    },
    Provider {
        name: "liveblocks",
        title: "Liveblocks",
        spec: STANDARD,
        tol: Tol { secs: 300, provider: "@liveblocks/node ±300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://liveblocks.io/docs/platform/webhooks",
        vector: "sdk: @liveblocks/node WebhookHandler.verifyRequest",
        ..ROW
    },
    Provider {
        name: "finch",
        title: "Finch",
        spec: Spec { key: KeyFmt::Base64, sig: Sig::List { name: "finch-signature", sep: ' ', prefix: "v1," }, ts: ts_hdr("finch-timestamp", TsFmt::Unix), content: "{header:finch-event-id}.{timestamp}.{body}", ..STANDARD },
        tol: Tol { secs: 300, provider: "finch-api ±300 s" },
        replay: Replay::SignedHeader("finch-event-id", "signed, unique per event and kept on retries"),
        docs: "https://developer.tryfinch.com/developer-resources/Webhooks",
        vector: "sdk: finch-api webhooks.verify_signature",
        ..ROW
    },
    Provider {
        name: "cloudflare",
        title: "Cloudflare notifications",
        spec: token("cf-webhook-auth"),
        replay: TOKEN_REPLAY,
        docs: "https://developers.cloudflare.com/notifications/get-started/configure-webhooks/",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "clover",
        title: "Clover",
        spec: token("x-clover-auth"),
        replay: TOKEN_REPLAY,
        docs: "https://docs.clover.com/docs/webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "chargebee",
        title: "Chargebee (HTTP Basic)",
        spec: BASIC,
        replay: BASIC_REPLAY,
        docs: "https://www.chargebee.com/docs/2.0/webhook_settings.html",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "vmware-workspace",
        title: "Omnissa / VMware Workspace ONE (HTTP Basic)",
        spec: BASIC,
        replay: BASIC_REPLAY,
        docs: "https://docs.omnissa.com/bundle/WorkspaceONE-UEM-Console-BasicsVSaaS/page/EventNotifications.html",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "brevo",
        title: "Brevo (HTTP Basic)",
        spec: BASIC,
        replay: BASIC_REPLAY,
        docs: "https://developers.brevo.com/docs/secured-webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "netlify",
        title: "Netlify",
        spec: jwt("x-webhook-signature", "", Some(("sha256", Hex))),
        tol: Tol { secs: 300, provider: "no time claim documented" },
        replay: Replay::Signature("the JWT signature covers the body hash and its claims"),
        docs: "https://docs.netlify.com/site-deploys/notifications/#payload-signature",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "livekit",
        title: "LiveKit",
        spec: jwt("authorization", "", Some(("sha256", B64))),
        tol: Tol { secs: 300, provider: "livekit-server-sdk: exp" },
        replay: Replay::Signature("the JWT signature covers the body hash and `exp`"),
        docs: "https://docs.livekit.io/home/server/webhooks/",
        vector: "sdk: livekit-server-sdk WebhookReceiver.receive",
        ..ROW
    },
    Provider {
        name: "vonage",
        title: "Vonage (signed webhooks)",
        spec: jwt("authorization", "Bearer ", Some(("payload_hash", Hex))),
        tol: Tol { secs: 300, provider: "docs: iat within 5 min" },
        replay: Replay::Signature("the JWT signature covers the body hash, `iat` and `jti`"),
        docs: "https://developer.vonage.com/en/getting-started/concepts/webhooks#validating-signed-webhooks",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "monday",
        title: "monday.com",
        spec: jwt("authorization", "", None),
        tol: Tol { secs: 300, provider: "JWT exp" },
        replay: Replay::None("the JWT does not cover the body and carries no delivery id"),
        handshake: Some(Handshake::JsonChallenge),
        docs: "https://developer.monday.com/apps/docs/authorization-header",
        vector: "derived from the documented scheme",
        ..ROW
    },
    Provider {
        name: "mailgun",
        title: "Mailgun",
        spec: Spec { sig: Sig::Body { path: "signature.signature" }, ts: Ts::Body { path: "signature.timestamp", fmt: TsFmt::Unix }, content: "{field:signature.timestamp}{field:signature.token}", ..body(SHA256, Hex, Sig::Basic) },
        tol: Tol { secs: 300, provider: "docs: reject stale timestamps" },
        replay: Replay::Signature("the signature covers `signature.token`, random per delivery; it is the only thing tying the unsigned `event-data` to one delivery"),
        docs: "https://documentation.mailgun.com/docs/mailgun/user-manual/tracking-messages/#securing-webhooks",
        vector: "dedicated test: vectors::mailgun_signature_inside_the_body",
        ..ROW
    },
    Provider {
        name: "amazon-sns",
        title: "Amazon SNS",
        aliases: &["sns"],
        spec: Spec {
            alg: Alg::RsaSha1,
            enc: B64,
            sig: Sig::Body { path: "Signature" },
            ts: Ts::None,
            content: "{sns}",
            key: KeyFmt::Remote,
            alg_switch: None,
            remote: Some(RemoteCert {
                url_from: "body:SigningCertURL",
                hosts: &["sns.*.amazonaws.com", "sns.*.amazonaws.com.cn"],
            }),
        },
        replay: Replay::Signature("the signed string holds the `MessageId`, kept on SNS's retries (which resend the same signed message)"),
        handshake: Some(Handshake::SnsSubscribe),
        docs: "https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html",
        vector: "dedicated test: remote::sns_* (test certificate over loopback HTTPS)",
        ..ROW
    },
    Provider {
        name: "paypal",
        title: "PayPal",
        spec: Spec {
            alg: Alg::RsaSha256,
            enc: B64,
            sig: Sig::Header { name: "paypal-transmission-sig", prefix: "" },
            ts: Ts::None,
            content: "{header:paypal-transmission-id}|{header:paypal-transmission-time}|{config:webhook_id}|{crc32:body}",
            key: KeyFmt::Remote,
            alg_switch: Some(AlgSwitch {
                header: "paypal-auth-algo",
                key: "",
                choices: &[("SHA256withRSA", Alg::RsaSha256), ("SHA1withRSA", Alg::RsaSha1)],
            }),
            remote: Some(RemoteCert {
                url_from: "paypal-cert-url",
                hosts: &["api.paypal.com", "api.sandbox.paypal.com", "api-m.paypal.com", "api-m.sandbox.paypal.com"],
            }),
        },
        replay: Replay::SignedHeader("paypal-transmission-id", "signed, unique per transmission"),
        docs: "https://developer.paypal.com/api/rest/webhooks/rest/#link-selfverificationmethod",
        vector: "dedicated test: remote::paypal_* (test certificate over loopback HTTPS)",
        ..ROW
    },
    Provider {
        name: "plaid",
        title: "Plaid",
        spec: Spec {
            alg: Alg::JwtEs256,
            key: KeyFmt::Jwk,
            ..jwt("plaid-verification", "", Some(("request_body_sha256", Hex)))
        },
        tol: Tol { secs: 300, provider: "docs: iat within 5 min" },
        replay: Replay::Signature("the JWT signature covers the body hash and `iat`"),
        docs: "https://plaid.com/docs/api/webhooks/webhook-verification/",
        vector: "dedicated test: jwt::plaid_es256_binds_the_body",
        ..ROW
    },
    Provider {
        name: "microsoft-graph",
        title: "Microsoft Graph change notifications",
        spec: Spec {
            alg: Alg::Token,
            sig: Sig::Body { path: "value.*.clientState" },
            content: "",
            ..body(Alg::Token, Hex, Sig::Basic)
        },
        replay: Replay::None("clientState is the same on every notification and nothing else is signed"),
        handshake: Some(Handshake::QueryEcho("validationToken")),
        docs: "https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks",
        vector: "dedicated test: handshakes::microsoft_graph_validation_and_client_state",
        ..ROW
    },
];

/// A preset by name or alias.
pub fn find(name: &str) -> Option<&'static Provider> {
    PROVIDERS
        .iter()
        .find(|p| p.name == name || p.aliases.contains(&name))
}
