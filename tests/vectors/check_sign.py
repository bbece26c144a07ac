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
listen = "127.0.0.1:0"
[[listener]]
name = "l"
listen = "127.0.0.1:0"
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
"""


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
    os.unlink(config)
    print(f"hookgate sign: {checked} signatures accepted by standardwebhooks, svix, slack_sdk, twilio")


if __name__ == "__main__":
    main(sys.argv[1])
