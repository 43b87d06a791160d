/**
 * KeyGen from draft-irtf-cfrg-bls-signature-05 §2.3 (the version blst implements):
 * `salt ← H(salt); PRK = HKDF-Extract(salt, IKM ‖ 0x00); OKM = HKDF-Expand(PRK, info ‖ I2OSP(48, 2), 48);
 * SK = OS2IP(OKM) mod r`, repeated while SK = 0, starting from salt "BLS-SIG-KEYGEN-SALT-".
 * Both backends derive keys through this function, so a seed gives the same key everywhere.
 */
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8 } from "../bytes.ts";
import { BlsError } from "../errors.ts";

/** The order of G1/G2. */
export const CURVE_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

export function keyGen(ikm: Uint8Array, keyInfo: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (ikm.length < 32) {
    throw new BlsError("INVALID_SECRET_KEY", "key material must be at least 32 bytes", { facts: { length: ikm.length } });
  }
  let salt = utf8("BLS-SIG-KEYGEN-SALT-");
  const info = concatBytes(keyInfo, new Uint8Array([0, 48]));
  for (;;) {
    salt = sha256(salt);
    const prk = extract(sha256, concatBytes(ikm, new Uint8Array([0])), salt);
    const okm = expand(sha256, prk, info, 48);
    let x = 0n;
    for (const b of okm) x = (x << 8n) | BigInt(b);
    const sk = x % CURVE_ORDER;
    if (sk !== 0n) return scalarToBytes(sk);
  }
}

export function scalarToBytes(s: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = s;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function bytesToScalar(b: Uint8Array): bigint {
  let x = 0n;
  for (const byte of b) x = (x << 8n) | BigInt(byte);
  return x;
}

/** Throws `INVALID_SECRET_KEY` unless `sk` is 32 bytes encoding a scalar in [1, r). */
export function checkSecretKey(sk: Uint8Array): void {
  if (!(sk instanceof Uint8Array) || sk.length !== 32) {
    throw new BlsError("INVALID_SECRET_KEY", "secret keys are 32 bytes");
  }
  const s = bytesToScalar(sk);
  if (s === 0n || s >= CURVE_ORDER) throw new BlsError("INVALID_SECRET_KEY", "secret key is zero or not below the curve order");
}
