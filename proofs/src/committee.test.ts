import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { loadBls } from "./bls/bls.ts";
import {
  type Committee,
  checkQuorum,
  committeeSetHash,
  decodeCommittee,
  encodeCommittee,
  sameCommittee,
  verifyCommittee,
} from "./committee.ts";
import type { AttestationError } from "./errors.ts";
import { errorCode, makeTestCommittee, pilotCommittee } from "./testing/mod.ts";

const bls = await loadBls();
const pilot = pilotCommittee(bls, "committee-test");

const code = (f: () => unknown) => errorCode(f);

describe("committee", () => {
  it("encodes canonically and decodes strictly", () => {
    const c: Committee = {
      ...pilot.committee,
      members: pilot.committee.members.map((m, i) =>
        i === 0 ? { ...m, nativeKeys: [{ scheme: "secp256k1" as const, publicKey: new Uint8Array(33).fill(2) }] } : m,
      ),
    };
    const enc = encodeCommittee(c);
    assert.deepEqual(decodeCommittee(enc), c);
    assert.equal(
      code(() => decodeCommittee(new Uint8Array([...enc, 0]))),
      "TRAILING_BYTES",
    );
    assert.equal(
      code(() => decodeCommittee(enc.subarray(0, enc.length - 1))),
      "TRUNCATED",
    );
  });

  it("hashes every field: epoch, members, order, weights, keys and policy", () => {
    const base = committeeSetHash(pilot.committee);
    const c = pilot.committee;
    const variants: Committee[] = [
      { ...c, epoch: 1n },
      { ...c, members: [...c.members].reverse() },
      { ...c, members: c.members.map((m, i) => (i === 0 ? { ...m, weight: 2 } : m)) },
      { ...c, members: c.members.map((m, i) => (i === 0 ? { ...m, group: "other" } : m)) },
      { ...c, policy: { ...c.policy, threshold: { numerator: 3, denominator: 4 } } },
      { ...c, policy: { ...c.policy, groups: c.policy.groups.slice(1) } },
    ];
    for (const v of variants) {
      assert.notDeepEqual(committeeSetHash(v), base);
      assert.equal(sameCommittee(v, pilot.committee), false);
    }
    assert.equal(sameCommittee(structuredClone(pilot.committee), pilot.committee), true);
  });

  it("rejects names that are empty, too long or not well-formed text", () => {
    const with0 = (id: string) => ({ ...pilot.committee, members: pilot.committee.members.map((m, i) => (i === 0 ? { ...m, id } : m)) });
    assert.equal(
      code(() => encodeCommittee(with0(""))),
      "FIELD_TOO_LONG",
    );
    assert.equal(
      code(() => encodeCommittee(with0("x".repeat(65)))),
      "FIELD_TOO_LONG",
    );
    assert.equal(
      code(() => encodeCommittee(with0("\ud800"))),
      "BAD_LENGTH",
    );
  });

  it("checks quorum exactly as the policy states, for every signer subset", () => {
    const tc = makeTestCommittee(bls, {
      seed: "weights",
      members: [
        { id: "a1", group: "alliance-a", weight: 3 },
        { id: "a2", group: "alliance-a", weight: 1 },
        { id: "b1", group: "alliance-b", weight: 2 },
        { id: "bank", group: "bank", weight: 1 },
        { id: "reg", group: "regulator", weight: 2 },
      ],
      policy: {
        threshold: { numerator: 2, denominator: 3 },
        groups: [
          { group: "alliance-a", minSigners: 1 },
          { group: "alliance-b", minSigners: 1 },
          { group: "regulator", minSigners: 1 },
        ],
      },
    });
    const vc = verifyCommittee(tc.committee, bls);
    const members = tc.committee.members;
    for (let mask = 1; mask < 1 << members.length; mask++) {
      const idx = members.map((_, i) => i).filter((i) => mask & (1 << i));
      const weight = idx.reduce((s, i) => s + members[i]!.weight, 0);
      const groups = new Set(idx.map((i) => members[i]!.group));
      const expected =
        weight * 3 < 2 * 9
          ? "QUORUM_WEIGHT_NOT_MET"
          : ["alliance-a", "alliance-b", "regulator"].every((g) => groups.has(g))
            ? "ok"
            : "QUORUM_GROUP_NOT_MET";
      const got = (() => {
        try {
          checkQuorum(vc, idx);
          return "ok";
        } catch (e) {
          return (e as AttestationError).code;
        }
      })();
      assert.equal(got, expected, `signers ${idx}`);
    }
    assert.equal(
      code(() => checkQuorum(vc, [])),
      "EMPTY_SIGNER_SET",
    );
  });

  it("compares weight with exact integer arithmetic at the largest sizes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffff_ffff }), fc.integer({ min: 1, max: 0xffff_ffff }), (w, extra) => {
        // Two members: signing with one of weight w out of w + extra needs w·3 ≥ 2·(w + extra).
        const vc = {
          committee: {
            epoch: 0n,
            members: [
              { ...pilot.committee.members[0]!, weight: w },
              { ...pilot.committee.members[1]!, weight: extra },
            ],
            policy: { threshold: { numerator: 2, denominator: 3 }, groups: [] },
          },
          epoch: 0n,
          hash: new Uint8Array(32),
          keys: [],
          totalWeight: w + extra,
        };
        const ok = BigInt(w) * 3n >= 2n * BigInt(w + extra);
        let got = true;
        try {
          checkQuorum(vc, [0]);
        } catch {
          got = false;
        }
        assert.equal(got, ok);
      }),
    );
  });

  it("verification is cached per committee hash and backend, and never caches a failure as a success", () => {
    assert.equal(verifyCommittee(pilot.committee, bls), verifyCommittee(pilot.committee, bls));
    const bad = {
      ...pilot.committee,
      members: pilot.committee.members.map((m, i) =>
        i === 2 ? { ...m, proofOfPossession: pilot.committee.members[3]!.proofOfPossession } : m,
      ),
    };
    assert.equal(
      code(() => verifyCommittee(bad, bls)),
      "INVALID_PROOF_OF_POSSESSION",
    );
    assert.equal(
      code(() => verifyCommittee(bad, bls)),
      "INVALID_PROOF_OF_POSSESSION",
    );
  });
});
