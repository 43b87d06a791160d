import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keccak_256 } from "@noble/hashes/sha3.js";
import fc from "fast-check";
import { loadBls } from "../bls/bls.ts";
import { buildBatch, bundleFor } from "../bundle/build.ts";
import { bundleToJson, type Evidence, parseBundle } from "../bundle/bundle.ts";
import { BundleVerifier, type EvidenceContext } from "../bundle/verify.ts";
import { concatBytes, fromHex, toHex } from "../bytes.ts";
import { EvidenceError } from "../errors.ts";
import { type Message, messageId } from "../message.ts";
import {
  attestBatch,
  errorCode,
  evmBlock,
  evmReceipt,
  evmTransaction,
  evmTypeOf,
  evmWord,
  laneMessage,
  pilotCommittee,
} from "../testing/mod.ts";
import { evmReceiptEvidenceVerifier } from "./evm.ts";
import {
  BATCH_DELIVERED_TOPIC,
  deliveryOutcome,
  EVM_DELIVERY_EVIDENCE_KIND,
  evmDeliveryEvidence,
  evmDeliveryEvidenceVerifier,
  parseEvmDeliveryEvidence,
} from "./evmDelivery.ts";
import type { RlpItem } from "./rlp.ts";

const INBOX = fromHex("0x1b0c500000000000000000000000000000000b22");
const EVM_CHAIN = 31338n;
const SOURCE = 1001n;
const DESTINATION = 2002n;
const fill = (n: number, b: number) => new Uint8Array(n).fill(b);

/** `outcomes` as the inbox writes them: two bits per nonce, least significant first. */
function packOutcomes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array((values.length >> 2) + 1);
  values.forEach((v, i) => {
    out[i >> 2]! |= v << ((i & 3) * 2);
  });
  return out;
}

/** `abi.encode(uint64 fromNonce, bytes outcomes)`. */
function batchDeliveredData(fromNonce: bigint, outcomes: Uint8Array): Uint8Array {
  return concatBytes(
    evmWord(fromNonce),
    evmWord(64n),
    evmWord(BigInt(outcomes.length)),
    outcomes,
    fill((32 - (outcomes.length % 32)) % 32, 0),
  );
}

function batchDeliveredLog(
  root: Uint8Array,
  fromNonce: bigint,
  outcomes: Uint8Array,
  o: { inbox?: Uint8Array; source?: bigint } = {},
): RlpItem {
  return [o.inbox ?? INBOX, [BATCH_DELIVERED_TOPIC, evmWord(o.source ?? SOURCE), root], batchDeliveredData(fromNonce, outcomes)];
}

const otherLog: RlpItem = [fill(20, 7), [fill(32, 1)], fill(5, 2)];

const message = (nonce: bigint): Message => laneMessage(SOURCE, DESTINATION, nonce);

/**
 * A batch of nonces 5–11 and a block whose transaction `target` delivered it: its receipt holds
 * [other log, BatchDelivered(root, fromNonce 5, outcomes)], outcomes 0 1 3 1 0 1 1 by default (nonce 5
 * consumed before, 7 failed, 9 not in this delivery).
 */
function fixture(spec: { count?: number; target?: number; type?: number; status?: number; outcomes?: number[]; log?: RlpItem } = {}) {
  const { count = 6, target = 3, type = 2, status = 1, outcomes = [0, 1, 3, 1, 0, 1, 1] } = spec;
  const batch = buildBatch([5n, 6n, 7n, 8n, 9n, 10n, 11n].map(message));
  const types = [0, 2, 1, 2, 3, 4];
  const txs = Array.from({ length: count }, (_, i) => evmTransaction(i === target ? type : types[i % types.length]!, i, EVM_CHAIN));
  const deliveredLog = spec.log ?? batchDeliveredLog(batch.header.root, 5n, packOutcomes(outcomes));
  const receipts = txs.map((t, i) =>
    i === target
      ? evmReceipt(evmTypeOf(t), [otherLog, deliveredLog], status, 21_000 * (i + 1))
      : evmReceipt(evmTypeOf(t), [otherLog], 1, 21_000 * (i + 1)),
  );
  const block = evmBlock(txs, receipts, 77n);
  const evidence = evmDeliveryEvidence({ ...block.inclusion(target, EVM_CHAIN), logIndex: 1, inbox: INBOX });
  const ctx = (nonce: bigint, m: Message = message(nonce)): EvidenceContext => ({
    message: m,
    messageId: messageId(m),
    batch: batch.header,
  });
  return { batch, block, evidence, ctx };
}

