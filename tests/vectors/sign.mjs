// Sign bodies with providers' npm SDKs and merge the result into the fixture
// written by sign.py (run by `make vectors`, never by CI). Where an SDK can
// only verify, the request is signed by hand and kept only once the SDK
// accepted it with its clock (Date.now) at the fixture's time.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import crypto from "node:crypto";
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

const require = createRequire(import.meta.url);
const hmac = (key, data, enc) => crypto.createHmac("sha256", key).update(data).digest(enc);
const RealDate = Date;
/** The SDKs' clock (Date.now and new Date()) at the fixture's time while `fn` runs. */
async function atTs(fn) {
  globalThis.Date = class extends RealDate {
    constructor(...a) { super(...(a.length ? a : [TS * 1000])); }
    static now() { return TS * 1000; }
  };
  try { return await fn(); } finally { globalThis.Date = RealDate; }
}
/** Keep the entry only once the SDK's verifier accepted it at the fixture's time. */
async function accepted(pkg, provider, secret, body, headers, verify, extra = {}) {
  const ok = await atTs(verify);
  if (ok === false) throw new Error(`${pkg} refused its own ${provider} vector`);
  out.push({ sdk: `${pkg} ${pkgVersion(`node_modules/${pkg}`)}`, provider, secret, body, headers, sdk_call: "accepted by the SDK's verifier", ...extra });
}
const WHSEC = "whsec_" + Buffer.from(Array.from({ length: 24 }, (_, i) => i + 7)).toString("base64");
const MSG_ID = "msg_2bYqEuBRFs3q8uJc4kNXpDeaeJ7";
const { Webhook: StdWebhook } = await import("standardwebhooks");
const std = (key, body) => ({ "webhook-id": MSG_ID, "webhook-timestamp": String(TS), "webhook-signature": new StdWebhook(key).sign(MSG_ID, new Date(TS * 1000), body) });

for (const body of BODIES) {
  const { default: Mux } = await import("@mux/mux-node");
  const mux = new Mux({ tokenId: "unused", tokenSecret: "unused" });
  let secret = "mux-webhook-secret";
  let h = { "mux-signature": `t=${TS},v1=${hmac(secret, `${TS}.${body}`, "hex")}` };
  await accepted("@mux/mux-node", "mux", secret, body, h, () => mux.webhooks.verifySignature(body, h, secret));

  const { Signature } = require("@hubspot/api-client/lib/src/utils/signature");
  secret = "hubspot-client-secret";
  const url = "https://hooks.example.com/hook?portalId=1&name=Zo%C3%AB";
  h = { "X-HubSpot-Request-Timestamp": String(TS * 1000), "X-HubSpot-Signature-v3": Signature.getSignature("POST", "v3", { clientSecret: secret, requestBody: body, url, timestamp: TS * 1000 }) };
  await accepted("@hubspot/api-client", "hubspot", secret, body, h, () => Signature.isValid({ signatureVersion: "v3", signature: h["X-HubSpot-Signature-v3"], clientSecret: secret, requestBody: body, url, method: "POST", timestamp: TS * 1000 }), { url });

  const { WorkOS } = await import("@workos-inc/node");
  const workos = new WorkOS("sk_test_unused");
  secret = "workos-webhook-secret";
  h = { "WorkOS-Signature": `t=${TS * 1000}, v1=${await workos.webhooks.computeSignature(TS * 1000, JSON.parse(body), secret)}` };
  // The SDK re-serialises the parsed body; the fixture keeps the body only when that is byte-identical.
  if (JSON.stringify(JSON.parse(body)) === body) {
    await accepted("@workos-inc/node", "workos", secret, body, h, () => workos.webhooks.constructEvent({ payload: JSON.parse(body), sigHeader: h["WorkOS-Signature"], secret }));
  }

  const { WebhooksHelper } = require("square");
  secret = "square-signature-key";
  const squareUrl = "https://hooks.example.com/hook";
  h = { "x-square-hmacsha256-signature": hmac(secret, squareUrl + body, "base64") };
  await accepted("square", "square", secret, body, h, () => WebhooksHelper.verifySignature({ requestBody: body, signatureHeader: h["x-square-hmacsha256-signature"], signatureKey: secret, notificationUrl: squareUrl }), { url: squareUrl });

  secret = "line-channel-secret";
  h = { "x-line-signature": hmac(secret, body, "base64") };
  await accepted("@line/bot-sdk", "line", secret, body, h, () => require("@line/bot-sdk").validateSignature(body, secret, h["x-line-signature"]));

  secret = "razorpay-webhook-secret";
  h = { "X-Razorpay-Signature": hmac(secret, body, "hex") };
  await accepted("razorpay", "razorpay", secret, body, h, () => require("razorpay").validateWebhookSignature(body, h["X-Razorpay-Signature"], secret));

  secret = "coinbase-shared-secret";
  h = { "X-CC-Webhook-Signature": hmac(secret, body, "hex") };
  await accepted("coinbase-commerce-node", "coinbase", secret, body, h, () => require("coinbase-commerce-node").Webhook.verifySigHeader(body, h["X-CC-Webhook-Signature"], secret));

  secret = "notion-verification-token";
  const notion = require("@notionhq/client/build/src/webhooks.js");
  h = { "X-Notion-Signature": await notion.signWebhookPayload({ verificationToken: secret, body }) };
  await accepted("@notionhq/client", "notion", secret, body, h, () => notion.verifyWebhookSignature({ body, signature: h["X-Notion-Signature"], verificationToken: secret }));

  const { WebflowClient } = await import("webflow-api");
  secret = "webflow-client-secret";
  h = { "x-webflow-timestamp": String(TS * 1000), "x-webflow-signature": hmac(secret, `${TS * 1000}:${body}`, "hex") };
  await accepted("webflow-api", "webflow", secret, body, h, () => new WebflowClient({ accessToken: "unused" }).webhooks.verifySignature({ headers: h, body, secret }));

  const { TelnyxWebhook } = require("telnyx/lib/webhooks.js");
  const seed = Buffer.alloc(32, 7);
  const priv = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
  const pub = crypto.createPublicKey(priv).export({ format: "der", type: "spki" }).subarray(-32).toString("base64");
  h = { "telnyx-timestamp": String(TS), "telnyx-signature-ed25519": crypto.sign(null, Buffer.from(`${TS}|${body}`), priv).toString("base64") };
  await accepted("telnyx", "telnyx", pub, body, h, () => new TelnyxWebhook(pub).verify(body, h).then(() => true));

  const { default: OpenAI } = await import("openai");
  h = std(WHSEC, body);
  await accepted("openai", "openai", WHSEC, body, h, () => new OpenAI({ apiKey: "unused" }).webhooks.verifySignature(body, h, WHSEC).then(() => true));
  await accepted("replicate", "replicate", WHSEC, body, h, () => require("replicate").validateWebhook({ id: MSG_ID, timestamp: String(TS), signature: h["webhook-signature"], body, secret: WHSEC }, crypto.webcrypto));
  const { WebhookHandler } = await import("@liveblocks/node");
  await accepted("@liveblocks/node", "liveblocks", WHSEC, body, h, () => { try { new WebhookHandler(WHSEC).verifyRequest({ headers: h, rawBody: body }); } catch (e) { if (!/unknown|type/i.test(e.message)) throw e; } return true; });
  const polarSecret = "polar_whs_" + "Ab3".repeat(14);
  h = std(Buffer.from(polarSecret).toString("base64"), body);
  const { validateEvent } = await import("@polar-sh/sdk/webhooks");
  await accepted("@polar-sh/sdk", "polar", polarSecret, body, h, () => { try { validateEvent(body, h, polarSecret); } catch (e) { if (e.name === "WebhookVerificationError") throw e; } return true; });
}

