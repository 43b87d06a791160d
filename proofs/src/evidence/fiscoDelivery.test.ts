/**
 * `"fisco-delivery"` evidence of a batch delivered to the native-key inbox in a FISCO 3.x block built
 * here (both suites): it passes for the nonces the delivery executed, with and without pins, and a
 * forged seal, a short quorum, a foreign sealer list, another inbox, another root or source chain,
 * another nonce, a failed outcome, a receipt of another transaction, a proof for another root, a
 * failed transaction, the other suite and malformed members each fail with their code.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadBls } from "../bls/bls.ts";
import { buildBatch, bundleFor } from "../bundle/build.ts";
import { bundleToJson, type Evidence, parseBundle } from "../bundle/bundle.ts";
import { BundleVerifier, type EvidenceContext } from "../bundle/verify.ts";
import { concatBytes, fromHex, toHex } from "../bytes.ts";
import { EvidenceError } from "../errors.ts";
import { encodeFiscoHeader, type FiscoLogEntry } from "../fisco/block.ts";
import { type CryptoSuite, publicKeyOf, signHash } from "../fisco/crypto.ts";
import { fiscoMerkleProof } from "../fisco/merkle.ts";
import { type Message, messageId } from "../message.ts";
import { abiBytes, attestBatch, errorCode, evmWord, fiscoBlock, fiscoTestKey, laneMessage, pilotCommittee } from "../testing/mod.ts";
import {
  batchDeliveredTopic,
  FISCO_DELIVERY_EVIDENCE_KIND,
  fiscoDeliveryEvidence,
  fiscoDeliveryEvidenceVerifier,
  parseFiscoDeliveryEvidence,
} from "./fiscoDelivery.ts";

const SOURCE = 1001n;
const DESTINATION = 86755n;
const INBOX = fromHex("0x1b0c500000000000000000000000000000000f15");
const fill = (n: number, b: number) => new Uint8Array(n).fill(b);
const other: FiscoLogEntry = { address: "1111111111111111111111111111111111111111", topics: [fill(32, 1)], data: fill(5, 2) };

const message = (nonce: bigint): Message => laneMessage(SOURCE, DESTINATION, nonce);

/** Two bits per nonce, least significant first, as the inbox writes them. */
function packOutcomes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array((values.length >> 2) + 1);
  values.forEach((v, i) => {
    out[i >> 2]! |= v << ((i & 3) * 2);
  });
  return out;
}

const batch = buildBatch([5n, 6n, 7n, 8n, 9n, 10n, 11n].map(message));

/** The inbox's `BatchDelivered(SOURCE, root, 5, outcomes)` log, as the chain stores it (address without 0x). */
function batchDelivered(suite: CryptoSuite, o: { outcomes?: number[]; topicSuite?: CryptoSuite; address?: string } = {}): FiscoLogEntry {
  return {
    address: o.address ?? toHex(INBOX).slice(2),
    topics: [batchDeliveredTopic(o.topicSuite ?? suite), evmWord(SOURCE), batch.header.root],
    data: concatBytes(evmWord(5n), abiBytes(packOutcomes(o.outcomes ?? [0, 1, 3, 1, 0, 1, 1]), 64n)),
  };
}

/**
 * Block #812 of five transactions; the fourth (index 3) delivered the batch: its receipt holds [another
 * log, BatchDelivered] with outcomes 0 1 3 1 0 1 1 for nonces 5–11 (5 consumed before, 7 failed, 9 not
 * in this delivery).
 */
function fixture(suite: CryptoSuite, spec: { signers?: number[]; log?: FiscoLogEntry; status?: number } = {}) {
  const block = fiscoBlock(suite, {
    number: 812n,
    logs: [[other], [], [other], [other, spec.log ?? batchDelivered(suite)], []],
    signers: spec.signers ?? [0, 1, 3],
    status: { 3: spec.status ?? 0 },
  });
  const evidence = fiscoDeliveryEvidence({ ...block.inclusion(3), transactionHash: block.txHashes[3]!, inbox: INBOX, logIndex: 1 });
  return { block, evidence };
}

const ctx = (nonce: bigint, m: Message = message(nonce)): EvidenceContext => ({ message: m, messageId: messageId(m), batch: batch.header });
const code = (evidence: Evidence, c: EvidenceContext, v = fiscoDeliveryEvidenceVerifier()) =>
  errorCode(() => v.verify(evidence, c), EvidenceError);
