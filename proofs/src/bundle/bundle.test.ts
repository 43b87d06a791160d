import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { loadBls } from "../bls/bls.ts";
import { CodecError, ShanduError } from "../errors.ts";
import { sha256 } from "../hash.ts";
import { type Message, MessageKind } from "../message.ts";
import { attestBatch, pilotCommittee, rotate } from "../testing/mod.ts";
import { buildBatch, bundleFor } from "./build.ts";
import { bundleToJson, decodeBundleBinary, encodeBundleBinary, type ProofBundle, parseBundle, readBundleBytes } from "./bundle.ts";
import { BundleVerifier, type EvidenceVerifier, STEP_NAMES } from "./verify.ts";

const bls = await loadBls();
const genesis = pilotCommittee(bls, "bundle-test");
const epoch1 = pilotCommittee(bls, "bundle-test-1", 1n);
const rotation = rotate(bls, genesis, [0, 1, 3], epoch1.committee, 1_000n, 100);

const msg = (nonce: bigint, payload: Uint8Array): Message => ({
  version: 1,
  sourceChainId: 1001n,
  destinationChainId: 2002n,
  nonce,
  kind: MessageKind.app,
  sender: new Uint8Array(20).fill(1),
  recipient: new Uint8Array(20).fill(2),
  payload,
  source: { blockNumber: 40n + nonce, txHash: sha256(new Uint8Array([Number(nonce)])), logIndex: 0 },
});
const commitment = sha256(new Uint8Array([9]));
const batch = buildBatch(Array.from({ length: 7 }, (_, i) => msg(30n + BigInt(i), new Uint8Array([...commitment, i]))));
const att0 = attestBatch(bls, genesis, [0, 1, 3], batch.header);
const att1 = attestBatch(bls, epoch1, [0, 1, 2, 3], batch.header);
const envelope = { commitment, payloadOffset: 0, scheme: "hpke-base-x25519-sha256-aes128gcm" };
const bundle0 = bundleFor(batch, 4, att0, { genesis: genesis.committee, rotations: [] }, { regulatorEnvelope: envelope });
const bundle1 = bundleFor(batch, 4, att1, { genesis: genesis.committee, rotations: [rotation] }, { regulatorEnvelope: envelope });
const verifier = new BundleVerifier({ trustedGenesis: genesis.committee, bls });

const failedAt = (b: ProofBundle, v = verifier) => {
  const r = v.verify(b);
  return r.steps.filter((s) => s.status === "failed").map((s) => `${s.step}:${s.code}`);
};

