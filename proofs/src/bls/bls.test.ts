import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as blst from "@chainsafe/blst";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { rogueKeyOf } from "../../test/rogue.ts";
import { utf8 } from "../bytes.ts";
import { BlsError } from "../errors.ts";
import { sha256 } from "../hash.ts";
import { errorCode } from "../testing/mod.ts";
import { type Bls, loadBls, nobleBls } from "./bls.ts";
import { keyGen } from "./keygen.ts";

const native = await loadBls("blst");
const backends: Bls[] = [native, nobleBls];
const sk = (i: number) => keyGen(sha256(utf8(`bls-test-${i}`)));
const msg = utf8("shandu attestation root");
const INFINITY_G1 = new Uint8Array([0xc0, ...new Uint8Array(47)]);
const INFINITY_G2 = new Uint8Array([0xc0, ...new Uint8Array(95)]);

/**
 * A point on G1 outside the prime-order subgroup (a curve point that was not cofactor-cleared), encoded by
 * hand: noble refuses to serialise such a point. Compressed form: x big-endian with flag 0x80, and 0x20
 * when y is the larger square root.
 */
function g1NotInSubgroup(): Uint8Array {
  const { Fp } = bls12_381.fields;
  for (let x = 1n; x < 1000n; x++) {
    let y: bigint;
    try {
      y = Fp.sqrt(Fp.add(Fp.mul(Fp.mul(x, x), x), 4n));
    } catch {
      continue;
    }
    if (bls12_381.G1.Point.fromAffine({ x, y }).isTorsionFree()) continue;
    const out = new Uint8Array(48);
    let v = x;
    for (let i = 47; i >= 0; i--) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    out[0]! |= 0x80 | (y > (Fp.ORDER - 1n) / 2n ? 0x20 : 0);
    return out;
  }
  throw new Error("no non-subgroup point found");
}

const blsCode = (f: () => unknown) => errorCode(f, BlsError);

