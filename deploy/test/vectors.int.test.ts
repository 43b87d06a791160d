/**
 * The shared protocol vectors (proofs/test/vectors) run against the Solidity contracts on a real anvil
 * node: every valid case passes and every negative case fails with the same error code as in TypeScript.
 * Cases that only exist above the byte level (JSON schema cases) are not in these files.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import {
  attestationFromJson,
  batchFromJson,
  type Committee,
  committeeFromJson,
  committeeSetHash,
  encodeCommittee,
  encodeMessage,
  messageFromJson,
  rotationFromJson,
  toHex,
} from "@shandu/proofs";
import { type Contract, Interface, type Wallet } from "ethers";
import {
  type CommitteeInput,
  codeFromBytes32,
  committeeInput,
  evmAttestation,
  evmBatchHeader,
  g1ToEip2537,
  g2ToEip2537,
} from "../src/evm.ts";
import { loadArtifact } from "../src/mod.ts";

const vectors = (name: string) => JSON.parse(readFileSync(new URL(`../../proofs/test/vectors/${name}.json`, import.meta.url), "utf8"));

const errors = new Interface(loadArtifact("ShanduInbox").abi);

/** The protocol code of a revert, or "" when the call did not revert with a Shandu error. */
function codeOf(err: unknown): string {
  const data =
    (err as { data?: string; info?: { error?: { data?: string } } }).data ??
    (err as { info?: { error?: { data?: string } } }).info?.error?.data;
  if (typeof data !== "string") return `(no revert data: ${(err as Error).message})`;
  const parsed = errors.parseError(data);
  if (!parsed) return `(unknown revert ${data})`;
  if (parsed.name === "ShanduRotationNotAttested") return "ROTATION_NOT_ATTESTED";
  return codeFromBytes32(parsed.args[0] as string);
}

async function expectCode(p: Promise<unknown>, code: string, label: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.equal(codeOf(err), code, label);
    return;
  }
  assert.fail(`${label}: expected ${code}, but the call succeeded`);
}

/**
 * The EIP-2537 form of a compressed point, as hex without 0x; for bytes that are no point, the x
 * coordinate(s) with the flag bits cleared and y = 0, which is not on the curve.
 */
function pointOrGarbage(compressed: Uint8Array, size: 128 | 256): string {
  try {
    return toHex(size === 128 ? g1ToEip2537(compressed) : g2ToEip2537(compressed)).slice(2);
  } catch {
    const x = Uint8Array.from(compressed);
    x[0] = (x[0] ?? 0) & 0x1f;
    const pad = (b: Uint8Array) => "00".repeat(16) + toHex(b).slice(2);
    const coords = size === 128 ? [x] : [x.subarray(48, 96), x.subarray(0, 48)];
    return coords.map(pad).join("") + "00".repeat(size / 2);
  }
}

/** The compressed encoding of the G2 point at infinity. */
const INFINITY_G2 = Uint8Array.from({ length: 96 }, (_, i) => (i === 0 ? 0xc0 : 0));

/** The committee input for a committee that might not encode (the "empty" case is built by hand). */
function inputFor(c: Committee): CommitteeInput {
  if (c.members.length === 0) {
    const enc = new Uint8Array(10);
    new DataView(enc.buffer).setBigUint64(0, c.epoch);
    return { encoding: toHex(enc), keys: "0x", pops: "0x" };
  }
  try {
    return committeeInput(c);
  } catch {
    // A key or proof that does not decompress: hand over its x coordinate with y = 0 (not on the curve), as
    // a relayer that wanted to slip it in would have to.
    const keys = c.members.map((m) => pointOrGarbage(m.blsPublicKey, 128));
    const pops = c.members.map((m) => pointOrGarbage(m.proofOfPossession, 256));
    return { encoding: toHex(encodeCommittee(c)), keys: `0x${keys.join("")}`, pops: `0x${pops.join("")}` };
  }
}

