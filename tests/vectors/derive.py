#!/usr/bin/env python3
"""Derived vectors: each row's documented scheme computed by a second,
independent implementation (Python's stdlib hmac/hashlib/base64), for every
preset that has no published or SDK-signed vector.

Reads tests/fixtures/rows.json (generated from the Rust table), writes
tests/fixtures/derived-vectors.json. Run by `make vectors`; needs no SDK.
Rows using a family this script does not implement (Ed25519, ECDSA, RSA,
signatures inside the body) are skipped: their vectors come from elsewhere.
"""
import base64
import hashlib
import hmac
import json
import re
import sys
from urllib.parse import parse_qsl, urlencode
from datetime import datetime, timezone

TS = 1700000000
URL = "https://hooks.example.com/hook"
FORM_BODIES = [urlencode({"mandrill_events": '[{"event":"send","_id":"d1","msg":{"subject":"caf\u00e9 \u2713"}}]'}),
               urlencode([("b", "2"), ("a", "z\u00e9"), ("a", "y")])]
BODIES = ['{"id":"evt_derived_1","text":"caf\u00e9 \u2713 \U0001F600"}', '{"events":[]}\r\n']
HASHES = {"hmac-sha1": hashlib.sha1, "hmac-sha256": hashlib.sha256, "hmac-sha512": hashlib.sha512,
          "jwt-hs256": hashlib.sha256}


def encode(enc, raw):
    if enc == "hex":
        return raw.hex()
    if enc == "base64":
        return base64.b64encode(raw).decode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def secret_and_key(fmt):
    if fmt == "Base64":
        raw = bytes(range(32))
        return base64.b64encode(raw).decode(), raw
    if fmt == "Hex":
        raw = bytes(range(32))
        return raw.hex(), raw
    if fmt == "Whsec":
        raw = bytes(range(24))
        return "whsec_" + base64.b64encode(raw).decode(), raw
    secret = "derived-secret-\u00e9"
    return secret, secret.encode()


def timestamp(fmt):
    if fmt == "unix":
        return str(TS)
    if fmt == "unix-ms":
        return str(TS * 1000)
    return datetime.fromtimestamp(TS, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def content(template, body, ts, headers):
    out = b""
    for lit, name in re.findall(r"([^{]*)(?:\{([^}]*)\})?", template):
        out += lit.encode()
        if not name:
            continue
        if name == "body":
            out += body.encode()
        elif name == "timestamp":
            out += ts.encode()
        elif name.startswith("header:"):
            header = name[7:].split("|")[0]
            headers.setdefault(header, "msg_derived_1")
            out += headers[header].encode()
        elif name == "method":
            out += b"POST"
        elif name == "url":
            out += URL.encode()
        elif name == "form:sorted":
            # Every parameter as name + value, sorted by name then value.
            for k, v in sorted(parse_qsl(body, keep_blank_values=True)):
                out += (k + v).encode()
        else:
            return None  # a builder this script does not implement
    return out


def jwt(key, body, body_hash):
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    claims = {"iat": TS, "exp": TS + 300}
    if body_hash:
        claim, enc = body_hash
        claims[claim] = encode(enc, hashlib.sha256(body.encode()).digest())
    signed = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    return signed + "." + b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())


def derive(row, body):
    sig, ts_spec, alg = row["sig"], row["ts"], row["alg"]
    secret, key = secret_and_key(row["key"])
    headers = {}
    if sig["kind"] == "token":
        return secret, {sig["name"].split("|")[0]: sig["prefix"] + secret}
    if sig["kind"] == "basic":
        cred = "hook:pa55"
        return cred, {"authorization": "Basic " + base64.b64encode(cred.encode()).decode()}
    if sig["kind"] == "jwt" and alg == "jwt-hs256":
        return secret, {sig["name"]: sig["prefix"] + jwt(key, body, sig["body_hash"])}
    if alg not in HASHES or row["alg_switch"] or sig["kind"] in ("body", "jwt"):
        return None
    ts = timestamp(ts_spec["fmt"]) if ts_spec else ""
    signed = content(row["content"], body, ts, headers)
    if signed is None:
        return None
    value = encode(row["enc"], hmac.new(key, signed, HASHES[alg]).digest())
    name = sig["name"].split("|")[0].split(",")[0].replace("*", "1")
    if sig["kind"] in ("header", "list"):
        headers[name] = sig["prefix"] + value
    elif sig["kind"] == "pairs":
        pair = f'{sig["key"]}={value}'
        headers[name] = f'{sig["ts_key"]}={ts}{sig["sep"]}{pair}' if sig["ts_key"] else pair
    else:
        headers[name] = value
    if ts_spec and ts_spec["kind"] == "header":
        headers[ts_spec["name"].split("|")[0]] = ts
    return secret, headers


def main(rows_path, out_path):
    rows = json.load(open(rows_path, encoding="utf-8"))["rows"]
    out = []
    for row in rows:
        if row["vector"].startswith(("published", "sdk")):
            continue
        bodies = BODIES
        if row["ts"] and row["ts"]["kind"] == "body":
            # The timestamp lives in the signed body (Linear).
            stamp = timestamp(row["ts"]["fmt"])
            bodies = [f'{{"{row["ts"]["path"]}":{stamp},"text":"caf\u00e9"}}']
        form = "{form:sorted}" in row["content"]
        for body in FORM_BODIES if form else bodies:
            got = derive(row, body)
            if got:
                secret, headers = got
                if form:
                    headers["content-type"] = "application/x-www-form-urlencoded"
                entry = {"provider": row["name"], "secret": secret, "body": body, "headers": headers,
                         "source": "derived: tests/vectors/derive.py (Python hmac) from the documented scheme"}
                if "{url}" in row["content"]:
                    entry["url"] = URL
                out.append(entry)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"about": __doc__.strip().splitlines()[0], "vectors": out}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(out)} derived vectors for {len({v['provider'] for v in out})} presets -> {out_path}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
