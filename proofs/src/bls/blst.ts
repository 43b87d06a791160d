/**
 * Native backend over `@chainsafe/blst` (supranational/blst via N-API): the default for the hot path.
 *
 * `@chainsafe/blst` fixes the signing DST to `BLS_SIG_…_POP_` and offers no way to hash under another
 * tag, so proofs of possession (DST `BLS_POP_…_POP_`) are made and checked by the pure-JS backend. They
 * are checked once per key, at registration, never per attestation.
 */
import * as blst from "@chainsafe/blst";
import { bytesEqual, toHex } from "../bytes.ts";
import { BlsError } from "../errors.ts";
import { type BlsBackend, type BlsPublicKey, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, type SignatureSet } from "./interface.ts";
import { checkSecretKey } from "./keygen.ts";
import { nobleBackend } from "./noble.ts";

interface BlstKey extends BlsPublicKey {
  readonly native: blst.PublicKey;
}

const cache = new Map<string, BlstKey>();
const CACHE_MAX = 4096;

/** Compressed encoding of the point at infinity: flags 0b11 in the top bits, all else zero. */
function isInfinityEncoding(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0xc0) return false;
  for (let i = 1; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function decodeSignature(bytes: Uint8Array): blst.Signature {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SIGNATURE_BYTES) {
    throw new BlsError("INVALID_SIGNATURE", "signatures are 96-byte compressed G2 points", {
      facts: { length: bytes?.length },
    });
  }
  if (isInfinityEncoding(bytes)) throw new BlsError("SIGNATURE_INFINITY", "signature is the point at infinity");
  try {
    return blst.Signature.fromBytes(bytes, true, true);
  } catch (cause) {
    throw new BlsError("INVALID_SIGNATURE", "signature is not a G2 subgroup point", { cause });
  }
}

function own(pk: BlsPublicKey): BlstKey {
  if (pk.backend === "blst" && "native" in pk) return pk as BlstKey;
  return blstBackend.publicKeyFromBytes(pk.bytes) as BlstKey;
}

export const blstBackend: BlsBackend = {
  name: "blst",

  publicKeyFromBytes(bytes) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== PUBLIC_KEY_BYTES) {
      throw new BlsError("INVALID_PUBLIC_KEY", "public keys are 48-byte compressed G1 points", {
        facts: { length: bytes?.length },
      });
    }
    const hex = toHex(bytes).slice(2);
    const hit = cache.get(hex);
    if (hit && bytesEqual(hit.bytes, bytes)) return hit;
    if (isInfinityEncoding(bytes)) throw new BlsError("PUBLIC_KEY_INFINITY", "public key is the point at infinity");
    let native: blst.PublicKey;
    try {
      native = blst.PublicKey.fromBytes(bytes, true);
    } catch (cause) {
      throw new BlsError("INVALID_PUBLIC_KEY", "public key is not a G1 subgroup point", { cause });
    }
    const key: BlstKey = { bytes: bytes.slice(), hex, backend: "blst", native };
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(hex, key);
    return key;
  },

  validateSignature(sig) {
    decodeSignature(sig);
  },

  publicKeyOf(secretKey) {
    checkSecretKey(secretKey);
    return blst.SecretKey.fromBytes(secretKey).toPublicKey().toBytes(true);
  },

  sign(secretKey, message) {
    checkSecretKey(secretKey);
    return blst.SecretKey.fromBytes(secretKey).sign(message).toBytes(true);
  },

  verify(publicKey, message, signature) {
    const sig = decodeSignature(signature);
    return blst.verify(message, own(publicKey).native, sig, false, false);
  },

  fastAggregateVerify(publicKeys, message, signature) {
    const sig = decodeSignature(signature);
    return blst.fastAggregateVerify(
      message,
      publicKeys.map((k) => own(k).native),
      sig,
      false,
    );
  },

  aggregateVerify(publicKeys, messages, signature) {
    const sig = decodeSignature(signature);
    return blst.aggregateVerify(
      [...messages],
      publicKeys.map((k) => own(k).native),
      sig,
      false,
      false,
    );
  },

  verifySignatureSets(sets: readonly SignatureSet[]) {
    if (sets.length === 0) return false;
    const native = sets.map((s) => ({ msg: s.message, pk: own(s.publicKey).native, sig: decodeSignature(s.signature) }));
    return blst.verifyMultipleAggregateSignatures(native, false, false);
  },

  aggregateSignatures(signatures) {
    return blst.aggregateSignatures(signatures.map(decodeSignature), false).toBytes(true);
  },

  aggregatePublicKeys(publicKeys) {
    return blst
      .aggregatePublicKeys(
        publicKeys.map((k) => own(k).native),
        false,
      )
      .toBytes(true);
  },

  provePossession(secretKey) {
    return nobleBackend.provePossession(secretKey);
  },

  verifyPossessions(items) {
    return nobleBackend.verifyPossessions(
      items.map((x) => ({ publicKey: nobleBackend.publicKeyFromBytes(x.publicKey.bytes), proof: x.proof })),
    );
  },

  verifyPossession(publicKey, proof) {
    return nobleBackend.verifyPossession(nobleBackend.publicKeyFromBytes(publicKey.bytes), proof);
  },
};