describe("proof bundles", () => {
  it("round-trip through JSON and the binary form", () => {
    for (const b of [bundle0, bundle1]) {
      const json = JSON.stringify(bundleToJson(b));
      assert.deepEqual(bundleToJson(parseBundle(json)), bundleToJson(b));
      const bin = encodeBundleBinary(b);
      const { messageId: _, ...rest } = b;
      assert.deepEqual(decodeBundleBinary(bin), rest);
      assert.deepEqual(readBundleBytes(bin), rest);
      assert.ok(bin.length < json.length / 2, `binary ${bin.length} bytes vs JSON ${json.length}`);
    }
  });

  it("every message of a batch verifies, before and after a rotation", () => {
    for (let i = 0; i < 7; i++) {
      for (const [att, rotations] of [
        [att0, []],
        [att1, [rotation]],
      ] as const) {
        const r = verifier.verify(bundleFor(batch, i, att, { genesis: genesis.committee, rotations: [...rotations] }));
        assert.equal(r.ok, true, JSON.stringify(r.steps));
        assert.deepEqual(
          r.steps.map((s) => s.step),
          STEP_NAMES,
        );
      }
    }
  });

  it("flipping any bit of the signed core of a binary bundle makes it fail", () => {
    const bin = encodeBundleBinary({ ...bundle1, sourceEvidence: null, destinationEvidence: null, regulatorEnvelope: null });
    const core = bin.length - 4 - 4 - 1; // two empty evidence sections and the envelope flag follow the core
    fc.assert(
      fc.property(fc.integer({ min: 0, max: core - 1 }), fc.integer({ min: 0, max: 7 }), (pos, bit) => {
        const t = bin.slice();
        t[pos]! ^= 1 << bit;
        assert.equal(verifier.verifyBytes(t).ok, false, `byte ${pos} bit ${bit}`);
      }),
      { numRuns: 600 },
    );
  });

  it("never throws on malformed input: every failure is a report", () => {
    const bin = encodeBundleBinary(bundle0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bin.length }), fc.uint8Array({ maxLength: 8 }), (cut, junk) => {
        const r = verifier.verifyBytes(new Uint8Array([...bin.subarray(0, cut), ...junk]));
        assert.equal(typeof r.ok, "boolean");
      }),
      { numRuns: 300 },
    );
    const r = verifier.verifyBytes(new TextEncoder().encode("{not json"));
    assert.deepEqual(
      r.steps.map((s) => s.status),
      ["failed", ...STEP_NAMES.slice(1).map(() => "not-checked")],
    );
    assert.equal(r.steps[0]!.code, "NOT_A_BUNDLE");
    const badGenesis = JSON.parse(JSON.stringify(bundleToJson(bundle0)));
    badGenesis.committees.genesis.members = [];
    assert.deepEqual(failedAt(parseBundle(JSON.stringify(badGenesis))), ["trust-anchor:EMPTY_COMMITTEE"]);
  });

  it("applies rotation grace periods only when given a clock", () => {
    const at = (now: bigint) => new BundleVerifier({ trustedGenesis: genesis.committee, bls, nowSeconds: now });
    assert.deepEqual(failedAt(bundle0, at(1_099n)), []);
    // bundle0 carries no rotation: on its own it cannot show that epoch 0 was rotated out...
    assert.deepEqual(failedAt(bundle0, at(1_100n)), []);
    // ...but a verifier that knows the rotation applies it, and refuses a bundle that contradicts it.
    const knowing = new BundleVerifier({ trustedGenesis: genesis.committee, bls, nowSeconds: 1_100n, knownRotations: [rotation] });
    assert.deepEqual(failedAt(bundle0, knowing), ["committee-chain:EPOCH_EXPIRED"]);
    assert.deepEqual(failedAt(bundle1, knowing), []);
    const fork = rotate(bls, genesis, [0, 1, 3], pilotCommittee(bls, "bundle-test-fork", 1n).committee, 1_000n, 100);
    const forked = { ...bundle1, committees: { genesis: genesis.committee, rotations: [fork] } };
    assert.deepEqual(failedAt(forked, knowing), ["committee-chain:ROTATION_CONFLICT"]);
    assert.deepEqual(failedAt(bundle1, at(999n)), ["committee-chain:EPOCH_NOT_YET_ACTIVE"]);
    assert.deepEqual(failedAt(bundle1, at(5_000n)), []);
  });

  it("reports evidence with a registered verifier as passed or failed, and other kinds as not checked", () => {
    const kind = "test-double-receipt";
    const checker: EvidenceVerifier = {
      kind,
      verify(ev, ctx) {
        if (ev.messageId !== `0x${Buffer.from(ctx.messageId).toString("hex")}`) {
          throw new CodecError("VALUE_OUT_OF_RANGE", "evidence is for another message");
        }
        return "receipt matches";
      },
    };
    const v = new BundleVerifier({ trustedGenesis: genesis.committee, bls, evidenceVerifiers: [checker] });
    const id = `0x${Buffer.from(batch.ids[4]!).toString("hex")}`;
    const good = { ...bundle0, sourceEvidence: { kind, messageId: id } };
    const r = v.verify(good);
    assert.equal(r.ok, true);
    assert.equal(r.steps.find((s) => s.step === "source-evidence")?.status, "passed");
    assert.deepEqual(failedAt({ ...bundle0, destinationEvidence: { kind, messageId: "0x00" } }, v), [
      "destination-evidence:VALUE_OUT_OF_RANGE",
    ]);
    const unknown = v.verify({ ...bundle0, sourceEvidence: { kind: "fabric-endorsement" } });
    assert.equal(unknown.ok, true);
    assert.equal(unknown.steps.find((s) => s.step === "source-evidence")?.status, "not-checked");
  });

  it("refuses to encode out-of-range values instead of wrapping them", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof ShanduError);
        return e.code;
      }
      return "ok";
    };
    assert.equal(
      code(() => encodeBundleBinary({ ...bundle0, inclusion: { ...bundle0.inclusion, treeSize: 2 ** 32 + 1 } })),
      "VALUE_OUT_OF_RANGE",
    );
    assert.equal(
      code(() => encodeBundleBinary({ ...bundle0, attestation: { ...bundle0.attestation, epoch: -1n } })),
      "VALUE_OUT_OF_RANGE",
    );
    assert.equal(
      code(() => encodeBundleBinary({ ...bundle0, regulatorEnvelope: { ...envelope, payloadOffset: -1 } })),
      "VALUE_OUT_OF_RANGE",
    );
    assert.equal(
      code(() => encodeBundleBinary({ ...bundle0, batch: { ...bundle0.batch, firstNonce: (1n << 64n) + 5n } })),
      "NONCE_RANGE_INVALID",
    );
    assert.equal(
      code(() => encodeBundleBinary({ ...bundle0, regulatorEnvelope: { ...envelope, scheme: "x".repeat(65) } })),
      "SCHEMA",
    );
    const longGrace = { ...bundle1, committees: { ...bundle1.committees, rotations: [{ ...rotation, graceSeconds: 2 ** 32 }] } };
    assert.equal(
      code(() => encodeBundleBinary(longGrace)),
      "VALUE_OUT_OF_RANGE",
    );
    // An empty envelope scheme is refused by the binary reader as by the JSON one.
    const bin = encodeBundleBinary({ ...bundle0, regulatorEnvelope: { ...envelope, scheme: "x" } });
    const emptied = new Uint8Array([...bin.subarray(0, bin.length - 2), 0]);
    assert.equal(
      code(() => decodeBundleBinary(emptied)),
      "BAD_LENGTH",
    );
    // Bytes that are neither a binary bundle nor UTF-8 text.
    assert.equal(
      code(() => readBundleBytes(new Uint8Array([0xff, 0xfe, 0x7b]))),
      "NOT_A_BUNDLE",
    );
  });

  it("shares one pairing check between bundles of the same batch", () => {
    const v = new BundleVerifier({ trustedGenesis: genesis.committee, bls });
    let calls = 0;
    const counting = Object.create(bls) as typeof bls;
    counting.fastAggregateVerify = (...args) => {
      calls++;
      return bls.fastAggregateVerify(...args);
    };
    const vc = new BundleVerifier({ trustedGenesis: genesis.committee, bls: counting });
    for (let i = 0; i < 7; i++) assert.equal(vc.verify(bundleFor(batch, i, att0, { genesis: genesis.committee, rotations: [] })).ok, true);
    assert.equal(calls, 1);
    assert.equal(v.verify(bundle0).ok, true);
  });
});
