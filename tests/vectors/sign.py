#!/usr/bin/env python3
"""Sign a set of bodies with providers' own SDKs and write the committed
fixture tests/fixtures/sdk-vectors.json (run by `make vectors`, never by CI).

Where an SDK can only verify, the request is signed by hand and kept only
after the SDK accepted it (with its clock set to the fixture's time):
those entries say "accepted by" in `sdk_call`.

Each entry names the SDK and its version, the preset it is for, the secret,
the exact body (non-ASCII and form bodies included), the headers the SDK
produced, and the URL when the scheme signs one. `cargo test` checks every
entry against its preset, so CI needs no SDK.
"""
import base64
import hashlib
import hmac
import json
import sys
from datetime import datetime, timezone
from importlib.metadata import version

BODIES = [
    '{"id":"evt_1","type":"ping"}',
    '{"id":"evt_2","name":"Zo\u00eb \u2713 \u65e5\u672c \U0001F600","n":[1,2,3]}\r\n',
    "",
]
TS = 1700000000
MSG_ID = "msg_2bYqEuBRFs3q8uJc4kNXpDeaeJ7"
WHSEC = "whsec_" + base64.b64encode(bytes(range(24))).decode()
out = []


FROZEN = datetime.fromtimestamp(TS, tz=timezone.utc)
# The modules whose clock the verifiers read (`datetime.now`); time.time is patched too.
CLOCKS = ["standardwebhooks.webhooks", "finch.resources.webhooks", "orb.resources.webhooks.webhooks"]


def at_ts():
    """The verifiers' clock at the fixture's time (patched where they read it;
    a global freeze upsets the SDKs' pydantic models)."""
    import contextlib
    import importlib
    from unittest import mock

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return FROZEN if tz else FROZEN.replace(tzinfo=None)

    stack = contextlib.ExitStack()
    for name in CLOCKS:
        try:
            stack.enter_context(mock.patch.object(importlib.import_module(name), "datetime", Frozen))
        except ImportError:
            pass
    stack.enter_context(mock.patch("time.time", return_value=float(TS)))
    return stack


def sign_hmac(key, msg, enc="hex"):
    d = hmac.new(key if isinstance(key, bytes) else key.encode(), msg.encode(), hashlib.sha256).digest()
    return d.hex() if enc == "hex" else base64.b64encode(d).decode()


def add(sdk, provider, secret, body, headers, **extra):
    out.append({"sdk": f"{sdk} {version(sdk)}", "provider": provider, "secret": secret,
                "body": body, "headers": headers, **extra})


