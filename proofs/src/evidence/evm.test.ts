import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { loadBls } from "../bls/bls.ts";
import { buildBatch, bundleFor } from "../bundle/build.ts";
import { bundleToJson, type Evidence, parseBundle } from "../bundle/bundle.ts";
import { BundleVerifier, type EvidenceContext } from "../bundle/verify.ts";
import { concatBytes, fromHex, toHex } from "../bytes.ts";
import { EvidenceError } from "../errors.ts";
import { encodeMessage, type Message, MessageKind, messageId } from "../message.ts";
import { attestBatch, errorCode, evmHeader, evmReceipt, evmTransaction, evmWord, pilotCommittee } from "../testing/mod.ts";
import {
  EVM_RECEIPT_EVIDENCE_KIND,
  evmReceiptEvidence,
  evmReceiptEvidenceVerifier,
  MESSAGE_SENT_TOPIC,
  parseEvmReceiptEvidence,
} from "./evm.ts";
import { indexedTrie, indexKey } from "./mpt.ts";
import { type RlpItem, rlpEncode, uintBytes } from "./rlp.ts";

const OUTBOX = fromHex("0x5a1e500000000000000000000000000000000a11");
const EVM_CHAIN = 31337n;
const u = (v: number | bigint) => uintBytes(BigInt(v));
const fill = (n: number, b: number) => new Uint8Array(n).fill(b);

const word = evmWord;

/** `abi.encode(bytes)`: offset, length, zero-padded data. */
function abiBytes(b: Uint8Array): Uint8Array {
  return concatBytes(word(32n), word(BigInt(b.length)), b, new Uint8Array((32 - (b.length % 32)) % 32));
}

const bodyOf = (m: Message) => encodeMessage(m).subarray(0, -44);
const messageSent = (m: Message, outbox = OUTBOX): RlpItem => [
  outbox,
  [MESSAGE_SENT_TOPIC, word(m.destinationChainId), word(m.nonce)],
  abiBytes(bodyOf(m)),
];
const otherLog: RlpItem = [fill(20, 7), [fill(32, 1)], fill(5, 2)];

const tx = (type: number, nonce: number, chainId = EVM_CHAIN) => evmTransaction(type, nonce, chainId);
const receipt = evmReceipt;
const header = evmHeader;

const baseMessage = (nonce: bigint, payload = Uint8Array.of(1, 2, 3)): Message => ({
  version: 1,
  sourceChainId: 1001n,
  destinationChainId: 2002n,
  nonce,
  kind: MessageKind.app,
  sender: fill(20, 0xa1),
  recipient: fill(20, 0xb2),
  payload,
  source: { blockNumber: 0n, txHash: new Uint8Array(32), logIndex: 0 },
});

interface BlockSpec {
  /** Transactions in the block. */
  count?: number;
  /** Index of the transaction that sends the message. */
  target?: number;
  /** Its EIP-2718 type. */
  type?: number;
  status?: number;
  headerFields?: number;
  number?: bigint;
}

/** A block whose transaction `target` emitted [other log, MessageSent(m), MessageSent(second)]; evidence for `m` at log 1. */
function fixture(spec: BlockSpec = {}) {
  const { count = 5, target = 2, type = 2, status = 1, headerFields = 21, number = 123n } = spec;
  const m = baseMessage(6n);
  const second = baseMessage(7n, fill(100, 0xcc));
  const types = [0, 2, 1, 2, 3, 4];
  const txs = Array.from({ length: count }, (_, i) => (i === target ? tx(type, i) : tx(types[i % types.length]!, i)));
  const receipts = txs.map((t, i) => {
    const ty = t[0]! < 0x80 ? t[0]! : 0;
    return i === target
      ? receipt(ty, [otherLog, messageSent(m), messageSent(second)], status, 21_000 * (i + 1))
      : receipt(ty, [otherLog], 1, 21_000 * (i + 1));
  });
  const txTrie = indexedTrie(txs);
  const receiptTrie = indexedTrie(receipts);
  const h = header(txTrie.root, receiptTrie.root, number, headerFields);
  const source = { blockNumber: number, txHash: keccak_256(txs[target]!), logIndex: 1 };
  const message: Message = { ...m, source };
  const evidence = evmReceiptEvidence({
    chainId: EVM_CHAIN,
    blockHash: keccak_256(h),
    header: h,
    transactionIndex: target,
    transaction: txs[target]!,
    transactionProof: txTrie.prove(indexKey(target)),
    receipt: receipts[target]!,
    receiptProof: receiptTrie.prove(indexKey(target)),
    outbox: OUTBOX,
  });
  return { message, second: { ...second, source: { ...source, logIndex: 2 } }, evidence, txs, receipts, header: h };
}