const patch = (e: Evidence, fields: Record<string, unknown>) => ({ ...e, ...fields }) as Evidence;
const otherSuite = (s: CryptoSuite): CryptoSuite => (s === "sm" ? "ecdsa" : "sm");

for (const suite of ["ecdsa", "sm"] as const) {
  describe(`fisco-delivery evidence (${suite})`, () => {
    const f = fixture(suite);
    const nodeIds = f.block.nodeIds.map((n) => toHex(n));
    const pinned = fiscoDeliveryEvidenceVerifier({
      sealers: { [DESTINATION.toString()]: { suite, nodeIds } },
      inboxes: { [DESTINATION.toString()]: toHex(INBOX) },
    });

    it("proves that the inbox executed the nonces of the bundle's batch; pins are honoured", () => {
      const hash = toHex(f.block.header.dataHash);
      const tx = toHex(f.block.txHashes[3]!);
      assert.equal(
        pinned.verify(f.evidence, ctx(6n)),
        `nonce 6 executed: delivery proven in FISCO block #812 ${hash} (${suite}), sealed by a quorum of the 4 pinned sealers, transaction 3 ${tx}, log 1 from the pinned inbox ${toHex(INBOX)}`,
      );
      for (const n of [8n, 10n, 11n]) assert.match(pinned.verify(f.evidence, ctx(n)), new RegExp(`^nonce ${n} executed: `));
      const open = fiscoDeliveryEvidenceVerifier().verify(f.evidence, ctx(6n));
      assert.match(open, /the header's own 4 sealers \(not pinned for chain 86755: compare with the alliance's sealer list\)/);
      assert.match(open, /from inbox 0x1b0c5\S+ \(not pinned for chain 86755: compare with the deployment\)$/);
      assert.equal(pinned.kind, FISCO_DELIVERY_EVIDENCE_KIND);
      // Pins for another chain say nothing of this one.
      const elsewhere = fiscoDeliveryEvidenceVerifier({ sealers: { [SOURCE.toString()]: { suite: otherSuite(suite), nodeIds: [] } } });
      assert.match(elsewhere.verify(f.evidence, ctx(6n)), /not pinned for chain 86755/);
    });

    it("fails a forged seal, a short quorum and a foreign sealer list", () => {
      const forged = {
        ...f.block.header,
        signatures: [
          f.block.header.signatures[0]!,
          f.block.header.signatures[1]!,
          { sealerIndex: 3n, signature: signHash(suite, f.block.header.dataHash, fiscoTestKey(66)) },
        ],
      };
      assert.equal(code(patch(f.evidence, { header: toHex(encodeFiscoHeader(forged)) }), ctx(6n), pinned), "SEALER_SIGNATURE_INVALID");
      assert.equal(code(fixture(suite, { signers: [0, 3] }).evidence, ctx(6n), pinned), "SEALER_QUORUM_NOT_MET");
      assert.equal(code(fixture(suite, { signers: [2, 2, 2] }).evidence, ctx(6n), pinned), "SEALER_SIGNATURE_INVALID", "one sealer thrice");
      const foreign = fiscoDeliveryEvidenceVerifier({
        sealers: {
          [DESTINATION.toString()]: { suite, nodeIds: nodeIds.map((n, i) => (i === 0 ? toHex(publicKeyOf(suite, fiscoTestKey(9))) : n)) },
        },
      });
      assert.equal(code(f.evidence, ctx(6n), foreign), "SEALER_LIST_MISMATCH");
      const otherHash = toHex(encodeFiscoHeader({ ...f.block.header, dataHash: fill(32, 5) }));
      assert.equal(
        code(patch(f.evidence, { header: otherHash }), ctx(6n), pinned),
        "HEADER_HASH_MISMATCH",
        "a carried hash that is not the header's",
      );
      const otherRoot = toHex(encodeFiscoHeader({ ...f.block.header, data: { ...f.block.header.data, receiptRoot: fill(32, 5) } }));
      assert.equal(
        code(patch(f.evidence, { header: otherRoot }), ctx(6n), pinned),
        "HEADER_HASH_MISMATCH",
        "a field changed after sealing",
      );
      assert.equal(code(patch(f.evidence, { header: "0x0102" }), ctx(6n), pinned), "HEADER_INVALID");
    });

    it("fails another inbox than the pinned one, and a log from another address", () => {
      const elsewhere = fiscoDeliveryEvidenceVerifier({ inboxes: { [DESTINATION.toString()]: toHex(fill(20, 1)) } });
      assert.equal(code(f.evidence, ctx(6n), elsewhere), "INBOX_MISMATCH");
      assert.equal(code(patch(f.evidence, { inbox: toHex(fill(20, 1)) }), ctx(6n)), "LOG_MISMATCH", "the evidence names another inbox");
      const foreignLog = fixture(suite, { log: batchDelivered(suite, { address: "2222222222222222222222222222222222222222" }) });
      assert.equal(code(foreignLog.evidence, ctx(6n)), "LOG_MISMATCH", "the log is another contract's");
    });

    it("fails a delivery of another batch root or source chain", () => {
      const c = ctx(6n);
      assert.equal(code(f.evidence, { ...c, batch: { ...c.batch, root: fill(32, 9) } }, pinned), "BATCH_MISMATCH");
      assert.equal(code(f.evidence, ctx(6n, { ...message(6n), sourceChainId: 1003n }), pinned), "BATCH_MISMATCH");
    });

    it("fails a nonce the delivery did not run, and one whose execution failed", () => {
      assert.equal(code(f.evidence, ctx(5n), pinned), "NOT_DELIVERED_HERE", "consumed before this delivery");
      assert.equal(code(f.evidence, ctx(9n), pinned), "NOT_DELIVERED_HERE", "not in this delivery");
      assert.equal(code(f.evidence, ctx(4n), pinned), "NOT_DELIVERED_HERE", "below fromNonce");
      assert.equal(code(f.evidence, ctx(13n), pinned), "NOT_DELIVERED_HERE", "beyond the outcomes");
      assert.equal(code(f.evidence, ctx(7n), pinned), "DELIVERY_FAILED");
      const two = fixture(suite, { log: batchDelivered(suite, { outcomes: [0, 2] }) });
      assert.equal(code(two.evidence, ctx(6n)), "LOG_MISMATCH", "the inbox never writes 2");
    });

    it("fails the receipt of another transaction and proofs for another root", () => {
      const b = f.block;
      // Another transaction's receipt and proof, beside the delivering transaction's hash and proof.
      const swapped = patch(f.evidence, {
        receipt: toHex(b.inclusion(2).receipt),
        receiptProof: b.inclusion(2).receiptProof.map((x) => toHex(x)),
      });
      assert.equal(code(swapped, ctx(6n), pinned), "TX_HASH_MISMATCH");
      // Another transaction's hash and proof, beside the delivering receipt.
      const otherTx = patch(f.evidence, {
        transactionHash: toHex(b.txHashes[1]!),
        transactionProof: fiscoMerkleProof(b.txHashes, 1, b.hash).map((x) => toHex(x)),
      });
      assert.equal(code(otherTx, ctx(6n), pinned), "TX_HASH_MISMATCH");
      // Proofs from a block with one more transaction: they lead to another root.
      const longer = [...b.receiptHashes, b.receiptHashes[0]!];
      const receiptProof = fiscoMerkleProof(longer, 3, b.hash).map((x) => toHex(x));
      assert.equal(code(patch(f.evidence, { receiptProof }), ctx(6n), pinned), "TRIE_PROOF_INVALID");
      const transactionProof = fiscoMerkleProof([...b.txHashes, b.txHashes[0]!], 3, b.hash).map((x) => toHex(x));
      assert.equal(code(patch(f.evidence, { transactionProof }), ctx(6n), pinned), "TRIE_PROOF_INVALID");
      assert.equal(code(patch(f.evidence, { transactionHash: toHex(fill(32, 3)) }), ctx(6n), pinned), "TRIE_PROOF_INVALID");
    });

    it("fails a failed transaction, and logs that are not the inbox's BatchDelivered", () => {
      assert.equal(code(fixture(suite, { status: 16 }).evidence, ctx(6n), pinned), "RECEIPT_FAILED");
      assert.equal(code(patch(f.evidence, { logIndex: 0 }), ctx(6n), pinned), "LOG_MISMATCH");
      assert.equal(code(patch(f.evidence, { logIndex: 2 }), ctx(6n), pinned), "LOG_NOT_FOUND");
      const log = batchDelivered(suite);
      const withLog = (l: FiscoLogEntry) => code(fixture(suite, { log: l }).evidence, ctx(6n));
      assert.equal(withLog({ ...log, topics: log.topics.slice(0, 2) }), "LOG_MISMATCH");
      assert.equal(withLog({ ...log, topics: [...log.topics.slice(0, 2), fill(31, 0)] }), "LOG_MISMATCH", "a short topic");
      assert.equal(withLog({ ...log, topics: [log.topics[0]!, fill(32, 1), log.topics[2]!] }), "LOG_MISMATCH", "not a uint64");
      assert.equal(withLog({ ...log, data: log.data.subarray(0, 64) }), "LOG_MISMATCH");
    });

    it("fails the other suite: pinned, claimed by the evidence, or in the event's topic", () => {
      const wrongPin = fiscoDeliveryEvidenceVerifier({ sealers: { [DESTINATION.toString()]: { suite: otherSuite(suite), nodeIds } } });
      assert.equal(code(f.evidence, ctx(6n), wrongPin), "CHAIN_ID_MISMATCH");
      assert.equal(code(patch(f.evidence, { suite: otherSuite(suite) }), ctx(6n)), "HEADER_HASH_MISMATCH", "the header hashes otherwise");
      const wrongTopic = fixture(suite, { log: batchDelivered(suite, { topicSuite: otherSuite(suite) }) });
      assert.equal(code(wrongTopic.evidence, ctx(6n), pinned), "LOG_MISMATCH");
    });
  });
}

