/**
 * Pure-JS backend over `@noble/curves` (audited, no native code): for browsers and auditors, for
 * cross-checking the native backend, and as the fallback where the native one cannot load.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { bytesEqual, toHex } from "../bytes.ts";
import { BlsError } from "../errors.ts";
import {
  type BlsBackend,
  type BlsPublicKey,
  DST_POP,
  DST_SIGNATURE,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  type SignatureSet,
} from "./interface.ts";
import { checkSecretKey } from "./keygen.ts";

const L = bls12_381.longSignatures;
const G1 = bls12_381.G1.Point;
type G1Point = ReturnType<typeof G1.fromBytes>;
type G2Point = ReturnType<typeof L.Signature.fromBytes>;

interface NobleKey extends BlsPublicKey {
  readonly point: G1Point;
}

const cache = new Map<string, NobleKey>();
const CACHE_MAX = 4096;

function decodeG1(bytes: Uint8Array): G1Point {
  if (!(bytes instanceof Uint8Array) || bytes.length !== PUBLIC_KEY_BYTES) {
    throw new BlsError("INVALID_PUBLIC_KEY", "public keys are 48-byte compressed G1 points", {
      facts: { length: bytes?.length },
    });
  }
  let p: G1Point;
  try {
    p = G1.fromBytes(bytes);
  } catch (cause) {
    throw new BlsError("INVALID_PUBLIC_KEY", "public key is not a point on G1", { cause });
  }
  if (p.is0()) throw new BlsError("PUBLIC_KEY_INFINITY", "public key is the point at infinity");
  if (!p.isTorsionFree()) throw new BlsError("INVALID_PUBLIC_KEY", "public key is not in the G1 subgroup");
  return p;
}

function decodeG2(bytes: Uint8Array): G2Point {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SIGNATURE_BYTES) {
    throw new BlsError("INVALID_SIGNATURE", "signatures are 96-byte compressed G2 points", {
      facts: { length: bytes?.length },
    });
  }
  let p: G2Point;
  try {
    p = L.Signature.fromBytes(bytes);
  } catch (cause) {
    throw new BlsError("INVALID_SIGNATURE", "signature is not a point on G2", { cause });
  }
  if (p.is0()) throw new BlsError("SIGNATURE_INFINITY", "signature is the point at infinity");
  if (!p.isTorsionFree()) throw new BlsError("INVALID_SIGNATURE", "signature is not in the G2 subgroup");
  return p;
}

function own(pk: BlsPublicKey): NobleKey {
  if (pk.backend === "noble" && "point" in pk) return pk as NobleKey;
  return nobleBackend.publicKeyFromBytes(pk.bytes) as NobleKey;
}

function randomScalar64(): bigint {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  let x = 0n;
  for (const v of b) x = (x << 8n) | BigInt(v);
  return x === 0n ? 1n : x;
}

/** `Π e(r_i·pk_i, H(m_i)) · e(−g1, Σ r_i·σ_i) == 1` for random 64-bit r_i: one final exponentiation for all. */
function randomisedCheck(sets: readonly SignatureSet[], dst: string): boolean {
  if (sets.length === 0) return false;
  let sigSum = bls12_381.G2.Point.ZERO;
  const pairs: { g1: G1Point; g2: G2Point }[] = [];
  for (const s of sets) {
    const r = randomScalar64();
    sigSum = sigSum.add(decodeG2(s.signature).multiply(r));
    pairs.push({ g1: own(s.publicKey).point.multiply(r), g2: L.hash(s.message, dst) });
  }
  pairs.push({ g1: G1.BASE.negate(), g2: sigSum });
  const gt = bls12_381.pairingBatch(pairs);
  return bls12_381.fields.Fp12.eql(gt, bls12_381.fields.Fp12.ONE);
}

export const nobleBackend: BlsBackend = {
  name: "noble",

  publicKeyFromBytes(bytes) {
    const hex = toHex(bytes).slice(2);
    const hit = cache.get(hex);
    if (hit && bytesEqual(hit.bytes, bytes)) return hit;
    const key: NobleKey = { bytes: bytes.slice(), hex, backend: "noble", point: decodeG1(bytes) };
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(hex, key);
    return key;
  },

  validateSignature(sig) {
    decodeG2(sig);
  },

  publicKeyOf(secretKey) {
    checkSecretKey(secretKey);
    return L.getPublicKey(secretKey).toBytes(true);
  },

  sign(secretKey, message) {
    checkSecretKey(secretKey);
    return L.Signature.toBytes(L.sign(L.hash(message, DST_SIGNATURE), secretKey));
  },

  verify(publicKey, message, signature) {
    const sig = decodeG2(signature);
    return L.verify(sig, L.hash(message, DST_SIGNATURE), own(publicKey).point);
  },

  fastAggregateVerify(publicKeys, message, signature) {
    const sig = decodeG2(signature);
    let agg = G1.ZERO;
    for (const pk of publicKeys) agg = agg.add(own(pk).point);
    if (agg.is0()) return false;
    return L.verify(sig, L.hash(message, DST_SIGNATURE), agg);
  },

  aggregateVerify(publicKeys, messages, signature) {
    const sig = decodeG2(signature);
    return L.verifyBatch(
      sig,
      publicKeys.map((pk, i) => ({ message: L.hash(messages[i]!, DST_SIGNATURE), publicKey: own(pk).point })),
    );
  },

  verifySignatureSets(sets: readonly SignatureSet[]) {
    return randomisedCheck(sets, DST_SIGNATURE);
  },

  verifyPossessions(items) {
    return randomisedCheck(
      items.map((x) => ({ publicKey: x.publicKey, message: x.publicKey.bytes, signature: x.proof })),
      DST_POP,
    );
  },

  aggregateSignatures(signatures) {
    let agg = bls12_381.G2.Point.ZERO;
    for (const s of signatures) agg = agg.add(decodeG2(s));
    return L.Signature.toBytes(agg);
  },

  aggregatePublicKeys(publicKeys) {
    let agg = G1.ZERO;
    for (const pk of publicKeys) agg = agg.add(own(pk).point);
    return agg.toBytes(true);
  },

  provePossession(secretKey) {
    checkSecretKey(secretKey);
    const pk = L.getPublicKey(secretKey).toBytes(true);
    return L.Signature.toBytes(L.sign(L.hash(pk, DST_POP), secretKey));
  },

  verifyPossession(publicKey, proof) {
    const key = own(publicKey);
    const sig = decodeG2(proof);
    return L.verify(sig, L.hash(key.bytes, DST_POP), key.point);
  },
};