// LiveKit: a JWT with the body's SHA-256 (base64) in its `sha256` claim.
{
  const { WebhookReceiver, AccessToken } = await import("livekit-server-sdk");
  const key = "APIkey", secret = "livekit-api-secret-0123456789abcdefghij";
  for (const body of BODIES) {
    const at = new AccessToken(key, secret, { ttl: "10m" });
    at.sha256 = crypto.createHash("sha256").update(body).digest("base64");
    const jwt = await atTs(() => at.toJwt());
    await accepted("livekit-server-sdk", "livekit", secret, body, { Authorization: jwt }, () => new WebhookReceiver(key, secret).receive(body, jwt).then(() => true));
  }
}

// Discord interactions (Ed25519 over timestamp + body) and SendGrid (ECDSA P-256 over timestamp + body).
{
  const seed = Buffer.alloc(32, 9);
  const priv = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
  const pub = crypto.createPublicKey(priv).export({ format: "der", type: "spki" }).subarray(-32).toString("hex");
  const { verifyKey } = require("discord-interactions");
  const ec = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const ecPub = ec.publicKey.export({ format: "der", type: "spki" }).toString("base64");
  const { EventWebhook } = require("@sendgrid/eventwebhook");
  const ew = new EventWebhook();
  for (const body of BODIES) {
    let h = { "X-Signature-Ed25519": crypto.sign(null, Buffer.from(`${TS}${body}`), priv).toString("hex"), "X-Signature-Timestamp": String(TS) };
    await accepted("discord-interactions", "discord", pub, body, h, () => verifyKey(body, h["X-Signature-Ed25519"], h["X-Signature-Timestamp"], pub));
    h = { "X-Twilio-Email-Event-Webhook-Signature": crypto.sign("sha256", Buffer.from(`${TS}${body}`), ec.privateKey).toString("base64"), "X-Twilio-Email-Event-Webhook-Timestamp": String(TS) };
    await accepted("@sendgrid/eventwebhook", "sendgrid", ecPub, body, h, () => ew.verifySignature(ew.convertPublicKeyToECDSA(ecPub), body, h["X-Twilio-Email-Event-Webhook-Signature"], h["X-Twilio-Email-Event-Webhook-Timestamp"]));
  }
}

// Linear: webhookTimestamp (ms) inside the signed body, checked by the SDK against its clock.
{
  const { LinearWebhookClient } = await import("@linear/sdk/webhooks");
  const secret = "linear-webhook-secret";
  for (const name of ["Zo\u00eb \u2713", "plain"]) {
    const body = `{"action":"create","type":"Issue","data":{"id":"iss_1","title":"${name}"},"webhookTimestamp":${TS * 1000}}`;
    const h = { "Linear-Signature": hmac(secret, body, "hex") };
    await accepted("@linear/sdk", "linear", secret, body, h, () => new LinearWebhookClient(secret).verify(Buffer.from(body), h["Linear-Signature"]));
  }
}

writeFileSync(path, JSON.stringify(doc, null, 1) + "\n");
console.log(`${out.length} vectors in ${path}`);