describe("fisco-delivery evidence (form)", () => {
  const f = fixture("sm");

  it("parses and writes the JSON form", () => {
    const parsed = parseFiscoDeliveryEvidence(JSON.parse(JSON.stringify(f.evidence)));
    assert.deepEqual(fiscoDeliveryEvidence(parsed), f.evidence);
    assert.deepEqual(Object.keys(f.evidence), [
      "kind",
      "suite",
      "header",
      "receipt",
      "receiptProof",
      "transactionProof",
      "transactionHash",
      "inbox",
      "logIndex",
    ]);
  });

  it("malformed evidence is EVIDENCE_MALFORMED naming the member", () => {
    const cases: [string, unknown][] = [
      ["kind", "fisco-receipt"],
      ["suite", "rsa"],
      ["header", "zz"],
      ["header", `0x${"00".repeat(65_537)}`],
      ["receipt", 5],
      ["receiptProof", "0x00"],
      ["receiptProof", Array.from({ length: 257 }, () => `0x${"00".repeat(32)}`)],
      ["transactionProof", [`0x${"00".repeat(33)}`]],
      ["transactionHash", "0x1234"],
      ["transactionHash", undefined],
      ["inbox", `0x${"00".repeat(32)}`],
      ["logIndex", -1],
      ["logIndex", 2 ** 32],
      ["logIndex", "1"],
    ];
    for (const [k, bad] of cases) {
      assert.throws(
        () => fiscoDeliveryEvidenceVerifier().verify(patch(f.evidence, { [k]: bad }), ctx(6n)),
        (err: unknown) => err instanceof EvidenceError && err.code === "EVIDENCE_MALFORMED" && err.facts.path === k,
        `${k} = ${String(bad).slice(0, 20)}`,
      );
    }
  });

  it("is the destination-evidence step of a bundle", async () => {
    const bls = await loadBls();
    const genesis = pilotCommittee(bls, "fisco-delivery-test");
    const attestation = attestBatch(bls, genesis, [0, 1, 3], batch.header);
    const committees = { genesis: genesis.committee, rotations: [] };
    const bundleVerifier = new BundleVerifier({
      trustedGenesis: genesis.committee,
      bls,
      evidenceVerifiers: [
        fiscoDeliveryEvidenceVerifier({
          sealers: { [DESTINATION.toString()]: { suite: "sm", nodeIds: f.block.nodeIds.map((n) => toHex(n)) } },
        }),
      ],
    });
    const step = (index: number, destinationEvidence: Evidence) => {
      const json = JSON.stringify(bundleToJson(bundleFor(batch, index, attestation, committees, { destinationEvidence })));
      const report = bundleVerifier.verify(parseBundle(json));
      return { ok: report.ok, ...report.steps.find((s) => s.step === "destination-evidence")! };
    };
    const passed = step(1, f.evidence);
    assert.deepEqual([passed.status, passed.ok], ["passed", true]);
    assert.match(passed.detail ?? "", /^nonce 6 executed: delivery proven in FISCO block #812/);
    const failed = step(2, f.evidence);
    assert.deepEqual([failed.status, failed.code, failed.ok], ["failed", "DELIVERY_FAILED", false]);
    const short = step(1, fixture("sm", { signers: [1] }).evidence);
    assert.deepEqual([short.status, short.code], ["failed", "SEALER_QUORUM_NOT_MET"]);
  });
});
