/**
 * The regulator envelope (docs/protocol.md §8.5): personal data sealed to the supervisor's X25519 public
 * key with HPKE (RFC 9180), and the 32-byte commitment to that envelope that goes into a signed message
 * payload.
 *
 * Suite: DHKEM(X25519, HKDF-SHA256) · HKDF-SHA256 · AES-128-GCM, mode base (RFC 9180 §5.1.1, §7), named
 * `hpke-x25519-sha256-aes128gcm`. The envelope's `context` (what the envelope is about, e.g.
 * `shandu-envelope-v1|1001|<record id>`) is the HPKE `info`: it enters the key schedule (RFC 9180
 * §5.1), so an envelope moved to another context does not decrypt. The AEAD's associated data is empty.
 *
 * HPKE runs on `@hpke/core` over WebCrypto (X25519 and AES-GCM): Node ≥ 20 and current browsers. The
 * supervisor's public key is derived with `@noble/curves`, so key handling needs no WebCrypto.
 *
 * The commitment is `SHA-256("SHANDU-ENVELOPE-v1" ‖ u8 len ‖ scheme ‖ u16 len ‖ context ‖ u8 len ‖ enc ‖
 * u32 len ‖ ciphertext)`: every field is length-prefixed, so no two envelopes share a preimage.
 */
import { Aes128Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/core";
import { x25519 } from "@noble/curves/ed25519.js";
import { ByteWriter, bytesEqual, fromHex, toHex, utf8 } from "./bytes.ts";
import { type ErrorFacts, ShanduError } from "./errors.ts";
import { sha256 } from "./hash.ts";
import type { Json } from "./json.ts";

/** The one envelope scheme of protocol version 1. */
export const ENVELOPE_SCHEME = "hpke-x25519-sha256-aes128gcm";
/** Domain tag of the envelope commitment (docs/protocol.md §1.3). */
export const ENVELOPE_TAG: Uint8Array = utf8("SHANDU-ENVELOPE-v1");
/** Prefix of the recommended context string, see {@link envelopeContext}. */
export const ENVELOPE_CONTEXT_PREFIX = "shandu-envelope-v1";
/** X25519 key and encapsulated-key length. */
export const SUPERVISOR_KEY_BYTES = 32;
/** AES-128-GCM tag length: the ciphertext is the plaintext plus this. */
export const ENVELOPE_TAG_BYTES = 16;
/** Largest context, in bytes. */
export const MAX_ENVELOPE_CONTEXT_BYTES = 1024;
/** Largest plaintext, in bytes (1 MiB). */
export const MAX_ENVELOPE_PLAINTEXT_BYTES = 1 << 20;

/** `format` tags of the supervisor's key files. */
export const SUPERVISOR_KEY_FORMAT = "shandu.supervisor-key";
export const SUPERVISOR_PUBLIC_KEY_FORMAT = "shandu.supervisor-public-key";

export type EnvelopeErrorCode =
  /** An envelope, key file or input that is not of the documented shape, length or scheme. */
  | "ENVELOPE_MALFORMED"
  /** The envelope does not open with this key (wrong key, or enc, ciphertext or context changed). */
  | "ENVELOPE_DECRYPT_FAILED"
  /** The envelope is not the one the commitment commits to. */
  | "ENVELOPE_COMMITMENT_MISMATCH"
  /** A supervisor key that cannot be used: wrong length, a low-order public key, or a key file whose halves differ. */
  | "ENVELOPE_BAD_KEY";

/** Regulator-envelope failures. Always `reject`: the same input gives the same answer. */
export class EnvelopeError extends ShanduError<EnvelopeErrorCode> {
  override readonly name = "EnvelopeError";
}

/** A sealed envelope. Only the supervisor's secret key opens it; only its commitment goes on chain. */
export interface Envelope {
  scheme: string;
  /** What the envelope is about; the HPKE `info`. */
  context: Uint8Array;
  /** The HPKE encapsulated key (the sender's ephemeral X25519 public key), 32 bytes. */
  enc: Uint8Array;
  /** AES-128-GCM ciphertext and tag. */
  ciphertext: Uint8Array;
}

export interface SupervisorKeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

const malformed = (message: string, facts?: ErrorFacts, cause?: unknown) =>
  new EnvelopeError("ENVELOPE_MALFORMED", message, { facts, cause });

let suiteInstance: CipherSuite | undefined;
/** The HPKE cipher suite of {@link ENVELOPE_SCHEME}. Exported for the RFC 9180 test vectors. */
export function envelopeSuite(): CipherSuite {
  suiteInstance ??= new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
  return suiteInstance;
}

/**
 * The recommended context: UTF-8 `shandu-envelope-v1|<sourceChainId>|<recordId>`, binding the envelope to
 * the chain and record it describes. `recordId` bytes are written as `0x` hex.
 */
export function envelopeContext(sourceChainId: bigint, recordId: string | Uint8Array): Uint8Array {
  const id = typeof recordId === "string" ? recordId : toHex(recordId);
  return utf8(`${ENVELOPE_CONTEXT_PREFIX}|${sourceChainId}|${id}`);
}

function checkLength(what: string, b: unknown, min: number, max: number): Uint8Array {
  if (!(b instanceof Uint8Array)) throw malformed(`${what} must be bytes`, { field: what });
  if (b.length < min || b.length > max) {
    throw malformed(`${what} must be ${min === max ? min : `${min} to ${max}`} bytes`, { field: what, length: b.length });
  }
  return b;
}

/** Checks the shape of an envelope: scheme, lengths. Throws `ENVELOPE_MALFORMED`. */
export function checkEnvelopeShape(envelope: Envelope): void {
  if (envelope.scheme !== ENVELOPE_SCHEME) {
    throw malformed(`unsupported envelope scheme "${String(envelope.scheme)}"`, {
      scheme: String(envelope.scheme),
      expected: ENVELOPE_SCHEME,
    });
  }
  checkLength("context", envelope.context, 1, MAX_ENVELOPE_CONTEXT_BYTES);
  checkLength("enc", envelope.enc, SUPERVISOR_KEY_BYTES, SUPERVISOR_KEY_BYTES);
  checkLength("ciphertext", envelope.ciphertext, ENVELOPE_TAG_BYTES, MAX_ENVELOPE_PLAINTEXT_BYTES + ENVELOPE_TAG_BYTES);
}

/** The canonical encoding the commitment hashes (after the tag). */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  checkEnvelopeShape(envelope);
  return new ByteWriter(64 + envelope.context.length + envelope.ciphertext.length)
    .bytes8(utf8(envelope.scheme))
    .bytes16(envelope.context)
    .bytes8(envelope.enc)
    .bytes32(envelope.ciphertext)
    .finish();
}

