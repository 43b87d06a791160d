/**
 * The rogue-key attack on same-message BLS aggregation, for tests: an attacker who sees the victims'
 * public keys registers `pk_r = x·g1 − Σ pk_victim` for a scalar x it knows. The aggregate of pk_r and
 * the victims is then `x·g1`, so `σ = x·H(m)` "verifies" as if every victim had signed. Proofs of
 * possession stop this: nobody knows the secret key of pk_r, so no valid PoP for it exists.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { DST_SIGNATURE } from "../src/mod.ts";

const G1 = bls12_381.G1.Point;
const L = bls12_381.longSignatures;

export interface RogueKey {
  publicKey: Uint8Array;
  /** σ = x·H(message): verifies against the aggregate of the rogue key and the victims. */
  forge(message: Uint8Array): Uint8Array;
}

export function rogueKeyOf(...victims: Uint8Array[]): RogueKey {
  const x = 0x5ead_beefn * 1_000_003n + 17n;
  let pk = G1.BASE.multiply(x);
  for (const v of victims) pk = pk.subtract(G1.fromBytes(v));
  return {
    publicKey: pk.toBytes(true),
    forge: (message) => L.Signature.toBytes(L.hash(message, DST_SIGNATURE).multiply(x)),
  };
}
