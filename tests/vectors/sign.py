#!/usr/bin/env python3
"""Sign a set of bodies with providers' own SDKs and write the committed
fixture tests/fixtures/sdk-vectors.json (run by `make vectors`, never by CI).

Each entry names the SDK and its version, the preset it is for, the secret,
the exact body (non-ASCII and form bodies included), the headers the SDK
produced, and the URL when the scheme signs one. `cargo test` checks every
entry against its preset, so CI needs no SDK.
"""
import base64
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


def main(path):
    for signer in (standard_webhooks, svix, slack, twilio, paddle):
        signer()
    doc = {"about": "Signed by the providers' own SDKs (tests/vectors/sign.py, `make vectors`).",
           "vectors": out}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(out)} vectors from {len({v['sdk'] for v in out})} SDKs -> {path}")


if __name__ == "__main__":
    main(sys.argv[1])
