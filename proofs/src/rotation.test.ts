import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadBls } from "./bls/bls.ts";
import { committeeSetHash } from "./committee.ts";
import { CodecError, CommitteeError } from "./errors.ts";
import { rotationSigningRoot, verifyCommitteeChain } from "./rotation.ts";
import { pilotCommittee, rotate } from "./testing/mod.ts";

const bls = await loadBls();
const e0 = pilotCommittee(bls, "rotation-test");
const e1 = pilotCommittee(bls, "rotation-test-1", 1n);

function error(f: () => unknown): CommitteeError | CodecError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof CommitteeError || e instanceof CodecError, `unexpected ${e}`);
    return e;
  }
  assert.fail("expected an error");
}

describe("committee rotation", () => {
  it("walks a chain and answers which committee signs each epoch", () => {
    const chain = verifyCommitteeChain(e0.committee, [rotate(bls, e0, [0, 1, 3], e1.committee, 500n, 50)], bls);
    assert.equal(chain.latest.epoch, 1n);
    assert.deepEqual(chain.committeeFor(0n).hash, committeeSetHash(e0.committee));
    assert.deepEqual(chain.committeeFor(1n, 500n).hash, committeeSetHash(e1.committee));
    assert.deepEqual(chain.committeeFor(0n, 549n).hash, committeeSetHash(e0.committee));
    assert.equal(error(() => chain.committeeFor(0n, 550n)).code, "EPOCH_EXPIRED");
  });

  it("a genesis at a later epoch is a valid trust anchor", () => {
    const e5 = pilotCommittee(bls, "rotation-test-5", 5n);
    const e6 = pilotCommittee(bls, "rotation-test-6", 6n);
    const chain = verifyCommitteeChain(e5.committee, [rotate(bls, e5, [0, 1, 3], e6.committee)], bls);
    assert.equal(chain.committeeFor(6n).epoch, 6n);
    assert.equal(error(() => chain.committeeFor(4n)).code, "EPOCH_NOT_IN_CHAIN");
  });

  it("names the rotation that carries an invalid committee, keeping the committee's code", () => {
    const broken = {
      ...e1.committee,
      members: e1.committee.members.map((m, i) => (i === 0 ? { ...m, proofOfPossession: e1.committee.members[1]!.proofOfPossession } : m)),
    };
    const e = error(() => verifyCommitteeChain(e0.committee, [rotate(bls, e0, [0, 1, 3], broken)], bls));
    assert.equal(e.code, "INVALID_PROOF_OF_POSSESSION");
    assert.equal(e.facts.rotation, 0);
  });

  it("keeps the rotation's reason as the cause when it is not attested", () => {
    const e = error(() => verifyCommitteeChain(e0.committee, [rotate(bls, e0, [0, 1, 2], e1.committee)], bls));
    assert.equal(e.code, "ROTATION_NOT_ATTESTED");
    assert.equal(e.facts.reason, "QUORUM_GROUP_NOT_MET");
  });

  it("refuses out-of-range times instead of wrapping them", () => {
    const h = committeeSetHash(e0.committee);
    assert.equal(error(() => rotationSigningRoot(h, 0n, h, 1n, 1n << 64n, 0)).code, "VALUE_OUT_OF_RANGE");
    assert.equal(error(() => rotationSigningRoot(h, 0n, h, 1n, 0n, 2 ** 32)).code, "VALUE_OUT_OF_RANGE");
    assert.equal(error(() => rotationSigningRoot(h, -1n, h, 0n, 0n, 0)).code, "VALUE_OUT_OF_RANGE");
  });
});