/** `SHA-256("SHANDU-ENVELOPE-v1" ‖ encodeEnvelope(envelope))`, 32 bytes. */
export function envelopeCommitment(envelope: Envelope): Uint8Array {
  const body = encodeEnvelope(envelope);
  const pre = new Uint8Array(ENVELOPE_TAG.length + body.length);
  pre.set(ENVELOPE_TAG);
  pre.set(body, ENVELOPE_TAG.length);
  return sha256(pre);
}

/** Throws `ENVELOPE_COMMITMENT_MISMATCH` unless `commitment` is the commitment of `envelope`. */
export function checkEnvelope(envelope: Envelope, commitment: Uint8Array): void {
  const actual = envelopeCommitment(envelope);
  if (!bytesEqual(actual, commitment)) {
    throw new EnvelopeError("ENVELOPE_COMMITMENT_MISMATCH", "the envelope is not the one the commitment commits to", {
      facts: { expected: toHex(commitment), actual: toHex(actual) },
    });
  }
}

function publicKeyBytes(pk: unknown): Uint8Array {
  if (!(pk instanceof Uint8Array) || pk.length !== SUPERVISOR_KEY_BYTES) {
    throw new EnvelopeError("ENVELOPE_BAD_KEY", "the supervisor public key must be 32 bytes", {
      facts: { length: pk instanceof Uint8Array ? pk.length : null },
    });
  }
  return pk;
}

