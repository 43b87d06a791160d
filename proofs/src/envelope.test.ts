/** The regulator envelope: RFC 9180 A.1.1, seal/open, tamper detection, the commitment and the key files. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ByteWriter, fromHex, toHex, utf8 } from "./bytes.ts";
import {
  checkEnvelope,
  ENVELOPE_SCHEME,
  type Envelope,
  EnvelopeError,
  envelopeCommitment,
  envelopeContext,
  envelopeFromJson,
  envelopeSuite,
  envelopeToJson,
  generateSupervisorKeyPair,
  openEnvelope,
  sealEnvelope,
  supervisorKeyFromJson,
  supervisorKeyToJson,
  supervisorPublicKey,
  supervisorPublicKeyFromJson,
  supervisorPublicKeyToJson,
} from "./envelope.ts";
import { sha256 } from "./hash.ts";

/**
 * RFC 9180 Appendix A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode base (mode 0,
 * kem_id 0x0020, kdf_id 0x0001, aead_id 0x0001); the first encryption (sequence number 0).
 * https://www.rfc-editor.org/rfc/rfc9180.html#appendix-A.1.1
 */
const A11 = {
  info: "4f6465206f6e2061204772656369616e2055726e", // "Ode on a Grecian Urn"
  ikmE: "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
  pkEm: "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
  skEm: "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736",
  ikmR: "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
  pkRm: "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
  skRm: "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
  enc: "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
  aad: "436f756e742d30", // "Count-0"
  pt: "4265617574792069732074727574682c20747275746820626561757479", // "Beauty is truth, truth beauty"
  ct: "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a",
};
const h = (s: string) => fromHex(s);

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof EnvelopeError && e.code === code);
}

function throwsCode(f: () => unknown, code: string): void {
  assert.throws(f, (e: unknown) => e instanceof EnvelopeError && e.code === code);
}

test("RFC 9180 A.1.1: key derivation, enc and the first ciphertext through the envelope suite", async () => {
  const suite = envelopeSuite();
  assert.equal(toHex(supervisorPublicKey(h(A11.skRm))), `0x${A11.pkRm}`);
  assert.equal(toHex(supervisorPublicKey(h(A11.skEm))), `0x${A11.pkEm}`);
  const recipient = await suite.kem.deriveKeyPair(h(A11.ikmR));
  assert.equal(toHex(new Uint8Array(await suite.kem.serializePrivateKey(recipient.privateKey))), `0x${A11.skRm}`);
  // The library's testing hook `ekm` fixes the ephemeral key (derived from ikmE), reproducing the vector.
  const sender = await suite.createSenderContext({
    recipientPublicKey: await suite.kem.deserializePublicKey(h(A11.pkRm)),
    info: h(A11.info),
    ekm: h(A11.ikmE),
  });
  assert.equal(toHex(new Uint8Array(sender.enc)), `0x${A11.enc}`);
  assert.equal(toHex(new Uint8Array(await sender.seal(h(A11.pt), h(A11.aad)))), `0x${A11.ct}`);
  // And the vector's ciphertext opens with skRm imported the way openEnvelope imports it.
  const opened = await suite.open(
    { recipientKey: await suite.kem.deserializePrivateKey(h(A11.skRm)), enc: h(A11.enc), info: h(A11.info) },
    h(A11.ct),
    h(A11.aad),
  );
  assert.equal(toHex(new Uint8Array(opened)), `0x${A11.pt}`);
});

const supervisor = generateSupervisorKeyPair();
const context = envelopeContext(1001n, "trip-2024-000042");
const personal = utf8(JSON.stringify({ name: "张三", idNumber: "310101199001011234", trip: { from: "人民广场", to: "陆家嘴", km: 4.2 } }));

