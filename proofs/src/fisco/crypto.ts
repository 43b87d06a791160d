/**
 * The two cryptography suites a FISCO BCOS chain runs with, chosen per chain:
 *
 * - **ECDSA**: keccak-256 hashes, secp256k1 signatures `r ‖ s ‖ v` (65 bytes, v ∈ {0, 1}); the sender is
 *   the last 20 bytes of keccak-256 of the recovered 64-byte public key.
 * - **SM** (national cryptography, GB/T 32905 SM3 and GB/T 32918 SM2): SM3 hashes, SM2 signatures
 *   `r ‖ s ‖ publicKey` (128 bytes: the key travels with the signature, as SM2 has no recovery); the
 *   sender is the last 20 bytes of SM3 of the 64-byte public key. SM2 verification uses the standard's
 *   default user id `1234567812345678`: `e = SM3(Z ‖ M)` with
 *   `Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ xA ‖ yA)`, and accepts when `(e + x1) mod n = r` for
 *   `(x1, y1) = s·G + (r + s)·P`.
 *
 * Inputs are untrusted: malformed signatures and keys are refused with typed errors, never thrown as
 * library errors.
 */
import { weierstrass } from "@noble/curves/abstract/weierstrass.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesEqual, concatBytes } from "../bytes.ts";
import { FiscoError } from "../errors.ts";
import { sm3 } from "./sm3.ts";

export type CryptoSuite = "ecdsa" | "sm";

export { sm3 };

export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}

export function suiteHash(suite: CryptoSuite, data: Uint8Array): Uint8Array {
  return suite === "sm" ? sm3(data) : keccak256(data);
}

/** The account address of a 64-byte (uncompressed, without 0x04) public key. */
export function addressOf(suite: CryptoSuite, publicKey64: Uint8Array): Uint8Array {
  return suiteHash(suite, publicKey64).subarray(12);
}

const hex = (s: string) => BigInt(`0x${s.replace(/\s/g, "")}`);

/** sm2p256v1, GB/T 32918.5-2017. */
export const SM2_CURVE = {
  p: hex("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFF"),
  a: hex("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF 00000000 FFFFFFFF FFFFFFFC"),
  b: hex("28E9FA9E 9D9F5E34 4D5A9E4B CF6509A7 F39789F5 15AB8F92 DDBCBD41 4D940E93"),
  n: hex("FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54123"),
  h: 1n,
  Gx: hex("32C4AE2C 1F198119 5F990446 6A39C994 8FE30BBF F2660BE1 715A4589 334C74C7"),
  Gy: hex("BC3736A2 F4F6779C 59BDCEE3 6B692153 D0A9877C C62A4740 02DF32E5 2139F0A0"),
} as const;

const Sm2Point = weierstrass(SM2_CURVE);
export const SM2_DEFAULT_USER_ID = new TextEncoder().encode("1234567812345678");

