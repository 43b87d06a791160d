import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  aggregatePartials,
  batchSigningRoot,
  batchSize,
  decodeAttestation,
  encodeAttestation,
  makeBitfield,
  readBitfield,
  verifyAttestation,
} from "./attestation.ts";
import { loadBls, nobleBls } from "./bls/bls.ts";
import { verifyCommittee } from "./committee.ts";
import { AttestationError } from "./errors.ts";
import { sha256 } from "./hash.ts";
import { errorCode, pilotCommittee, signAs } from "./testing/mod.ts";

const bls = await loadBls();
const pilot = pilotCommittee(bls, "attestation-test");
const vc = verifyCommittee(pilot.committee, bls);
const header = { sourceChainId: 1001n, destinationChainId: 2002n, firstNonce: 1n, lastNonce: 8n, root: sha256(new Uint8Array([1])) };
const root = batchSigningRoot(vc.hash, vc.epoch, header);

const code = (f: () => unknown) => errorCode(f);

describe("attestation", () => {
  it("binds every field of the batch and the committee into the signing root", () => {
    const variants = [
      batchSigningRoot(vc.hash, 1n, header),
      batchSigningRoot(sha256(vc.hash), vc.epoch, header),
      batchSigningRoot(vc.hash, vc.epoch, { ...header, sourceChainId: 1002n }),
      batchSigningRoot(vc.hash, vc.epoch, { ...header, destinationChainId: 2003n }),
      batchSigningRoot(vc.hash, vc.epoch, { ...header, firstNonce: 2n }),
      batchSigningRoot(vc.hash, vc.epoch, { ...header, lastNonce: 9n }),
      batchSigningRoot(vc.hash, vc.epoch, { ...header, root: sha256(new Uint8Array([2])) }),
    ];
    assert.equal(new Set(variants.map((v) => Buffer.from(v).toString("hex"))).size, variants.length);
    for (const v of variants) assert.notDeepEqual(v, root);
  });

  it("rejects empty, reversed and oversize nonce ranges", () => {
    assert.equal(batchSize(header), 8);
    assert.equal(
      code(() => batchSize({ ...header, lastNonce: 0n })),
      "NONCE_RANGE_INVALID",
    );
    assert.equal(
      code(() => batchSize({ ...header, lastNonce: header.firstNonce + (1n << 20n) })),
      "NONCE_RANGE_INVALID",
    );
    assert.equal(
      code(() => batchSigningRoot(vc.hash, -1n, header)),
      "VALUE_OUT_OF_RANGE",
    );
  });

  it("bitfields round-trip and refuse stray bits", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.nat({ max: n - 1 })))),
        ([n, idx]) => {
          const sorted = [...idx].sort((a, b) => a - b);
          assert.deepEqual(readBitfield(makeBitfield(n, idx), n), sorted);
        },
      ),
    );
    assert.equal(
      code(() => readBitfield(new Uint8Array([0b1000_0000]), 7)),
      "BITFIELD_TRAILING_BITS",
    );
    assert.equal(
      code(() => readBitfield(new Uint8Array(2), 8)),
      "BITFIELD_LENGTH",
    );
  });

  it("aggregates verified partials into an attestation both backends accept", () => {
    const partials = [3, 0, 1].map((i) => ({ memberIndex: i, signature: bls.sign(pilot.secretKeys[i]!, root) }));
    const att = aggregatePartials(vc, root, partials, bls);
    assert.deepEqual(readBitfield(att.signers, 4), [0, 1, 3]);
    assert.deepEqual(verifyAttestation(att, vc, root, bls).signerIds, ["shanghai-lowcarbon", "shenzhen-welfare", "regulator"]);
    assert.deepEqual(verifyAttestation(att, verifyCommittee(pilot.committee, nobleBls), root, nobleBls).signedWeight, 3);
    assert.deepEqual(decodeAttestation(encodeAttestation(att)), att);
  });

  it("refuses bad partials and names the members whose signatures fail", () => {
    const sig = (i: number, r = root) => bls.sign(pilot.secretKeys[i]!, r);
    assert.equal(
      code(() => aggregatePartials(vc, root, [{ memberIndex: 4, signature: sig(0) }], bls)),
      "PARTIAL_FROM_UNKNOWN_MEMBER",
    );
    assert.equal(
      code(() =>
        aggregatePartials(
          vc,
          root,
          [
            { memberIndex: 0, signature: sig(0) },
            { memberIndex: 0, signature: sig(0) },
          ],
          bls,
        ),
      ),
      "DUPLICATE_PARTIAL",
    );
    try {
      aggregatePartials(
        vc,
        root,
        [
          { memberIndex: 0, signature: sig(0) },
          { memberIndex: 1, signature: sig(2) },
          { memberIndex: 3, signature: sig(3, sha256(root)) },
        ],
        bls,
      );
      assert.fail("expected BAD_SIGNATURE");
    } catch (e) {
      assert.ok(e instanceof AttestationError);
      assert.equal(e.code, "BAD_SIGNATURE");
      assert.equal(e.facts.members, "shenzhen-welfare,regulator");
    }
    assert.equal(
      code(() => aggregatePartials(vc, root, [{ memberIndex: 0, signature: sig(0) }], bls)),
      "QUORUM_WEIGHT_NOT_MET",
    );
  });

  it("a valid attestation for one lane verifies for no other lane, range or committee epoch", () => {
    const att = signAs(bls, pilot, [0, 1, 3], root);
    verifyAttestation(att, vc, root, bls);
    const other = batchSigningRoot(vc.hash, vc.epoch, { ...header, destinationChainId: 3003n });
    assert.equal(
      code(() => verifyAttestation(att, vc, other, bls)),
      "BAD_SIGNATURE",
    );
    assert.equal(
      code(() => verifyAttestation({ ...att, epoch: 7n }, vc, root, bls)),
      "EPOCH_MISMATCH",
    );
  });
});