const verifier = evmDeliveryEvidenceVerifier();
const code = (evidence: Evidence, ctx: EvidenceContext, v = verifier) => errorCode(() => v.verify(evidence, ctx), EvidenceError);
const patch = (e: Evidence, fields: Record<string, unknown>) => ({ ...e, ...fields }) as Evidence;
const flipHex = (hex: string, byte: number) => {
  const b = fromHex(hex);
  b[byte] = b[byte]! ^ 1;
  return toHex(b);
};

describe("deliveryOutcome", () => {
  it("reads two bits per nonce from fromNonce on, least significant first", () => {
    assert.equal(toHex(packOutcomes([0, 1, 3, 1])), "0x7400");
    const outcomes = Uint8Array.of(0x74, 0x0d);
    const read = [98n, 99n, 100n, 101n, 102n, 103n, 104n, 105n, 106n, 107n, 108n].map((n) => deliveryOutcome(100n, outcomes, n));
    assert.deepEqual(read, [0, 0, 0, 1, 3, 1, 1, 3, 0, 0, 0]);
    assert.equal(deliveryOutcome(0n, new Uint8Array(0), 0n), 0);
    assert.equal(deliveryOutcome(0n, Uint8Array.of(0xff), 1n << 63n), 0);
  });

  it("gives back what was packed", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1000n }),
        fc.array(fc.constantFrom(0, 1, 3), { maxLength: 70 }),
        (from, values) => {
          const packed = packOutcomes(values);
          for (const [i, v] of values.entries()) assert.equal(deliveryOutcome(from, packed, from + BigInt(i)), v);
          assert.equal(deliveryOutcome(from, packed, from + BigInt(packed.length * 4)), 0);
          if (from > 0n) assert.equal(deliveryOutcome(from, packed, from - 1n), 0);
        },
      ),
    );
  });
});

