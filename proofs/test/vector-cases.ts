/**
 * Checks the shared vector files against this implementation. Returns one line per case that does not
 * behave as the file says (empty when all pass). Used by `vectors.test.ts` and by the generator, which
 * refuses to write vectors this implementation disagrees with.
 */
import {
  attestationFromJson,
  type Bls,
  BundleVerifier,
  batchFromJson,
  batchSigningRoot,
  committeeFromJson,
  committeeSetHash,
  decodeMessage,
  encodeAttestation,
  encodeCommittee,
  encodeMessage,
  fromHex,
  type Json,
  MerkleTree,
  messageFromJson,
  messageId,
  messageToJson,
  rotationFromJson,
  ShanduError,
  toHex,
  verifyAttestation,
  verifyCommittee,
  verifyCommitteeChain,
  verifyMultiProof,
} from "../src/mod.ts";

// biome-ignore lint/suspicious/noExplicitAny: vector files are read as loosely typed JSON; each field is checked by the code under test.
type Any = Record<string, any>;

/** Runs `f`; returns "ok" or the ShanduError code; rethrows anything else (a bug, not a verdict). */
function outcome(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    if (e instanceof ShanduError) return e.code;
    throw e;
  }
}

export async function evaluateCase(file: string, data: Json, bls: Bls): Promise<string[]> {
  const d = data as Any;
  const problems: string[] = [];
  const expectCode = (name: string, got: string, want: string) => {
    if (got !== want) problems.push(`${name}: expected ${want}, got ${got}`);
  };
  switch (file) {
    case "messages.json": {
      for (const c of d.valid) {
        const m = messageFromJson(c.message);
        const enc = encodeMessage(m);
        if (toHex(enc) !== c.encoding) problems.push(`${c.name}: encoding differs`);
        if (toHex(messageId(m)) !== c.messageId) problems.push(`${c.name}: messageId differs`);
        if (JSON.stringify(messageToJson(decodeMessage(fromHex(c.encoding)))) !== JSON.stringify(c.message))
          problems.push(`${c.name}: decode differs`);
      }
      for (const c of d.invalid)
        expectCode(
          c.name,
          outcome(() => decodeMessage(fromHex(c.encoding))),
          c.error,
        );
      break;
    }
    case "merkle.json": {
      for (const t of d.trees) {
        const leaves = t.leaves.map((l: string) => fromHex(l));
        const tree = MerkleTree.fromLeaves(leaves);
        if (toHex(tree.root) !== t.root) problems.push(`tree of ${leaves.length}: root differs`);
        for (const p of t.proofs) {
          const mine = tree.prove(p.indices).siblings.map(toHex);
          if (JSON.stringify(mine) !== JSON.stringify(p.siblings)) problems.push(`tree of ${leaves.length} ${p.indices}: proof differs`);
          const r = outcome(() =>
            verifyMultiProof(
              fromHex(t.root),
              { treeSize: leaves.length, indices: p.indices, siblings: p.siblings.map((s: string) => fromHex(s)) },
              p.indices.map((i: number) => leaves[i]),
            ),
          );
          expectCode(`tree of ${leaves.length} ${p.indices}`, r, "ok");
        }
      }
      for (const c of d.invalid) {
        const r = outcome(() =>
          verifyMultiProof(
            fromHex(c.root),
            { treeSize: c.treeSize, indices: c.indices, siblings: c.siblings.map((s: string) => fromHex(s)) },
            c.leaves.map((l: string) => fromHex(l)),
          ),
        );
        expectCode(c.name, r, c.error);
      }
      break;
    }
    case "committees.json": {
      for (const c of d.valid) {
        const com = committeeFromJson(c.committee);
        if (toHex(encodeCommittee(com)) !== c.encoding) problems.push(`${c.name}: encoding differs`);
        if (toHex(committeeSetHash(com)) !== c.committeeSetHash) problems.push(`${c.name}: hash differs`);
        expectCode(
          c.name,
          outcome(() => verifyCommittee(com, bls)),
          "ok",
        );
      }
      for (const c of d.invalid)
        expectCode(
          c.name,
          outcome(() => verifyCommittee(committeeFromJson(c.committee), bls)),
          c.error,
        );
      break;
    }
    case "attestations.json": {
      const vc = verifyCommittee(committeeFromJson(d.committee), bls);
      if (toHex(vc.hash) !== d.committeeSetHash) problems.push("committee hash differs");
      for (const c of d.cases) {
        const att = attestationFromJson(c.attestation);
        const root = batchSigningRoot(vc.hash, vc.epoch, batchFromJson(c.header));
        if (toHex(root) !== c.signingRoot) problems.push(`${c.name}: signing root differs`);
        if (toHex(encodeAttestation(att)) !== c.attestationEncoding) problems.push(`${c.name}: attestation encoding differs`);
        let signers: string[] = [];
        const r = outcome(() => {
          signers = verifyAttestation(att, vc, root, bls).signerIds;
        });
        expectCode(c.name, r, c.expect.ok ? "ok" : c.expect.error);
        if (c.expect.ok && JSON.stringify(signers) !== JSON.stringify(c.expect.signers)) problems.push(`${c.name}: signers differ`);
      }
      break;
    }
    case "rotations.json": {
      const genesis = committeeFromJson(d.genesis);
      for (const c of d.chains) {
        let latest = "";
        const r = outcome(() => {
          latest = verifyCommitteeChain(
            genesis,
            c.rotations.map((x: Json) => rotationFromJson(x)),
            bls,
          ).latest.epoch.toString();
        });
        expectCode(c.name, r, c.expect.ok ? "ok" : c.expect.error);
        if (c.expect.ok && latest !== c.expect.latestEpoch) problems.push(`${c.name}: latest epoch ${latest}`);
      }
      const two = d.chains.find((c: Any) => c.name === "two-rotations");
      const chain = verifyCommitteeChain(
        genesis,
        two.rotations.map((x: Json) => rotationFromJson(x)),
        bls,
      );
      for (const c of d.clock) {
        const r = outcome(() => chain.committeeFor(BigInt(c.epoch), BigInt(c.nowSeconds)));
        expectCode(`epoch ${c.epoch} at ${c.nowSeconds}`, r, c.expect.ok ? "ok" : c.expect.error);
      }
      break;
    }
    case "bundles.json": {
      const verifier = new BundleVerifier({ trustedGenesis: committeeFromJson(d.genesis), bls });
      for (const c of d.cases) {
        const report = verifier.verifyBytes(new TextEncoder().encode(JSON.stringify(c.bundle)));
        if (report.ok !== c.expect.ok) problems.push(`${c.name}: ok=${report.ok}, expected ${c.expect.ok}`);
        const failed = report.steps.filter((s) => s.status === "failed");
        if (c.expect.ok) {
          const nc = report.steps.filter((s) => s.status === "not-checked").map((s) => s.step);
          if (JSON.stringify(nc) !== JSON.stringify(c.expect.notChecked)) problems.push(`${c.name}: not checked ${nc.join(",")}`);
        } else if (failed.length !== 1 || failed[0]!.step !== c.expect.failedStep || failed[0]!.code !== c.expect.code) {
          problems.push(
            `${c.name}: failed ${failed.map((s) => `${s.step}/${s.code}`).join(",") || "nothing"}, expected ${c.expect.failedStep}/${c.expect.code}`,
          );
        }
      }
      break;
    }
    default:
      problems.push(`unknown vector file ${file}`);
  }
  return problems;
}
