#!/usr/bin/env python3
"""`hookgate sign` output must be accepted by the providers' own SDKs.

Run by `make vectors` with the built binary: writes a config with one route
per checked preset, asks `hookgate sign` for the headers of a few bodies and
hands them to each SDK's verifier. Exits non-zero on any refusal.
"""
import os
import subprocess
import sys
import tempfile

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLACK = "8f742231b10e8888abcd99yyyzzz85a5"
TWILIO = "twilio-auth-token"
BODIES = ['{"id":"evt_1"}', '{"name":"Zo\u00eb \u2713 \U0001F600"}']
CONFIG = f"""
[admin]
listen = "127.0.0.1:19901"
[[listener]]
name = "l"
listen = "127.0.0.1:18080"
[[route]]
name = "sw"
path_prefix = "/sw"
upstreams = ["127.0.0.1:9"]
[route.verify]
scheme = "standard-webhooks"
secrets = ["{WHSEC}"]
[[route]]
name = "svix"
path_prefix = "/svix"
upstreams = ["127.0.0.1:9"]
[route.verify]
scheme = "svix"
secrets = ["{WHSEC}"]
[[route]]
name = "slack"
path_prefix = "/slack"
upstreams = ["127.0.0.1:9"]
[route.verify]
scheme = "slack"
secrets = ["{SLACK}"]
[[route]]
name = "twilio"
path_prefix = "/twilio"
upstreams = ["127.0.0.1:9"]
[route.verify]
scheme = "twilio"
secrets = ["{TWILIO}"]
public_url = "https://hooks.example.com"
""" + "".join(f"""
[[route]]
name = "{name}"
path_prefix = "/{name}"
upstreams = ["127.0.0.1:9"]
[route.verify]
scheme = "{scheme}"
secrets = [{", ".join(f'"{x}"' for x in secrets)}]
""" for name, scheme, secrets in [
    ("stripe", "stripe", ["whsec_stripe_test_secret"]),
    ("paddle", "paddle", ["pdl_ntfset_secret"]),
    ("lithic", "lithic", [WHSEC]),
    ("openai", "openai", [WHSEC]),
    ("increase", "increase", ["increase-raw-secret"]),
    ("imagekit", "imagekit", ["imagekit-raw-secret"]),
    ("finch", "finch", ["MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="]),
    ("elevenlabs", "elevenlabs", ["wsec_elevenlabs"]),
    ("easypost", "easypost", ["easypost-secret"]),
    ("orb", "orb", ["orb-secret"]),
    ("box", "box", ["box-primary", "box-secondary"]),
])


def sign(binary, config, route, body, extra=()):
    with tempfile.NamedTemporaryFile("wb", delete=False) as f:
        f.write(body.encode())
    args = [binary, "sign", "-c", config, "--route", route, "--body", f.name]
    for h in extra:
        args += ["-H", h]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    os.unlink(f.name)
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def main(binary):
    from slack_sdk.signature import SignatureVerifier
    from standardwebhooks.webhooks import Webhook as StandardWebhook
    from svix.webhooks import Webhook as SvixWebhook
    from twilio.request_validator import RequestValidator

    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(CONFIG)
        config = f.name
    checked = 0
    for body in BODIES:
        h = sign(binary, config, "sw", body)
        StandardWebhook(WHSEC).verify(body, h)
        h = sign(binary, config, "svix", body)
        SvixWebhook(WHSEC).verify(body, h)
        h = sign(binary, config, "slack", body)
        assert SignatureVerifier(SLACK).is_valid_request(body, h), "slack_sdk refused hookgate's signature"
        checked += 3
    form = "CallSid=CA1&Body=caf%C3%A9"
    h = sign(binary, config, "twilio", form, ["Content-Type: application/x-www-form-urlencoded"])
    params = {"CallSid": "CA1", "Body": "caf\u00e9"}
    assert RequestValidator(TWILIO).validate("https://hooks.example.com/twilio", params, h["x-twilio-signature"]), \
        "twilio refused hookgate's signature"
    checked += 1
    checked += more_sdks(binary, config)
    os.unlink(config)
    print(f"hookgate sign: {checked} signatures accepted by the SDKs")


def more_sdks(binary, config):
    """Every other PyPI SDK that can verify a preset `hookgate sign` signs."""
    import stripe
    import lithic
    import increase
    import imagekitio
    import finch
    import orb
    import openai
    from paddle_billing.Notifications import Secret, Verifier
    from elevenlabs.webhooks_custom import WebhooksClient
    from easypost.util import validate_webhook
    from box_sdk_gen.managers.webhooks import WebhooksManager

    class Req:
        def __init__(self, body, headers):
            self.body, self.headers = body.encode(), headers

    checks = {
        "stripe": lambda b, h: stripe.WebhookSignature.verify_header(b, h["stripe-signature"], "whsec_stripe_test_secret", 300),
        "paddle": lambda b, h: Verifier().verify(Req(b, {"Paddle-Signature": h["paddle-signature"]}), Secret("pdl_ntfset_secret")) or _fail("paddle"),
        "lithic": lambda b, h: lithic.Lithic(api_key="x").webhooks.verify_signature(b, h, secret=WHSEC),
        "openai": lambda b, h: openai.OpenAI(api_key="x").webhooks.verify_signature(b, h, secret=WHSEC),
        "increase": lambda b, h: increase.Increase(api_key="x", webhook_secret="increase-raw-secret").events.unwrap(b, headers=h),
        "imagekit": lambda b, h: imagekitio.ImageKit(private_key="x", webhook_secret="imagekit-raw-secret").webhooks.unwrap(b, headers=h),
        "finch": lambda b, h: finch.Finch(access_token="x").webhooks.verify_signature(b, h, secret="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        "elevenlabs": lambda b, h: WebhooksClient.__new__(WebhooksClient).construct_event(b, h["elevenlabs-signature"], "wsec_elevenlabs"),
        "easypost": lambda b, h: validate_webhook(b.encode(), {"X-Hmac-Signature": h["x-hmac-signature"]}, "easypost-secret"),
        "orb": lambda b, h: orb.Orb(api_key="x").webhooks.verify_signature(b, h, secret="orb-secret"),
        "box": lambda b, h: WebhooksManager.validate_message(b, {**h, "box-signature-version": "1", "box-signature-algorithm": "HmacSHA256"}, "box-primary", secondary_key="box-secondary") or _fail("box"),
    }
    n = 0
    for route, verify in checks.items():
        for body in BODIES:
            try:
                verify(body, sign(binary, config, route, body))
            except Exception as e:
                raise SystemExit(f"{route}: the SDK refused hookgate's signature: {e!r}")
            n += 1
    return n


def _fail(what):
    raise AssertionError(f"{what} refused hookgate's signature")


if __name__ == "__main__":
    main(sys.argv[1])