describe("evm-delivery evidence", () => {
  it("proves that the inbox executed the message's nonce of the bundle's batch", () => {
    const f = fixture();
    const hash = toHex(f.block.blockHash);
    const txHash = toHex(keccak_256(f.block.transactions[3]!));
    assert.equal(
      verifier.verify(f.evidence, f.ctx(6n)),
      `nonce 6 executed: delivery proven in block ${hash} #77 (header hash; compare with EVM chain 31338), transaction 3 ${txHash}, log 1 from inbox ${toHex(INBOX)} (not pinned for chain 2002: compare with the deployment)`,
    );
    // other executed nonces of the same delivery, from the same evidence
    for (const n of [8n, 10n, 11n]) assert.match(verifier.verify(f.evidence, f.ctx(n)), new RegExp(`^nonce ${n} executed: `));
    const pinned = evmDeliveryEvidenceVerifier({ inboxes: { "2002": toHex(INBOX).toUpperCase().replace("0X", "0x") } });
    assert.match(pinned.verify(f.evidence, f.ctx(6n)), /log 1 from the pinned inbox 0x1b0c5/);
    assert.equal(pinned.kind, EVM_DELIVERY_EVIDENCE_KIND);
    const otherChain = evmDeliveryEvidenceVerifier({ inboxes: { "2003": toHex(fill(20, 1)) } });
    assert.match(otherChain.verify(f.evidence, f.ctx(6n)), /not pinned for chain 2002/);
  });

  it("reads blocks of many sizes and transactions of every type", () => {
    for (const type of [0, 1, 2, 3, 4]) {
      const f = fixture({ type });
      assert.match(verifier.verify(f.evidence, f.ctx(6n)), /^nonce 6 executed/, `type ${type}`);
    }
    for (const [count, target] of [
      [1, 0],
      [2, 1],
      [17, 16],
      [130, 128],
    ] as const) {
      const f = fixture({ count, target });
      assert.match(verifier.verify(f.evidence, f.ctx(6n)), /^nonce 6 executed/, `${count} transactions, #${target}`);
    }
  });

  it("fails a nonce the delivery did not run, or whose execution failed", () => {
    const f = fixture();
    assert.equal(code(f.evidence, f.ctx(7n)), "DELIVERY_FAILED");
    assert.equal(code(f.evidence, f.ctx(5n)), "NOT_DELIVERED_HERE", "consumed before this delivery");
    assert.equal(code(f.evidence, f.ctx(9n)), "NOT_DELIVERED_HERE", "not in this delivery");
    assert.equal(code(f.evidence, f.ctx(4n)), "NOT_DELIVERED_HERE", "below fromNonce");
    assert.equal(code(f.evidence, f.ctx(13n)), "NOT_DELIVERED_HERE", "beyond the outcomes");
    const failed = (() => {
      try {
        verifier.verify(f.evidence, f.ctx(7n));
      } catch (e) {
        return e as EvidenceError;
      }
    })();
    assert.deepEqual(
      { nonce: failed?.facts.nonce, fromNonce: failed?.facts.fromNonce, outcome: failed?.facts.outcome, disposition: failed?.disposition },
      { nonce: 7n, fromNonce: 5n, outcome: 3, disposition: "reject" },
    );
    const two = fixture({ outcomes: [0, 2] });
    assert.equal(code(two.evidence, two.ctx(6n)), "LOG_MISMATCH", "the inbox never writes 2");
  });

  it("fails a delivery of another batch or lane, and another inbox than the pinned one", () => {
    const f = fixture();
    const ctx = f.ctx(6n);
    assert.equal(code(f.evidence, { ...ctx, batch: { ...ctx.batch, root: fill(32, 9) } }), "BATCH_MISMATCH");
    const otherLane = { ...message(6n), sourceChainId: 1003n };
    assert.equal(code(f.evidence, f.ctx(6n, otherLane)), "BATCH_MISMATCH");
    const pinnedElsewhere = evmDeliveryEvidenceVerifier({ inboxes: { "2002": toHex(fill(20, 1)) } });
    assert.equal(code(f.evidence, ctx, pinnedElsewhere), "INBOX_MISMATCH");
  });

  it("rejects a change to any member with the code of the check it breaks", () => {
    const f = fixture({ count: 40, target: 21 });
    const ctx = f.ctx(6n);
    const e = f.evidence as Record<string, string | string[] | number>;
    const cases: [string, Evidence, string][] = [
      ["blockHash", patch(f.evidence, { blockHash: flipHex(e.blockHash as string, 31) }), "HEADER_HASH_MISMATCH"],
      ["header", patch(f.evidence, { header: flipHex(e.header as string, 40) }), "HEADER_HASH_MISMATCH"],
      ["transactionIndex", patch(f.evidence, { transactionIndex: 22 }), "TRIE_PROOF_INVALID"],
      ["transaction", patch(f.evidence, { transaction: flipHex(e.transaction as string, 5) }), "TRIE_VALUE_MISMATCH"],
      ["receipt", patch(f.evidence, { receipt: flipHex(e.receipt as string, 5) }), "TRIE_VALUE_MISMATCH"],
      ["inbox", patch(f.evidence, { inbox: flipHex(e.inbox as string, 19) }), "LOG_MISMATCH"],
      ["logIndex of another log", patch(f.evidence, { logIndex: 0 }), "LOG_MISMATCH"],
      ["logIndex past the logs", patch(f.evidence, { logIndex: 2 }), "LOG_NOT_FOUND"],
      ["chainId", patch(f.evidence, { chainId: "1" }), "CHAIN_ID_MISMATCH"],
      ["missing member", patch(f.evidence, { logIndex: undefined }), "EVIDENCE_MALFORMED"],
      ["bad hex", patch(f.evidence, { inbox: "0x12" }), "EVIDENCE_MALFORMED"],
      ["negative logIndex", patch(f.evidence, { logIndex: -1 }), "EVIDENCE_MALFORMED"],
      ["another kind", patch(f.evidence, { kind: "evm-receipt" }), "EVIDENCE_MALFORMED"],
    ];
    for (const proofName of ["transactionProof", "receiptProof"]) {
      const proof = e[proofName] as string[];
      for (let n = 0; n < proof.length; n++) {
        for (const byte of [0, 1, 33, fromHex(proof[n]!).length - 1]) {
          cases.push([
            `${proofName}[${n}] byte ${byte}`,
            patch(f.evidence, { [proofName]: proof.map((p, i) => (i === n ? flipHex(p, byte) : p)) }),
            "TRIE_PROOF_INVALID",
          ]);
        }
      }
      cases.push([`${proofName} missing a node`, patch(f.evidence, { [proofName]: proof.slice(0, -1) }), "TRIE_PROOF_INVALID"]);
      cases.push([`${proofName} with an extra node`, patch(f.evidence, { [proofName]: [...proof, proof[0]!] }), "TRIE_PROOF_INVALID"]);
    }
    for (const [name, evidence, expected] of cases) assert.equal(code(evidence, ctx), expected, name);
  });

  it("rejects a failed transaction and logs that are not the inbox's BatchDelivered", () => {
    const failedTx = fixture({ status: 0 });
    assert.equal(code(failedTx.evidence, failedTx.ctx(6n)), "RECEIPT_FAILED");

    const root = buildBatch([5n, 6n, 7n, 8n, 9n, 10n, 11n].map(message)).header.root;
    const outcomes = packOutcomes([0, 1]);
    const data = batchDeliveredData(5n, outcomes);
    const topics = [BATCH_DELIVERED_TOPIC, evmWord(SOURCE), root];
    const withLog = (log: RlpItem) => {
      const f = fixture({ log });
      return code(f.evidence, f.ctx(6n));
    };
    assert.match(verifier.verify(fixture({ log: [INBOX, topics, data] }).evidence, fixture().ctx(6n)), /^nonce 6 executed/);
    assert.equal(withLog([INBOX, topics.slice(0, 2), data]), "LOG_MISMATCH");
    assert.equal(withLog([INBOX, [...topics, fill(32, 0)], data]), "LOG_MISMATCH");
    assert.equal(withLog([INBOX, [fill(32, 0), topics[1]!, topics[2]!], data]), "LOG_MISMATCH");
    assert.equal(withLog([INBOX, [topics[0]!, fill(32, 1), topics[2]!], data]), "LOG_MISMATCH", "source chain topic not a uint64");
    assert.equal(withLog([fill(20, 1), topics, data]), "LOG_MISMATCH");
    assert.equal(withLog([INBOX, topics]), "LOG_MISMATCH");
    const highFromNonce = Uint8Array.from(data);
    highFromNonce[0] = 1;
    assert.equal(withLog([INBOX, topics, highFromNonce]), "LOG_MISMATCH");
    const wrongOffset = concatBytes(evmWord(5n), evmWord(96n), data.subarray(64));
    assert.equal(withLog([INBOX, topics, wrongOffset]), "LOG_MISMATCH");
    const dirtyPadding = Uint8Array.from(data);
    dirtyPadding[dirtyPadding.length - 1] = 1;
    assert.equal(withLog([INBOX, topics, dirtyPadding]), "LOG_MISMATCH");
    assert.equal(withLog([INBOX, topics, concatBytes(data, new Uint8Array(32))]), "LOG_MISMATCH");
    assert.equal(withLog([INBOX, topics, data.subarray(0, 64)]), "LOG_MISMATCH");
  });

  it("parses and writes the JSON form", () => {
    const f = fixture();
    const parsed = parseEvmDeliveryEvidence(JSON.parse(JSON.stringify(f.evidence)));
    assert.deepEqual(evmDeliveryEvidence(parsed), f.evidence);
    assert.equal(parsed.chainId, EVM_CHAIN);
    assert.equal(parsed.logIndex, 1);
    const { chainId: _, ...noChain } = f.evidence;
    assert.equal(parseEvmDeliveryEvidence(noChain as Evidence).chainId, undefined);
    assert.match(verifier.verify(noChain as Evidence, f.ctx(6n)), /compare with the chain\)/);
    const e = (() => {
      try {
        parseEvmDeliveryEvidence(patch(f.evidence, { receiptProof: ["0x00", 5] }));
      } catch (err) {
        return err as EvidenceError;
      }
    })();
    assert.equal(e?.code, "EVIDENCE_MALFORMED");
    assert.equal(e?.facts.path, "evidence.receiptProof[1]");
    assert.match(e?.message ?? "", /^evm-delivery evidence is malformed/);
  });

  it("is the destination-evidence step of a bundle", async () => {
    const bls = await loadBls();
    const genesis = pilotCommittee(bls, "evm-delivery-test");
    const f = fixture();
    const attestation = attestBatch(bls, genesis, [0, 1, 3], f.batch.header);
    const committees = { genesis: genesis.committee, rotations: [] };
    const bundleVerifier = new BundleVerifier({
      trustedGenesis: genesis.committee,
      bls,
      evidenceVerifiers: [evmReceiptEvidenceVerifier(), verifier],
    });
    const step = (index: number, destinationEvidence: Evidence) => {
      const json = JSON.stringify(bundleToJson(bundleFor(f.batch, index, attestation, committees, { destinationEvidence })));
      const report = bundleVerifier.verify(parseBundle(json));
      return { ok: report.ok, ...report.steps.find((s) => s.step === "destination-evidence")! };
    };
    const passed = step(1, f.evidence);
    assert.deepEqual([passed.status, passed.ok], ["passed", true]);
    const tampered = step(1, patch(f.evidence, { header: flipHex(f.evidence.header as string, 3) }));
    assert.deepEqual([tampered.status, tampered.code, tampered.ok], ["failed", "HEADER_HASH_MISMATCH", false]);
    const failed = step(2, f.evidence);
    assert.deepEqual([failed.status, failed.code, failed.ok], ["failed", "DELIVERY_FAILED", false]);
  });
});