const ctxOf = (message: Message): EvidenceContext => ({
  message,
  messageId: messageId(message),
  batch: { sourceChainId: 1001n, destinationChainId: 2002n, firstNonce: message.nonce, lastNonce: message.nonce, root: new Uint8Array(32) },
});

const verifier = evmReceiptEvidenceVerifier();
const code = (evidence: Evidence, message: Message, v = verifier) => errorCode(() => v.verify(evidence, ctxOf(message)), EvidenceError);
const patch = (e: Evidence, fields: Record<string, unknown>) => ({ ...e, ...fields }) as Evidence;
const flipHex = (hex: string, byte: number) => {
  const b = fromHex(hex);
  b[byte] = b[byte]! ^ 1;
  return toHex(b);
};

describe("evm-receipt evidence", () => {
  it("proves a MessageSent log of a transaction in a block", () => {
    const f = fixture();
    const detail = verifier.verify(f.evidence, ctxOf(f.message));
    assert.equal(
      detail,
      `receipt proven in block ${f.evidence.blockHash} #123 (header hash; compare with EVM chain 31337), transaction 2, log 1 from outbox ${toHex(OUTBOX)} (not pinned for chain 1001: compare with the deployment)`,
    );
    // the second message of the same transaction, from the same evidence
    assert.match(verifier.verify(f.evidence, ctxOf(f.second)), /log 2 from outbox/);
    const pinned = evmReceiptEvidenceVerifier({ outboxes: { "1001": toHex(OUTBOX).toUpperCase().replace("0X", "0x") } });
    assert.match(pinned.verify(f.evidence, ctxOf(f.message)), /log 1 from the pinned outbox 0x5a1e5/);
    assert.equal(pinned.kind, EVM_RECEIPT_EVIDENCE_KIND);
  });

  it("reads headers of every fork, transactions and receipts of every type, in blocks of many sizes", () => {
    for (const headerFields of [15, 16, 17, 20, 21, 22]) {
      const f = fixture({ headerFields });
      assert.match(verifier.verify(f.evidence, ctxOf(f.message)), /receipt proven/, `header of ${headerFields} fields`);
    }
    for (const type of [0, 1, 2, 3, 4]) {
      const f = fixture({ type });
      assert.match(verifier.verify(f.evidence, ctxOf(f.message)), /receipt proven/, `type ${type}`);
    }
    for (const [count, target] of [
      [1, 0],
      [2, 1],
      [17, 16],
      [40, 0],
      [40, 33],
      [130, 128],
    ] as const) {
      const f = fixture({ count, target });
      assert.match(verifier.verify(f.evidence, ctxOf(f.message)), /receipt proven/, `${count} transactions, #${target}`);
    }
  });

  it("rejects a change to any member with the code of the check it breaks", () => {
    const f = fixture({ count: 40, target: 21 });
    const m = f.message;
    const e = f.evidence as Record<string, string | string[] | number>;
    const cases: [string, Evidence, string][] = [
      ["blockHash", patch(f.evidence, { blockHash: flipHex(e.blockHash as string, 31) }), "HEADER_HASH_MISMATCH"],
      ["header", patch(f.evidence, { header: flipHex(e.header as string, 40) }), "HEADER_HASH_MISMATCH"],
      ["transactionIndex", patch(f.evidence, { transactionIndex: 22 }), "TRIE_PROOF_INVALID"],
      ["transaction", patch(f.evidence, { transaction: flipHex(e.transaction as string, 5) }), "TRIE_VALUE_MISMATCH"],
      ["receipt", patch(f.evidence, { receipt: flipHex(e.receipt as string, 5) }), "TRIE_VALUE_MISMATCH"],
      ["outbox", patch(f.evidence, { outbox: flipHex(e.outbox as string, 19) }), "LOG_MISMATCH"],
      ["chainId", patch(f.evidence, { chainId: "1" }), "CHAIN_ID_MISMATCH"],
      ["missing member", patch(f.evidence, { receipt: undefined }), "EVIDENCE_MALFORMED"],
      ["bad hex", patch(f.evidence, { blockHash: "0x12" }), "EVIDENCE_MALFORMED"],
      ["index out of range", patch(f.evidence, { transactionIndex: -1 }), "EVIDENCE_MALFORMED"],
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
    for (const [name, evidence, expected] of cases) assert.equal(code(evidence, m), expected, name);
  });

  it("rejects evidence that does not prove this message", () => {
    const f = fixture();
    const m = f.message;
    const at = (source: Partial<Message["source"]>): Message => ({ ...m, source: { ...m.source, ...source } });
    assert.equal(code(f.evidence, at({ blockNumber: 124n })), "BLOCK_NUMBER_MISMATCH");
    assert.equal(code(f.evidence, at({ txHash: keccak_256(f.txs[1]!) })), "TX_HASH_MISMATCH");
    assert.equal(code(f.evidence, at({ logIndex: 0 })), "LOG_MISMATCH");
    assert.equal(code(f.evidence, at({ logIndex: 3 })), "LOG_NOT_FOUND");
    assert.equal(code(f.evidence, { ...m, payload: Uint8Array.of(1, 2, 4) }), "MESSAGE_MISMATCH");
    assert.equal(code(f.evidence, { ...m, nonce: 7n }), "MESSAGE_MISMATCH");
    assert.equal(code(f.evidence, { ...m, sourceChainId: 1002n }), "MESSAGE_MISMATCH");
    const pinnedElsewhere = evmReceiptEvidenceVerifier({ outboxes: { "1001": toHex(fill(20, 1)) } });
    assert.equal(code(f.evidence, m, pinnedElsewhere), "OUTBOX_MISMATCH");
    // a pin for another chain does not apply
    const otherChain = evmReceiptEvidenceVerifier({ outboxes: { "1002": toHex(fill(20, 1)) } });
    assert.match(otherChain.verify(f.evidence, ctxOf(m)), /not pinned for chain 1001/);
  });

  it("rejects failed transactions and malformed headers, receipts and logs that the proofs cover", () => {
    const failed = fixture({ status: 0 });
    assert.equal(code(failed.evidence, failed.message), "RECEIPT_FAILED");
    const short = fixture({ headerFields: 14 });
    assert.equal(code(short.evidence, short.message), "HEADER_INVALID");

    /** Evidence for a one-transaction block whose receipt (and so the trie) holds `receiptBytes`. */
    const block = (receiptBytes: Uint8Array, transaction = tx(2, 0)) => {
      const m = baseMessage(6n);
      const txTrie = indexedTrie([transaction]);
      const rTrie = indexedTrie([receiptBytes]);
      const h = header(txTrie.root, rTrie.root, 5n);
      const message = { ...m, source: { blockNumber: 5n, txHash: keccak_256(transaction), logIndex: 0 } };
      const evidence = evmReceiptEvidence({
        blockHash: keccak_256(h),
        header: h,
        transactionIndex: 0,
        transaction,
        transactionProof: txTrie.prove(indexKey(0)),
        receipt: receiptBytes,
        receiptProof: rTrie.prove(indexKey(0)),
        outbox: OUTBOX,
      });
      return { evidence, message };
    };
    const withReceipt = (receiptBytes: Uint8Array, transaction?: Uint8Array) => {
      const b = block(receiptBytes, transaction);
      return code(b.evidence, b.message);
    };
    const m = baseMessage(6n);
    const good = messageSent(m);
    const log = (address: RlpItem, topics: RlpItem, data: RlpItem): RlpItem => [address, topics, data];
    const [, topics, data] = good as [Uint8Array, Uint8Array[], Uint8Array];
    assert.equal(withReceipt(receipt(1, [good])), "RECEIPT_INVALID"); // type differs from the transaction's
    assert.equal(withReceipt(receipt(5, [good]), concatBytes(Uint8Array.of(5), rlpEncode([u(EVM_CHAIN)]))), "RECEIPT_INVALID");
    assert.equal(withReceipt(concatBytes(Uint8Array.of(2), rlpEncode([u(1), u(1), fill(256, 0)]))), "RECEIPT_INVALID");
    assert.equal(withReceipt(concatBytes(Uint8Array.of(2), rlpEncode([fill(32, 1), u(1), fill(256, 0), [good]]))), "RECEIPT_INVALID");
    assert.equal(withReceipt(concatBytes(Uint8Array.of(2), rlpEncode([u(2), u(1), fill(256, 0), [good]]))), "RECEIPT_INVALID");
    assert.equal(withReceipt(concatBytes(Uint8Array.of(2), rlpEncode([u(1), u(1), fill(255, 0), [good]]))), "RECEIPT_INVALID");
    assert.equal(withReceipt(concatBytes(Uint8Array.of(2), Uint8Array.of(0xc1, 0x81, 0x01))), "RLP_INVALID");
    assert.equal(withReceipt(receipt(2, [log(OUTBOX, topics.slice(0, 2), data)])), "LOG_MISMATCH");
    assert.equal(withReceipt(receipt(2, [log(OUTBOX, [fill(32, 0), topics[1]!, topics[2]!], data)])), "LOG_MISMATCH");
    assert.equal(withReceipt(receipt(2, [log(OUTBOX, [topics[0]!, word(2003n), topics[2]!], data)])), "LOG_MISMATCH");
    assert.equal(withReceipt(receipt(2, [log(OUTBOX, [topics[0]!, topics[1]!, word(5n)], data)])), "LOG_MISMATCH");
    const noncanonicalData = concatBytes(word(64n), word(0n), data.subarray(32));
    assert.equal(withReceipt(receipt(2, [log(OUTBOX, topics, noncanonicalData)])), "LOG_MISMATCH");
    const dirtyPadding = Uint8Array.from(data);
    dirtyPadding[dirtyPadding.length - 1] = 1;
    assert.equal(withReceipt(receipt(2, [log(OUTBOX, topics, dirtyPadding)])), "LOG_MISMATCH");
    assert.equal(withReceipt(receipt(2, [log(OUTBOX, topics, concatBytes(data, new Uint8Array(32)))])), "LOG_MISMATCH");
    const sane = block(receipt(2, [good]));
    assert.match(verifier.verify(sane.evidence, ctxOf(sane.message)), /log 0 from outbox/);
  });

  it("parses and writes the JSON form", () => {
    const f = fixture();
    const parsed = parseEvmReceiptEvidence(JSON.parse(JSON.stringify(f.evidence)));
    assert.deepEqual(evmReceiptEvidence(parsed), f.evidence);
    assert.equal(parsed.chainId, EVM_CHAIN);
    const { chainId: _, ...noChain } = f.evidence;
    assert.equal(parseEvmReceiptEvidence(noChain as Evidence).chainId, undefined);
    assert.match(verifier.verify(noChain as Evidence, ctxOf(f.message)), /compare with the chain\)/);
    const e = (() => {
      try {
        parseEvmReceiptEvidence(patch(f.evidence, { receiptProof: ["0x00", 5] }));
      } catch (err) {
        return err as EvidenceError;
      }
    })();
    assert.equal(e?.code, "EVIDENCE_MALFORMED");
    assert.equal(e?.facts.path, "evidence.receiptProof[1]");
  });

  it("is the source-evidence step of a bundle", async () => {
    const bls = await loadBls();
    const genesis = pilotCommittee(bls, "evm-evidence-test");
    const f = fixture();
    const batch = buildBatch([f.message]);
    const attestation = attestBatch(bls, genesis, [0, 1, 3], batch.header);
    const committees = { genesis: genesis.committee, rotations: [] };
    const bundleVerifier = new BundleVerifier({ trustedGenesis: genesis.committee, bls, evidenceVerifiers: [verifier] });
    const step = (sourceEvidence: Evidence) => {
      const json = JSON.stringify(bundleToJson(bundleFor(batch, 0, attestation, committees, { sourceEvidence })));
      const report = bundleVerifier.verify(parseBundle(json));
      return { ok: report.ok, ...report.steps.find((s) => s.step === "source-evidence")! };
    };
    const passed = step(f.evidence);
    assert.equal(passed.status, "passed");
    assert.equal(passed.ok, true);
    const failed = step(patch(f.evidence, { header: flipHex(f.evidence.header as string, 3) }));
    assert.deepEqual([failed.status, failed.code, failed.ok], ["failed", "HEADER_HASH_MISMATCH", false]);
  });
});
