/**
 * The shared protocol vectors (proofs/test/vectors) through the chaincode's transactions, on the test
 * double of a peer: every positive case passes and every negative case is refused with the code the
 * TypeScript core gives. Where the chaincode has no step that corresponds to a bundle's failing step, the
 * test says what the chaincode does instead and why.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { committeeFromJson, encodeMessage, fromHex, messageFromJson, toHex } from "@shandu/proofs";
import { ChaincodeError } from "./errors.ts";
import { checkInclusion } from "./inbox.ts";
import { codeOf, Harness } from "./testing/harness.ts";
import { org1Admin, org1User } from "./testing/identities.ts";

// biome-ignore lint/suspicious/noExplicitAny: vector files are loosely typed JSON; the code under test checks every field.
type Any = Record<string, any>;
const vectors = (name: string): Any =>
  JSON.parse(readFileSync(new URL(`../../../proofs/test/vectors/${name}.json`, import.meta.url), "utf8"));

async function initialised(genesis: unknown, chainId = 2002n): Promise<Harness> {
  const h = new Harness();
  assert.equal(codeOf(await h.initialise(committeeFromJson(genesis), { chainId })), "ok");
  return h;
}

describe("shared vectors through the chaincode", () => {
  it("committees.json: initialise accepts the valid genesis and refuses each invalid one with its code", async () => {
    const v = vectors("committees");
    for (const c of v.valid) {
      const h = new Harness();
      const r = await h.initialise(committeeFromJson(c.committee));
      assert.equal(codeOf(r), "ok", c.name);
      assert.equal(JSON.parse(r.result!).committeeSetHash, c.committeeSetHash, c.name);
    }
    for (const c of v.invalid) {
      const h = new Harness();
      assert.equal(codeOf(await h.initialise(committeeFromJson(c.committee))), c.error, c.name);
      assert.equal(h.ledger.state.size, 0, c.name);
    }
  });

  it("attestations.json: checkAttestation gives each case's verdict and code", async () => {
    const v = vectors("attestations");
    /**
     * The inbox selects the committee by the attestation's epoch (§7.4, before §6.4), as the EVM inbox
     * does, so an epoch with no registered committee is refused as such; `EPOCH_MISMATCH` can only arise
     * where a verifier is handed a committee, not on a registry keyed by epoch.
     */
    const instead: Record<string, string> = { "wrong-epoch": "EPOCH_NOT_IN_CHAIN" };
    const byChain = new Map<string, Harness>();
    for (const c of v.cases) {
      // The inbox is the batch's destination, so the signature check (not the chain check) decides.
      const dst = c.header.destinationChainId as string;
      if (!byChain.has(dst)) byChain.set(dst, await initialised(v.committee, BigInt(dst)));
      const h = byChain.get(dst)!;
      const r = await h.tx(org1User, (ctx) => h.inbox.checkAttestation(ctx, JSON.stringify(c.header), JSON.stringify(c.attestation)));
      assert.equal(codeOf(r), instead[c.name] ?? (c.expect.ok ? "ok" : c.expect.error), c.name);
    }
    assert.ok(v.cases.length >= 18);
  });

  it("rotations.json: each chain registers, or fails at its bad record with its code; clock cases match epochStatus", async () => {
    const v = vectors("rotations");
    for (const chain of v.chains) {
      const h = await initialised(v.genesis);
      let code = "ok";
      for (const r of chain.rotations) {
        code = codeOf(await h.tx(org1User, (ctx) => h.inbox.rotate(ctx, JSON.stringify(r))));
        if (code !== "ok") break;
      }
      assert.equal(code, chain.expect.ok ? "ok" : chain.expect.error, chain.name);
      if (chain.expect.ok) assert.equal((await h.tx(org1User, (ctx) => h.inbox.latestEpoch(ctx))).result, chain.expect.latestEpoch);
      if (chain.name === "two-rotations") {
        for (const k of v.clock) {
          const r = await h.tx(org1User, (ctx) => h.inbox.epochStatus(ctx, k.epoch, k.nowSeconds));
          assert.equal(r.result, k.expect.ok ? "ok" : k.expect.error, `epoch ${k.epoch} at ${k.nowSeconds}`);
        }
      }
    }
  });

  it("merkle.json: the inclusion check deliver uses accepts every proof and refuses each tampered one with its code", () => {
    const v = vectors("merkle");
    const code = (f: () => void) => {
      try {
        f();
        return "ok";
      } catch (e) {
        if (e instanceof ChaincodeError) return e.code;
        throw e;
      }
    };
    for (const t of v.trees) {
      const leaves = t.leaves.map((l: string) => fromHex(l));
      for (const p of t.proofs) {
        const r = code(() =>
          checkInclusion(
            fromHex(t.root),
            leaves.length,
            p.indices,
            p.indices.map((i: number) => leaves[i]),
            p.siblings.map((s: string) => fromHex(s)),
          ),
        );
        assert.equal(r, "ok", `tree of ${leaves.length} ${p.indices}`);
      }
    }
    for (const c of v.invalid) {
      const r = code(() =>
        checkInclusion(
          fromHex(c.root),
          c.treeSize,
          c.indices,
          c.leaves.map((l: string) => fromHex(l)),
          c.siblings.map((s: string) => fromHex(s)),
        ),
      );
      assert.equal(r, c.error, c.name);
    }
  });

  it("bundles.json: each bundle's message delivered (after its rotations) passes or fails as the bundle does", async () => {
    const v = vectors("bundles");
    /** Bundle failures the chaincode cannot see the same way: what it does instead. */
    const instead: Record<string, string> = {
      // A delivery states no message id: the chaincode derives it, so the changed payload is just an
      // attested message whose id is recomputed... and that id is not in the attested tree.
      "payload-changed": "ROOT_MISMATCH",
      // The chaincode has no bundle genesis to compare: it checks the attestation against its own
      // registered committee, which the forged one is not.
      "forged-genesis": "COMMITTEE_HASH_MISMATCH",
      // The stated leaf index and tree size do not exist in a delivery: the chaincode derives both from
      // the header, whose stretched range the committee did not sign.
      "batch-range-stretched": "BAD_SIGNATURE",
      // The regulator envelope is an offline property of the bundle; the message itself is attested.
      "envelope-not-bound": "ok",
    };
    let checked = 0;
    for (const c of v.cases) {
      if (c.expect.failedStep === "format") continue; // not a bundle: nothing to deliver
      const b = c.bundle;
      const h = await initialised(v.genesis, BigInt(b.batch.destinationChainId));
      let code = "ok";
      let time = h.timeSeconds;
      for (const r of b.committees.rotations) {
        code = codeOf(await h.tx(org1Admin, (ctx) => h.inbox.rotate(ctx, JSON.stringify(r))));
        if (code !== "ok") break;
        time = BigInt(r.activatesAtSeconds);
      }
      if (code === "ok") {
        const msg = toHex(encodeMessage(messageFromJson(b.message)));
        const delivery = { header: b.batch, attestation: b.attestation, messages: [msg], siblings: b.inclusion.siblings };
        code = codeOf(await h.tx(org1User, (ctx) => h.inbox.deliver(ctx, JSON.stringify(delivery)), time));
      }
      const want = instead[c.name] ?? (c.expect.ok ? "ok" : c.expect.code);
      assert.equal(code, want, c.name);
      checked++;
    }
    assert.equal(checked, v.cases.length - 1);
  });
});