describe("Solidity contracts against the shared vectors (anvil, prague)", () => {
  let node: AnvilNode;
  let harness: Contract;
  let signer: Wallet;

  before(async () => {
    node = await startAnvil();
    signer = node.wallet(0);
    harness = await deployContract(signer, "ShanduVectorHarness", []);
  });
  after(async () => {
    await node?.close();
  });

  it("messages.json: ids of valid messages; codes of invalid encodings", async () => {
    const v = vectors("messages");
    for (const c of v.valid) {
      const m = messageFromJson(c.message);
      const [id, src, dst, nonce, kind] = await harness.getFunction("messageId")(c.encoding);
      assert.equal(id, c.messageId, c.name);
      assert.deepEqual([src, dst, nonce, Number(kind)], [m.sourceChainId, m.destinationChainId, m.nonce, m.kind], c.name);
      assert.equal(toHex(encodeMessage(m)), c.encoding, c.name);
    }
    for (const c of v.invalid) await expectCode(harness.getFunction("messageId")(c.encoding), c.error, c.name);
    assert.ok(v.valid.length >= 3 && v.invalid.length >= 9);
  });

  it("merkle.json: every proof of every tree verifies; tampered proofs fail with their code", async () => {
    const v = vectors("merkle");
    let proofs = 0;
    for (const t of v.trees) {
      for (const p of t.proofs) {
        const leaves = p.indices.map((i: number) => t.leaves[i]);
        assert.equal(await harness.getFunction("verifyMultiproof")(t.root, t.leaves.length, p.indices, leaves, p.siblings), true);
        proofs++;
      }
    }
    for (const c of v.invalid) {
      await expectCode(harness.getFunction("verifyMultiproof")(c.root, c.treeSize, c.indices, c.leaves, c.siblings), c.error, c.name);
    }
    assert.ok(proofs > 10 && v.invalid.length >= 8);
  });

  it("committees.json: the valid committee hashes as in TypeScript; invalid ones fail with their code", async () => {
    const v = vectors("committees");
    for (const c of v.valid) {
      const committee = committeeFromJson(c.committee);
      assert.equal(await harness.getFunction("checkCommittee")(committeeInput(committee)), toHex(committeeSetHash(committee)), c.name);
    }
    for (const c of v.invalid)
      await expectCode(harness.getFunction("checkCommittee")(inputFor(committeeFromJson(c.committee))), c.error, c.name);
  });

  it("attestations.json: the same verdict and code for every case", async () => {
    const v = vectors("attestations");
    const input = committeeInput(committeeFromJson(v.committee));
    for (const c of v.cases) {
      const a = attestationFromJson(c.attestation);
      // A signature that does not decompress goes in as its x coordinate with y = 0 (not on the curve).
      const att = { ...evmAttestation({ ...a, signature: INFINITY_G2 }), signature: `0x${pointOrGarbage(a.signature, 256)}` };
      if (c.name === "infinity-signature") att.signature = `0x${"00".repeat(256)}`;
      const code = codeFromBytes32(await harness.getFunction("checkAttestation")(input, evmBatchHeader(batchFromJson(c.header)), att));
      assert.equal(code === "" ? "ok" : code, c.expect.ok ? "ok" : c.expect.error, c.name);
    }
  });

  it("rotations.json: each chain registers on an inbox, or fails at its bad record with its code; clock cases match", async () => {
    const v = vectors("rotations");
    const genesis = committeeFromJson(v.genesis);
    for (const chain of v.chains) {
      const inbox = await deployContract(signer, "ShanduInbox", [2002n, committeeInput(genesis), []]);
      let failedWith = "";
      for (const r of chain.rotations.map((x: unknown) => rotationFromJson(x))) {
        try {
          const tx = await inbox.getFunction("rotate")(
            r.fromEpoch,
            toHex(r.fromCommitteeSetHash),
            committeeInput(r.to),
            r.activatesAtSeconds,
            r.graceSeconds,
            evmAttestation(r.attestation),
          );
          await tx.wait();
        } catch (err) {
          failedWith = codeOf(err);
          break;
        }
      }
      if (chain.expect.ok) {
        assert.equal(failedWith, "", chain.name);
        assert.equal(await inbox.getFunction("latestEpoch")(), BigInt(chain.expect.latestEpoch), chain.name);
      } else {
        assert.equal(failedWith, chain.expect.error, chain.name);
      }
      if (chain.name === "two-rotations") {
        for (const k of v.clock) {
          const code = codeFromBytes32(await inbox.getFunction("epochStatus")(BigInt(k.epoch), BigInt(k.nowSeconds)));
          assert.equal(code === "" ? "ok" : code, k.expect.ok ? "ok" : k.expect.error, `clock epoch ${k.epoch} at ${k.nowSeconds}`);
        }
      }
    }
  });
});