test("seal/open round trip; the context is the documented string", async () => {
  assert.equal(new TextDecoder().decode(context), "shandu-envelope-v1|1001|trip-2024-000042");
  assert.equal(new TextDecoder().decode(envelopeContext(7n, Uint8Array.of(0xab, 0x01))), "shandu-envelope-v1|7|0xab01");
  const env = await sealEnvelope({ supervisorPublicKey: supervisor.publicKey, plaintext: personal, context });
  assert.equal(env.scheme, ENVELOPE_SCHEME);
  assert.equal(env.enc.length, 32);
  assert.equal(env.ciphertext.length, personal.length + 16);
  assert.deepEqual(await openEnvelope(env, supervisor.secretKey), personal);
  // Empty plaintext is allowed (16-byte tag only).
  const empty = await sealEnvelope({ supervisorPublicKey: supervisor.publicKey, plaintext: new Uint8Array(0), context });
  assert.deepEqual(await openEnvelope(empty, supervisor.secretKey), new Uint8Array(0));
});

function flip(b: Uint8Array, bit: number): Uint8Array {
  const c = b.slice();
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
}

test("a flipped bit in enc, ciphertext or context does not open; a wrong key fails with ENVELOPE_DECRYPT_FAILED", async () => {
  const env = await sealEnvelope({ supervisorPublicKey: supervisor.publicKey, plaintext: personal, context });
  for (const bit of [0, 100, 255])
    await rejects(openEnvelope({ ...env, enc: flip(env.enc, bit) }, supervisor.secretKey), "ENVELOPE_DECRYPT_FAILED");
  for (const bit of [0, 77, env.ciphertext.length * 8 - 1]) {
    await rejects(openEnvelope({ ...env, ciphertext: flip(env.ciphertext, bit) }, supervisor.secretKey), "ENVELOPE_DECRYPT_FAILED");
  }
  for (const bit of [0, 9, context.length * 8 - 1]) {
    await rejects(openEnvelope({ ...env, context: flip(env.context, bit) }, supervisor.secretKey), "ENVELOPE_DECRYPT_FAILED");
  }
  await rejects(openEnvelope(env, generateSupervisorKeyPair().secretKey), "ENVELOPE_DECRYPT_FAILED");
  // A truncated ciphertext or enc is malformed, not a decryption attempt.
  await rejects(openEnvelope({ ...env, ciphertext: env.ciphertext.subarray(0, 15) }, supervisor.secretKey), "ENVELOPE_MALFORMED");
  await rejects(openEnvelope({ ...env, enc: env.enc.subarray(1) }, supervisor.secretKey), "ENVELOPE_MALFORMED");
  await rejects(openEnvelope({ ...env, scheme: "hpke-x25519-sha256-chacha20poly1305" }, supervisor.secretKey), "ENVELOPE_MALFORMED");
  await rejects(openEnvelope(env, new Uint8Array(31)), "ENVELOPE_BAD_KEY");
});

test("the commitment changes with every field and checkEnvelope refuses a changed envelope", async () => {
  const env = await sealEnvelope({ supervisorPublicKey: supervisor.publicKey, plaintext: personal, context });
  const c = envelopeCommitment(env);
  assert.equal(c.length, 32);
  checkEnvelope(env, c);
  const variants: Envelope[] = [
    { ...env, context: flip(env.context, 3) },
    { ...env, enc: flip(env.enc, 3) },
    { ...env, ciphertext: flip(env.ciphertext, 3) },
    { ...env, ciphertext: env.ciphertext.subarray(0, env.ciphertext.length - 1) },
    { ...env, context: utf8(`${new TextDecoder().decode(env.context)}x`) },
  ];
  const seen = new Set([toHex(c)]);
  for (const v of variants) {
    const vc = envelopeCommitment(v);
    assert.ok(!seen.has(toHex(vc)));
    seen.add(toHex(vc));
    throwsCode(() => checkEnvelope(v, c), "ENVELOPE_COMMITMENT_MISMATCH");
  }
  throwsCode(() => envelopeCommitment({ ...env, scheme: "other" }), "ENVELOPE_MALFORMED");
  // The commitment is exactly the documented length-prefixed preimage (docs/protocol.md §8.5).
  const pre = new ByteWriter()
    .bytes(utf8("SHANDU-ENVELOPE-v1"))
    .u8(ENVELOPE_SCHEME.length)
    .bytes(utf8(ENVELOPE_SCHEME))
    .u16(env.context.length)
    .bytes(env.context)
    .u8(32)
    .bytes(env.enc)
    .u32(env.ciphertext.length)
    .bytes(env.ciphertext)
    .finish();
  assert.deepEqual(c, sha256(pre));
});