describe("BLS layer", () => {
  it("derives the same key as blst's own KeyGen", () => {
    for (let i = 0; i < 5; i++) {
      const ikm = sha256(utf8(`ikm-${i}`));
      assert.equal(Buffer.from(keyGen(ikm)).toString("hex"), blst.SecretKey.fromKeygen(ikm).toHex().replace(/^0x/, ""));
    }
    assert.equal(
      blsCode(() => keyGen(new Uint8Array(31))),
      "INVALID_SECRET_KEY",
    );
  });

  for (const signer of backends) {
    for (const verifier of backends) {
      it(`${verifier.name} verifies what ${signer.name} signs`, () => {
        const pk = verifier.publicKey(signer.publicKeyOf(sk(1)));
        const sig = signer.sign(sk(1), msg);
        assert.equal(verifier.verify(pk, msg, sig), true);
        assert.equal(verifier.verify(pk, utf8("another root"), sig), false);
        assert.equal(verifier.verify(verifier.publicKey(signer.publicKeyOf(sk(2))), msg, sig), false);
        const pop = signer.provePossession(sk(1));
        assert.equal(verifier.verifyPossession(pk, pop), true);
        assert.equal(verifier.verifyPossession(verifier.publicKey(signer.publicKeyOf(sk(2))), pop), false);
        // A PoP is not a signature over the key bytes under the signing tag, and vice versa.
        assert.equal(verifier.verifyPossession(pk, signer.sign(sk(1), pk.bytes)), false);
        assert.equal(verifier.verify(pk, pk.bytes, pop), false);
      });

      it(`${verifier.name} fast-aggregate-verifies ${signer.name} aggregates`, () => {
        const keys = [1, 2, 3, 4].map((i) => verifier.publicKey(signer.publicKeyOf(sk(i))));
        const agg = signer.aggregateSignatures([1, 2, 3, 4].map((i) => signer.sign(sk(i), msg)));
        assert.equal(verifier.fastAggregateVerify(keys, msg, agg), true);
        assert.equal(verifier.fastAggregateVerify(keys.slice(0, 3), msg, agg), false);
        assert.deepEqual(signer.aggregatePublicKeys(keys), verifier.aggregatePublicKeys(keys));
      });
    }
  }

  for (const bls of backends) {
    it(`${bls.name}: refuses infinity keys and signatures, non-subgroup points and bad encodings`, () => {
      assert.equal(
        blsCode(() => bls.publicKey(INFINITY_G1)),
        "PUBLIC_KEY_INFINITY",
      );
      assert.equal(
        blsCode(() => bls.publicKey(g1NotInSubgroup())),
        "INVALID_PUBLIC_KEY",
      );
      assert.equal(
        blsCode(() => bls.publicKey(new Uint8Array(48).fill(0xff))),
        "INVALID_PUBLIC_KEY",
      );
      assert.equal(
        blsCode(() => bls.publicKey(new Uint8Array(47))),
        "INVALID_PUBLIC_KEY",
      );
      const pk = bls.publicKey(bls.publicKeyOf(sk(1)));
      assert.equal(
        blsCode(() => bls.verify(pk, msg, INFINITY_G2)),
        "SIGNATURE_INFINITY",
      );
      assert.equal(
        blsCode(() => bls.verify(pk, msg, new Uint8Array(96).fill(0xff))),
        "INVALID_SIGNATURE",
      );
      assert.equal(
        blsCode(() => bls.verify(pk, msg, new Uint8Array(95))),
        "INVALID_SIGNATURE",
      );
      assert.equal(
        blsCode(() => bls.fastAggregateVerify([pk], msg, INFINITY_G2)),
        "SIGNATURE_INFINITY",
      );
      assert.equal(
        blsCode(() => bls.sign(new Uint8Array(32), msg)),
        "INVALID_SECRET_KEY",
      );
      assert.equal(
        blsCode(() => bls.sign(new Uint8Array(32).fill(0xff), msg)),
        "INVALID_SECRET_KEY",
      );
    });

    it(`${bls.name}: refuses empty and duplicate signer sets`, () => {
      const pk = bls.publicKey(bls.publicKeyOf(sk(1)));
      const sig = bls.sign(sk(1), msg);
      assert.equal(
        blsCode(() => bls.fastAggregateVerify([], msg, sig)),
        "EMPTY_SIGNER_SET",
      );
      assert.equal(
        blsCode(() => bls.fastAggregateVerify([pk, pk], msg, bls.aggregateSignatures([sig, sig]))),
        "DUPLICATE_SIGNER",
      );
      assert.equal(
        blsCode(() => bls.aggregateSignatures([])),
        "EMPTY_SIGNER_SET",
      );
      assert.equal(
        blsCode(() => bls.aggregatePublicKeys([])),
        "EMPTY_SIGNER_SET",
      );
      assert.equal(
        blsCode(() => bls.verifySignatureSets([])),
        "EMPTY_SIGNER_SET",
      );
    });

    it(`${bls.name}: batch verification names the bad sets`, () => {
      const sets = [1, 2, 3, 4, 5].map((i) => {
        const m = utf8(`root-${i}`);
        return { publicKey: bls.publicKey(bls.publicKeyOf(sk(i))), message: m, signature: bls.sign(sk(i), m) };
      });
      assert.deepEqual(bls.verifySignatureSets(sets), { ok: true, invalid: [] });
      const bad = sets.map((s) => ({ ...s }));
      bad[1]!.signature = bad[2]!.signature;
      bad[4]!.signature = INFINITY_G2;
      assert.deepEqual(bls.verifySignatureSets(bad), { ok: false, invalid: [1, 4] });
      assert.deepEqual(bls.verifySignatureSets([bad[1]!]), { ok: false, invalid: [0] });
    });

    it(`${bls.name}: checks many proofs of possession at once and names the bad ones`, () => {
      const items = [1, 2, 3, 4].map((i) => ({ publicKey: bls.publicKey(bls.publicKeyOf(sk(i))), proof: bls.provePossession(sk(i)) }));
      assert.deepEqual(bls.verifyPossessions(items), { ok: true, invalid: [] });
      const bad = items.map((x) => ({ ...x }));
      bad[0]!.proof = items[1]!.proof;
      bad[3]!.proof = bls.sign(sk(4), items[3]!.publicKey.bytes); // right key, signing tag instead of the PoP tag
      assert.deepEqual(bls.verifyPossessions(bad), { ok: false, invalid: [0, 3] });
      assert.equal(
        blsCode(() => bls.verifyPossessions([])),
        "EMPTY_SIGNER_SET",
      );
    });

    it(`${bls.name}: a rogue key forges an aggregate unless proof of possession is required`, () => {
      const victims = [2, 3].map((i) => bls.publicKey(bls.publicKeyOf(sk(i))));
      const rogue = rogueKeyOf(...victims.map((v) => v.bytes));
      const rogueKey = bls.publicKey(rogue.publicKey);
      const forged = rogue.forge(msg);
      // The attack is real at the aggregation layer: the victims never signed, yet the aggregate verifies.
      assert.equal(bls.fastAggregateVerify([rogueKey, ...victims], msg, forged), true);
      // It is stopped at registration: the attacker cannot prove possession of the rogue key.
      assert.equal(bls.verifyPossession(rogueKey, forged), false);
      assert.equal(bls.verifyPossession(rogueKey, rogue.forge(rogue.publicKey)), false);
    });
  }

  it("loadBls falls back to the pure-JS backend only when asked for auto", async () => {
    assert.equal((await loadBls("noble")).name, "noble");
    assert.equal((await loadBls("auto")).name, "blst");
  });
});
