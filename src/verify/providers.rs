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
    Alg, AlgSwitch, Enc, Handshake, KeyFmt, Provider, Replay, Sig, Spec, Tol, Ts, TsFmt,
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
        vector: "derived; stripe (npm) generateTestHeaderString",
        ..ROW
    },
    Provider {
        name: "slack",
        title: "Slack",
        spec: timed(hdr("x-slack-signature", "v0="), ts_hdr("x-slack-request-timestamp", TsFmt::Unix), "v0:{timestamp}:{body}"),
        tol: Tol { secs: 300, provider: "slack_sdk 300 s, both ways" },
        replay: Replay::Signature("the signed bytes hold the timestamp and a per-request id (`event_id`, `trigger_id`)"),
        handshake: Some(Handshake::SlackChallenge),
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
        vector: "derived (svix-server v1a shape)",
        ..ROW
    },
    Provider {
        name: "polar",
        title: "Polar (Standard Webhooks)",
        spec: Spec { key: KeyFmt::RawAndBase64, ..STANDARD },
        tol: Tol { secs: 300, provider: "standardwebhooks ±300 s" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://docs.polar.sh/integrate/webhooks/delivery",
        vector: "derived: raw `polar_whs_` secret as the @polar-sh/sdk keys it",
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
        docs: "https://www.twilio.com/docs/usage/security#validating-requests",
        vector: "published: twilio-python tests (form, multi-value, JSON)",
        ..ROW
    },
    Provider {
        name: "mandrill",
        title: "Mailchimp Transactional (Mandrill)",
        spec: Spec { alg_switch: None, ..body(SHA1, B64, hdr("x-mandrill-signature", "")) },
        replay: Replay::Signature("each event in `mandrill_events` has its own `_id` and `ts`"),
        docs: "https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/#authenticating-webhook-requests",
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
        docs: "https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers",
        vector: "derived with the RFC 8032 test key",
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
        tol: Tol { secs: 300, provider: "SDKs 5 s, past only" },
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
        vector: "derived; @linear/sdk LinearWebhookClient",
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
        tol: Tol { secs: 600, provider: "Twitch docs: older than 10 min is a replay" },
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
        vector: "derived; @hubspot/api-client Signature",
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
        vector: "derived; @mux/mux-node verifySignature",
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
        vector: "derived from the documented scheme",
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
        tol: Tol { secs: 300, provider: "@workos-inc/node 180 s" },
        replay: Replay::Signature("the signed bytes hold the timestamp (ms) and the event `id`"),
        docs: "https://workos.com/docs/events/data-syncing/webhooks/3-process-the-events/b-validate-the-requests-manually",
        vector: "derived from the documented scheme",
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
        vector: "derived (Standard Webhooks scheme)",
        ..ROW
    },
    Provider {
        name: "replicate",
        title: "Replicate (Standard Webhooks)",
        spec: STANDARD,
        tol: Tol { secs: 300, provider: "docs: receiver's choice" },
        replay: Replay::SignedHeader("webhook-id", "signed, unique per message and kept on retries"),
        docs: "https://replicate.com/docs/topics/webhooks/verify-webhook",
        vector: "derived (Standard Webhooks scheme)",
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
];

/// A preset by name or alias.
pub fn find(name: &str) -> Option<&'static Provider> {
    PROVIDERS
        .iter()
        .find(|p| p.name == name || p.aliases.contains(&name))
}