test("sealing the same plaintext twice gives different envelopes and commitments", async () => {
  const a = await sealEnvelope({ supervisorPublicKey: supervisor.publicKey, plaintext: personal, context });
  const b = await sealEnvelope({ supervisorPublicKey: supervisor.publicKey, plaintext: personal, context });
  assert.notDeepEqual(a.enc, b.enc);
  assert.notDeepEqual(envelopeCommitment(a), envelopeCommitment(b));
});

test("JSON form round trip; malformed JSON is ENVELOPE_MALFORMED", async () => {
  const env = await sealEnvelope({ supervisorPublicKey: supervisor.publicKey, plaintext: personal, context });
  const json = JSON.parse(JSON.stringify(envelopeToJson(env))) as Record<string, string>;
  assert.deepEqual(Object.keys(json), ["scheme", "context", "enc", "ciphertext"]);
  const back = envelopeFromJson(json);
  assert.deepEqual(envelopeCommitment(back), envelopeCommitment(env));
  assert.deepEqual(await openEnvelope(back, supervisor.secretKey), personal);
  for (const bad of [
    null,
    [],
    "x",
    { ...json, enc: "zz" },
    { ...json, enc: json.enc!.slice(2) },
    { ...json, context: "0x" },
    { ...json, scheme: 1 },
  ]) {
    throwsCode(() => envelopeFromJson(bad), "ENVELOPE_MALFORMED");
  }
  const { ciphertext: _, ...noCiphertext } = json;
  throwsCode(() => envelopeFromJson(noCiphertext), "ENVELOPE_MALFORMED");
});

test("key files round trip; a mismatched or unusable key is refused", async () => {
  const keyJson = JSON.parse(JSON.stringify(supervisorKeyToJson(supervisor.secretKey))) as Record<string, unknown>;
  const pubJson = JSON.parse(JSON.stringify(supervisorPublicKeyToJson(supervisor.publicKey))) as Record<string, unknown>;
  assert.deepEqual(supervisorKeyFromJson(keyJson), supervisor);
  assert.deepEqual(supervisorPublicKeyFromJson(pubJson), supervisor.publicKey);
  assert.equal(JSON.stringify(pubJson).includes(toHex(supervisor.secretKey).slice(2)), false);
  throwsCode(() => supervisorKeyFromJson({ ...keyJson, publicKey: toHex(generateSupervisorKeyPair().publicKey) }), "ENVELOPE_BAD_KEY");
  throwsCode(() => supervisorKeyFromJson(pubJson), "ENVELOPE_MALFORMED");
  throwsCode(() => supervisorPublicKeyFromJson(keyJson), "ENVELOPE_MALFORMED");
  throwsCode(() => supervisorPublicKeyFromJson({ ...pubJson, publicKey: "0x00" }), "ENVELOPE_BAD_KEY");
  // A low-order point (here 0) gives an all-zero shared secret: refused, never a usable envelope.
  await rejects(sealEnvelope({ supervisorPublicKey: new Uint8Array(32), plaintext: personal, context }), "ENVELOPE_BAD_KEY");
  await rejects(
    sealEnvelope({ supervisorPublicKey: supervisor.publicKey, plaintext: personal, context: new Uint8Array(0) }),
    "ENVELOPE_MALFORMED",
  );
});