def standard_webhooks():
    from standardwebhooks.webhooks import Webhook
    when = datetime.fromtimestamp(TS, tz=timezone.utc)
    for body in BODIES:
        sig = Webhook(WHSEC).sign(MSG_ID, when, body)
        for provider in ["standard-webhooks", "openai", "render", "lithic", "dodo-payments", "liveblocks", "polar"]:
            add("standardwebhooks", provider, WHSEC, body,
                {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": sig})
        # D3: Polar's SDK keys the HMAC with the raw `polar_whs_` string, i.e.
        # standardwebhooks given base64 of its UTF-8 bytes.
        raw = "polar_whs_0123456789abcdefghijklmnopqrstuv"
        sig = Webhook(base64.b64encode(raw.encode()).decode()).sign(MSG_ID, when, body)
        add("standardwebhooks", "polar", raw, body,
            {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": sig})


def svix():
    from svix.webhooks import Webhook
    when = datetime.fromtimestamp(TS, tz=timezone.utc)
    for body in BODIES:
        sig = Webhook(WHSEC).sign(MSG_ID, when, body)
        for provider in ["svix", "clerk", "resend"]:
            add("svix", provider, WHSEC, body,
                {"svix-id": MSG_ID, "svix-timestamp": str(TS), "svix-signature": sig})
        # D10: white-labelled Svix senders use webhook-* names, which the Svix libraries accept.
        add("svix", "svix", WHSEC, body,
            {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": sig})


def slack():
    from slack_sdk.signature import SignatureVerifier
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    for body in BODIES + ["token=x&team_id=T1&text=caf%C3%A9+%E2%9C%93&command=%2Fhg"]:
        sig = SignatureVerifier(secret).generate_signature(timestamp=str(TS), body=body)
        add("slack_sdk", "slack", secret, body,
            {"X-Slack-Request-Timestamp": str(TS), "X-Slack-Signature": sig})


class MultiDict(dict):
    """The multi-valued form shape the SDK reads (as Flask's MultiDict)."""

    def getall(self, name):
        return self[name]


def twilio():
    from urllib.parse import urlencode
    from twilio.request_validator import RequestValidator
    token = "twilio-auth-token"
    url = "https://hooks.example.com/hooks/twilio?x=1"
    forms = [
        [("CallSid", "CA1"), ("Body", "caf\u00e9 \u2713"), ("From", "+14155550100")],
        [("Digits", "5678"), ("Digits", "1234"), ("Sid", "SM1")],
    ]
    for form in forms:
        params = MultiDict()
        for k, v in form:
            params.setdefault(k, []).append(v)
        for algorithm, settings in [(None, None), ("HMAC_SHA256", "key=sk_1,algorithm=HMAC_SHA256")]:
            sig = RequestValidator(token).compute_signature(url, params, algorithm)
            headers = {"X-Twilio-Signature": sig,
                       "Content-Type": "application/x-www-form-urlencoded"}
            if settings:
                headers["X-Twilio-Webhooks-Signature-Settings"] = settings
            add("twilio", "twilio", token, urlencode(form), headers, url=url)


def paddle():
    from paddle_billing.Notifications import PaddleSignature
    secret = "pdl_ntfset_test_secret"
    for body in BODIES:
        h1 = PaddleSignature.calculate_hmac(secret, f"{TS}:{body}".encode()).hexdigest()
        add("paddle-python-sdk", "paddle", secret, body, {"Paddle-Signature": f"ts={TS};h1={h1}"})


def std_accepted(pkg, provider, secret, sign_key, verify):
    """Standard Webhooks-shaped presets whose SDK verifies with its own key rules."""
    from standardwebhooks.webhooks import Webhook
    for body in BODIES[:2]:  # the SDKs parse the body as JSON once verified
        sig = Webhook(sign_key).sign(MSG_ID, FROZEN, body)
        headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(TS), "webhook-signature": sig}
        with at_ts():
            verify(body, dict(headers))
        add(pkg, provider, secret, body, headers, sdk_call="accepted by the SDK's verifier")


def lithic():
    import lithic as sdk
    client = sdk.Lithic(api_key="unused", webhook_secret=WHSEC)
    std_accepted("lithic", "lithic", WHSEC, WHSEC, lambda b, h: client.webhooks.verify_signature(b, h, secret=WHSEC))


def increase():
    import increase as sdk
    raw = "increase-raw-webhook-secret"
    client = sdk.Increase(api_key="unused", webhook_secret=raw)
    std_accepted("increase", "increase", raw, base64.b64encode(raw.encode()).decode(),
                 lambda b, h: client.events.unwrap(b, headers=h))


def imagekit():
    import imagekitio as sdk
    raw = "imagekit-raw-webhook-secret"
    client = sdk.ImageKit(private_key="unused", webhook_secret=raw)
    std_accepted("imagekitio", "imagekit", raw, base64.b64encode(raw.encode()).decode(),
                 lambda b, h: client.webhooks.unwrap(b, headers=h))


def finch():
    import finch as sdk
    secret = base64.b64encode(bytes(range(40, 72))).decode()
    client = sdk.Finch(access_token="unused", webhook_secret=secret)
    for body in BODIES[:2]:
        mac = hmac.new(base64.b64decode(secret), f"{MSG_ID}.{TS}.{body}".encode(), hashlib.sha256).digest()
        headers = {"finch-event-id": MSG_ID, "finch-timestamp": str(TS),
                   "finch-signature": "v1," + base64.b64encode(mac).decode()}
        with at_ts():
            client.webhooks.verify_signature(body, headers, secret=secret)
        add("finch-api", "finch", secret, body, headers, sdk_call="accepted by Webhooks.verify_signature")


def elevenlabs():
    from elevenlabs.webhooks_custom import WebhooksClient
    secret = "wsec_elevenlabs_secret"
    for body in BODIES[:2]:
        header = f"t={TS},v0={sign_hmac(secret, f'{TS}.{body}')}"
        with at_ts():
            WebhooksClient.__new__(WebhooksClient).construct_event(body, header, secret)
        add("elevenlabs", "elevenlabs", secret, body, {"ElevenLabs-Signature": header},
            sdk_call="accepted by webhooks.construct_event")


def easypost():
    from easypost.util import validate_webhook
    secret = "easypost-webhook-secret"
    for body in BODIES[:2]:
        headers = {"X-Hmac-Signature": "hmac-sha256-hex=" + sign_hmac(secret, body)}
        validate_webhook(body.encode(), headers, secret)
        add("easypost", "easypost", secret, body, headers, sdk_call="accepted by util.validate_webhook")


def orb():
    import orb as sdk
    secret = "orb-webhook-secret"
    client = sdk.Orb(api_key="unused", webhook_secret=secret)
    stamp = FROZEN.replace(tzinfo=None).isoformat(timespec="microseconds")
    for body in BODIES[:2]:
        sig = "v1=" + sign_hmac(secret, f"v1:{stamp}:{body}")
        # Two space-separated signatures, as Orb sends while a secret rotates.
        for value in [sig, f"v1={'0' * 64} {sig}"]:
            headers = {"X-Orb-Timestamp": stamp, "X-Orb-Signature": value}
            with at_ts():
                client.webhooks.verify_signature(body, headers, secret=secret)
            add("orb-billing", "orb", secret, body, headers, sdk_call="accepted by webhooks.verify_signature")


def box():
    from box_sdk_gen.managers.webhooks import WebhooksManager
    primary, secondary = "box-primary-key", "box-secondary-key"
    stamp = FROZEN.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    for body in BODIES[:2]:
        headers = {"box-delivery-timestamp": stamp, "box-signature-version": "1",
                   "box-signature-algorithm": "HmacSHA256",
                   "box-signature-primary": base64.b64encode(hmac.new(primary.encode(), (body + stamp).encode(), hashlib.sha256).digest()).decode(),
                   "box-signature-secondary": base64.b64encode(hmac.new(secondary.encode(), (body + stamp).encode(), hashlib.sha256).digest()).decode()}
        with at_ts():
            assert WebhooksManager.validate_message(body, headers, primary, secondary_key=secondary)
        add("box-sdk-gen", "box", primary, body, headers, sdk_call="accepted by WebhooksManager.validate_message")


def openai():
    import openai as sdk
    client = sdk.OpenAI(api_key="unused", webhook_secret=WHSEC)
    std_accepted("openai", "openai", WHSEC, WHSEC, lambda b, h: client.webhooks.verify_signature(b, h, secret=WHSEC))


def main(path):
    for signer in (standard_webhooks, svix, slack, twilio, paddle, lithic, increase, imagekit, finch,
                   elevenlabs, easypost, orb, box, openai):
        signer()
    doc = {"about": "Signed by the providers' own SDKs (tests/vectors/sign.py, `make vectors`).",
           "vectors": out}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(out)} vectors from {len({v['sdk'] for v in out})} SDKs -> {path}")


if __name__ == "__main__":
    main(sys.argv[1])