function secretKeyBytes(sk: unknown): Uint8Array {
  if (!(sk instanceof Uint8Array) || sk.length !== SUPERVISOR_KEY_BYTES) {
    // The length only: nothing about a secret key is ever put into an error.
    throw new EnvelopeError("ENVELOPE_BAD_KEY", "the supervisor secret key must be 32 bytes", {
      facts: { length: sk instanceof Uint8Array ? sk.length : null },
    });
  }
  return sk;
}

/** Seals `plaintext` to the supervisor. Every call uses a fresh ephemeral key, so two envelopes of the same data differ. */
export async function sealEnvelope(params: {
  supervisorPublicKey: Uint8Array;
  plaintext: Uint8Array;
  context: Uint8Array;
}): Promise<Envelope> {
  const pk = publicKeyBytes(params.supervisorPublicKey);
  const context = checkLength("context", params.context, 1, MAX_ENVELOPE_CONTEXT_BYTES);
  const plaintext = checkLength("plaintext", params.plaintext, 0, MAX_ENVELOPE_PLAINTEXT_BYTES);
  const suite = envelopeSuite();
  let recipientPublicKey: CryptoKey;
  try {
    recipientPublicKey = await suite.kem.deserializePublicKey(pk);
  } catch (cause) {
    throw new EnvelopeError("ENVELOPE_BAD_KEY", "the supervisor public key is not a usable X25519 key", { cause });
  }
  try {
    const { ct, enc } = await suite.seal({ recipientPublicKey, info: context }, plaintext);
    return { scheme: ENVELOPE_SCHEME, context: context.slice(), enc: new Uint8Array(enc), ciphertext: new Uint8Array(ct) };
  } catch (cause) {
    // DH with a low-order point gives the all-zero secret, which X25519 refuses (RFC 9180 §7.1.4).
    throw new EnvelopeError("ENVELOPE_BAD_KEY", "cannot seal to this supervisor public key (a low-order X25519 point?)", {
      facts: { publicKey: toHex(pk) },
      cause,
    });
  }
}

/** Opens an envelope with the supervisor's secret key. Throws `ENVELOPE_MALFORMED` or `ENVELOPE_DECRYPT_FAILED`. */
export async function openEnvelope(envelope: Envelope, supervisorSecretKey: Uint8Array): Promise<Uint8Array> {
  checkEnvelopeShape(envelope);
  const sk = secretKeyBytes(supervisorSecretKey);
  const suite = envelopeSuite();
  let recipientKey: CryptoKey;
  try {
    recipientKey = await suite.kem.deserializePrivateKey(sk);
  } catch (cause) {
    throw new EnvelopeError("ENVELOPE_BAD_KEY", "the supervisor secret key cannot be used", { cause });
  }
  try {
    const pt = await suite.open({ recipientKey, enc: envelope.enc, info: envelope.context }, envelope.ciphertext);
    return new Uint8Array(pt);
  } catch (cause) {
    throw new EnvelopeError(
      "ENVELOPE_DECRYPT_FAILED",
      "the envelope does not open with this key: wrong supervisor key, or its enc, ciphertext or context was changed",
      { facts: { context: describeContext(envelope.context) }, cause },
    );
  }
}

/** The context as text when it is printable UTF-8, else hex (for messages). */
export function describeContext(context: Uint8Array): string {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(context);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused here
    if (!/[\u0000-\u001f\u007f]/.test(text)) return text;
  } catch {
    // not UTF-8: hex below
  }
  return toHex(context);
}

// ---- JSON form ---------------------------------------------------------------------------------

/** `{ "scheme", "context", "enc", "ciphertext" }`, bytes as `0x` hex (docs/protocol.md §8.5). */
export function envelopeToJson(envelope: Envelope): Json {
  return { scheme: envelope.scheme, context: toHex(envelope.context), enc: toHex(envelope.enc), ciphertext: toHex(envelope.ciphertext) };
}