function be32(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = x;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function toBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

/** Z_A of GB/T 32918.2 §5.5 for a 64-byte public key and a user id. */
export function sm2Z(publicKey64: Uint8Array, userId: Uint8Array = SM2_DEFAULT_USER_ID): Uint8Array {
  const entl = userId.length * 8;
  return sm3(
    concatBytes(
      Uint8Array.of((entl >> 8) & 0xff, entl & 0xff),
      userId,
      be32(SM2_CURVE.a),
      be32(SM2_CURVE.b),
      be32(SM2_CURVE.Gx),
      be32(SM2_CURVE.Gy),
      publicKey64,
    ),
  );
}

/** SM2 verification of `r ‖ s` over `message` (hashed with Z_A as the standard says). */
export function sm2Verify(signature64: Uint8Array, message: Uint8Array, publicKey64: Uint8Array, userId?: Uint8Array): boolean {
  if (signature64.length !== 64 || publicKey64.length !== 64) return false;
  const { n } = SM2_CURVE;
  const r = toBig(signature64.subarray(0, 32));
  const s = toBig(signature64.subarray(32));
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  let P: InstanceType<typeof Sm2Point>;
  try {
    P = Sm2Point.fromBytes(concatBytes(Uint8Array.of(4), publicKey64));
    P.assertValidity();
  } catch {
    return false;
  }
  const e = toBig(sm3(concatBytes(sm2Z(publicKey64, userId), message)));
  const t = (r + s) % n;
  if (t === 0n) return false;
  const sum = Sm2Point.BASE.multiply(s).add(P.multiply(t));
  if (sum.is0()) return false;
  return (e + sum.toAffine().x) % n === r;
}

/**
 * The 64-byte public key that signed `hash`, for either suite. ECDSA: recovered from `r ‖ s ‖ v`. SM:
 * the key carried in `r ‖ s ‖ pub`, accepted only if the signature verifies. Throws
 * `SIGNATURE_MALFORMED` or `BAD_SIGNATURE`.
 */
export function signerPublicKey(suite: CryptoSuite, hash: Uint8Array, signature: Uint8Array): Uint8Array {
  if (suite === "ecdsa") {
    if (signature.length !== 65) {
      throw new FiscoError("SIGNATURE_MALFORMED", "an ECDSA signature is r ‖ s ‖ v, 65 bytes", { facts: { length: signature.length } });
    }
    let v = signature[64]!;
    if (v >= 27) v -= 27;
    if (v > 1) throw new FiscoError("SIGNATURE_MALFORMED", "ECDSA recovery id must be 0 or 1", { facts: { v: signature[64] } });
    try {
      const sig = secp256k1.Signature.fromBytes(signature.subarray(0, 64), "compact").addRecoveryBit(v);
      return sig.recoverPublicKey(hash).toBytes(false).subarray(1);
    } catch (cause) {
      throw new FiscoError("BAD_SIGNATURE", "no public key recovers from this ECDSA signature", { cause });
    }
  }
  if (signature.length !== 128) {
    throw new FiscoError("SIGNATURE_MALFORMED", "an SM2 signature is r ‖ s ‖ publicKey, 128 bytes", {
      facts: { length: signature.length },
    });
  }
  const pub = signature.subarray(64);
  if (!sm2Verify(signature.subarray(0, 64), hash, pub)) {
    throw new FiscoError("BAD_SIGNATURE", "the SM2 signature does not verify for the key it carries");
  }
  return pub;
}

/** Throws `BAD_SIGNATURE` unless `signature` is by the account `sender` over `hash`. */
export function checkSender(suite: CryptoSuite, hash: Uint8Array, signature: Uint8Array, sender: Uint8Array): void {
  if (!bytesEqual(addressOf(suite, signerPublicKey(suite, hash, signature)), sender)) {
    throw new FiscoError("BAD_SIGNATURE", "the signature is not by the stated sender");
  }
}

function randomScalar(n: bigint): bigint {
  for (;;) {
    const k = toBig(crypto.getRandomValues(new Uint8Array(40))) % n;
    if (k > 0n) return k;
  }
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, t0, t1] = [m, ((a % m) + m) % m, 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return ((t0 % m) + m) % m;
}

/** The 64-byte public key of a 32-byte secret key. */
export function publicKeyOf(suite: CryptoSuite, secretKey: Uint8Array): Uint8Array {
  if (suite === "ecdsa") return secp256k1.getPublicKey(secretKey, false).subarray(1);
  return Sm2Point.BASE.multiply(toBig(secretKey)).toBytes(false).subarray(1);
}

/**
 * Signs a 32-byte hash the way the suite's transactions carry signatures: ECDSA `r ‖ s ‖ v`, SM2
 * `r ‖ s ‖ publicKey` (GB/T 32918.2 §6.1, default user id, fresh random k).
 */
export function signHash(suite: CryptoSuite, hash: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (suite === "ecdsa") {
    const compact = secp256k1.sign(hash, secretKey, { prehash: false });
    const pub = publicKeyOf("ecdsa", secretKey);
    for (const v of [0, 1]) {
      const candidate = concatBytes(compact, Uint8Array.of(v));
      try {
        if (bytesEqual(signerPublicKey("ecdsa", hash, candidate), pub)) return candidate;
      } catch {
        // try the other recovery id
      }
    }
    throw new FiscoError("BAD_SIGNATURE", "could not determine the recovery id of a fresh signature");
  }
  return concatBytes(sm2Sign(hash, secretKey), publicKeyOf("sm", secretKey));
}

/** SM2 signature `r ‖ s` (64 bytes) over `message` (GB/T 32918.2 §6.1, default user id, fresh random k). */
export function sm2Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const { n } = SM2_CURVE;
  const d = toBig(secretKey);
  if (d < 1n || d >= n - 1n) throw new FiscoError("SIGNATURE_MALFORMED", "SM2 secret key out of range");
  const pub = publicKeyOf("sm", secretKey);
  const e = toBig(sm3(concatBytes(sm2Z(pub), message)));
  for (;;) {
    const k = randomScalar(n);
    const x1 = Sm2Point.BASE.multiply(k).toAffine().x;
    const r = (e + x1) % n;
    if (r === 0n || r + k === n) continue;
    const s = (modInverse(1n + d, n) * (((k - r * d) % n) + n)) % n;
    if (s === 0n) continue;
    return concatBytes(be32(r), be32(s));
  }
}

/** Whether 64 bytes `x ‖ y` are a point of the SM2 curve (not the identity). */
export function sm2PointValid(publicKey64: Uint8Array): boolean {
  if (publicKey64.length !== 64) return false;
  try {
    Sm2Point.fromBytes(concatBytes(Uint8Array.of(4), publicKey64)).assertValidity();
    return true;
  } catch {
    return false;
  }
}
