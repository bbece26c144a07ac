// Sign bodies with providers' npm SDKs and merge the result into the fixture
// written by sign.py (run by `make vectors`, never by CI).
import { readFileSync, writeFileSync } from "node:fs";
import Stripe from "stripe";
import { sign as octokitSign } from "@octokit/webhooks-methods";
import { encodeSignatureHeader } from "@sanity/webhook";

const pkgVersion = (dir) => JSON.parse(readFileSync(`${dir}/package.json`, "utf8")).version;

const BODIES = [
  '{"id":"evt_1","type":"ping"}',
  '{"id":"evt_2","name":"Zo\u00eb \u2713 \u65e5\u672c \u{1F600}","n":[1,2,3]}\r\n',
];
const TS = 1700000000;
const path = process.argv[2];
const doc = JSON.parse(readFileSync(path, "utf8"));
const out = doc.vectors;

const stripeVersion = pkgVersion("node_modules/stripe");
const stripe = new Stripe("sk_test_unused");
for (const body of BODIES) {
  const secret = "whsec_test_secret";
  const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: TS });
  out.push({ sdk: `stripe ${stripeVersion}`, provider: "stripe", secret, body, headers: { "Stripe-Signature": header } });
}

const octokitVersion = pkgVersion("node_modules/@octokit/webhooks-methods");
for (const body of BODIES) {
  const secret = "It's a Secret to Everybody";
  const sig = await octokitSign(secret, body);
  out.push({ sdk: `@octokit/webhooks-methods ${octokitVersion}`, provider: "github", secret, body, headers: { "X-Hub-Signature-256": sig } });
}

const sanityVersion = pkgVersion("node_modules/@sanity/webhook");
for (const body of BODIES) {
  const secret = "sanity-webhook-secret";
  const header = await encodeSignatureHeader(body, TS * 1000, secret);
  out.push({ sdk: `@sanity/webhook ${sanityVersion}`, provider: "sanity", secret, body, headers: { "sanity-webhook-signature": header } });
}

writeFileSync(path, JSON.stringify(doc, null, 1) + "\n");
console.log(`${out.length} vectors in ${path}`);