function member(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function jsonObject(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw malformed(`${where} must be a JSON object`, { field: where });
  return v as Record<string, unknown>;
}

function hexField(o: Record<string, unknown>, key: string, where: string): Uint8Array {
  const v = member(o, key);
  if (typeof v !== "string" || !v.startsWith("0x"))
    throw malformed(`${where}.${key} must be a 0x-prefixed hex string`, { field: `${where}.${key}` });
  try {
    return fromHex(v, undefined, `${where}.${key}`);
  } catch (cause) {
    throw malformed(`${where}.${key} is not hex`, { field: `${where}.${key}` }, cause);
  }
}

/** Reads the JSON form; checks the shape. Throws `ENVELOPE_MALFORMED`. */
export function envelopeFromJson(json: unknown, where = "envelope"): Envelope {
  const o = jsonObject(json, where);
  const scheme = member(o, "scheme");
  if (typeof scheme !== "string") throw malformed(`${where}.scheme must be a string`, { field: `${where}.scheme` });
  const envelope: Envelope = {
    scheme,
    context: hexField(o, "context", where),
    enc: hexField(o, "enc", where),
    ciphertext: hexField(o, "ciphertext", where),
  };
  checkEnvelopeShape(envelope);
  return envelope;
}

// ---- supervisor keys ---------------------------------------------------------------------------

/** The X25519 public key of a 32-byte secret key (RFC 7748 §6.1). */
export function supervisorPublicKey(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKeyBytes(secretKey));
}

/** A fresh supervisor key pair from the platform's secure random source. */
export function generateSupervisorKeyPair(): SupervisorKeyPair {
  const secretKey = crypto.getRandomValues(new Uint8Array(SUPERVISOR_KEY_BYTES));
  return { secretKey, publicKey: supervisorPublicKey(secretKey) };
}

/** The secret key file: `{ format: "shandu.supervisor-key", version: 1, scheme, secretKey, publicKey }`. */
export function supervisorKeyToJson(secretKey: Uint8Array): Json {
  return {
    format: SUPERVISOR_KEY_FORMAT,
    version: 1,
    scheme: ENVELOPE_SCHEME,
    secretKey: toHex(secretKeyBytes(secretKey)),
    publicKey: toHex(supervisorPublicKey(secretKey)),
  };
}

/** The public key file: `{ format: "shandu.supervisor-public-key", version: 1, scheme, publicKey }`. */
export function supervisorPublicKeyToJson(publicKey: Uint8Array): Json {
  return { format: SUPERVISOR_PUBLIC_KEY_FORMAT, version: 1, scheme: ENVELOPE_SCHEME, publicKey: toHex(publicKeyBytes(publicKey)) };
}

function keyFileHeader(json: unknown, format: string): Record<string, unknown> {
  const o = jsonObject(json, format);
  if (member(o, "format") !== format) throw malformed(`not a ${format} file`, { expected: format });
  const version = member(o, "version");
  if (version !== undefined && version !== 1) throw malformed(`${format} version must be 1`, { version: String(version) });
  const scheme = member(o, "scheme");
  if (scheme !== ENVELOPE_SCHEME) throw malformed(`unsupported key scheme "${String(scheme)}"`, { expected: ENVELOPE_SCHEME });
  return o;
}

/** Reads a secret key file; checks that its public key belongs to its secret key. */
export function supervisorKeyFromJson(json: unknown): SupervisorKeyPair {
  const o = keyFileHeader(json, SUPERVISOR_KEY_FORMAT);
  const secretKey = secretKeyBytes(hexField(o, "secretKey", SUPERVISOR_KEY_FORMAT));
  const publicKey = supervisorPublicKey(secretKey);
  if (member(o, "publicKey") !== undefined && !bytesEqual(hexField(o, "publicKey", SUPERVISOR_KEY_FORMAT), publicKey)) {
    throw new EnvelopeError("ENVELOPE_BAD_KEY", "the key file's public key does not belong to its secret key");
  }
  return { secretKey, publicKey };
}

/** Reads a public key file. */
export function supervisorPublicKeyFromJson(json: unknown): Uint8Array {
  const o = keyFileHeader(json, SUPERVISOR_PUBLIC_KEY_FORMAT);
  return publicKeyBytes(hexField(o, "publicKey", SUPERVISOR_PUBLIC_KEY_FORMAT));
}
