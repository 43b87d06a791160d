/**
 * `"fisco-receipt"` evidence for a real message in a FISCO 3.x block built here (both suites): it
 * passes, and a forged sealer signature, a foreign or short sealer set, a proof for another root, a
 * receipt of another transaction, another outbox, the other suite's event topic and a changed payload
 * each fail with their code.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { EvidenceError } from "../errors.ts";
import { encodeFiscoHeader, encodeFiscoReceipt } from "../fisco/block.ts";
import { type CryptoSuite, publicKeyOf, signHash } from "../fisco/crypto.ts";
import { fiscoMerkleProof } from "../fisco/merkle.ts";
import { sm3 } from "../fisco/sm3.ts";
import type { Json } from "../json.ts";
import { encodeMessage, type Message, MessageKind, messageId } from "../message.ts";
import { abiBytes, evmWord, fiscoBlock } from "../testing/mod.ts";
import { fiscoReceiptEvidence, fiscoReceiptEvidenceVerifier, messageSentTopic } from "./fisco.ts";

const OUTBOX = new Uint8Array(20).fill(0x5f);

/** Block #900 of five transactions; the fourth emits [another log, MessageSent] for the message. */
function fixture(suite: CryptoSuite, opts: { signers?: number[]; topicSuite?: CryptoSuite } = {}) {
  const message: Message = {
    version: 1,
    sourceChainId: 86021n,
    destinationChainId: 86755n,
    nonce: 5n,
    kind: MessageKind.app,
    sender: new Uint8Array(20).fill(3),
    recipient: new Uint8Array(20).fill(4),
    payload: new TextEncoder().encode("low-carbon trip 12.4 km"),
    source: { blockNumber: 900n, txHash: new Uint8Array(32), logIndex: 1 },
  };
  const encoding = encodeMessage(message);
  const log = {
    address: "0x5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f",
    topics: [messageSentTopic(opts.topicSuite ?? suite), evmWord(message.destinationChainId), evmWord(message.nonce)],
    data: abiBytes(encoding.subarray(0, encoding.length - 44)),
  };
  const other = { address: "0x1111111111111111111111111111111111111111", topics: [], data: new Uint8Array(0) };
  const block = fiscoBlock(suite, { number: 900n, logs: [[], [], [], [other, log], []], signers: opts.signers ?? [0, 1, 2] });
  message.source.txHash = block.txHashes[3]!;
  const proof = { ...block.inclusion(3), outbox: OUTBOX };
  const { header, nodeIds, receipts, receiptHashes, hash } = block;
  return { message, proof, header, nodeIds, receipts, receiptHashes, hash };
}

const ctx = (message: Message) => ({
  message,
  messageId: messageId(message),
  batch: { sourceChainId: 86021n, destinationChainId: 86755n, firstNonce: 5n, lastNonce: 5n, root: new Uint8Array(32) },
});
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
const run = (verifier: ReturnType<typeof fiscoReceiptEvidenceVerifier>, p: ReturnType<typeof fixture>["proof"], m: Message) => {
  try {
    return verifier.verify(fiscoReceiptEvidence(p), ctx(m));
  } catch (e) {
    assert.ok(e instanceof EvidenceError, String(e));
    return e.code;
  }
};

for (const suite of ["ecdsa", "sm"] as const) {
  test(`${suite}: a sealed block's receipt proves the message; pins are honoured`, () => {
    const f = fixture(suite);
    const pinned = fiscoReceiptEvidenceVerifier({
      sealers: { "86021": { suite, nodeIds: f.nodeIds.map(hex) } },
      outboxes: { "86021": hex(OUTBOX) },
    });
    assert.match(run(pinned, f.proof, f.message), /sealed by a quorum of the 4 pinned sealers/);
    assert.match(run(fiscoReceiptEvidenceVerifier(), f.proof, f.message), /not pinned for chain 86021/);
  });

  test(`${suite}: forgeries fail with their codes`, () => {
    const f = fixture(suite);
    const pinned = fiscoReceiptEvidenceVerifier({ sealers: { "86021": { suite, nodeIds: f.nodeIds.map(hex) } } });
    // Too few sealers; a header sealed by others than the pinned set.
    assert.equal(run(pinned, fixture(suite, { signers: [0, 3] }).proof, f.message), "SEALER_QUORUM_NOT_MET");
    const foreign = fiscoReceiptEvidenceVerifier({
      sealers: {
        "86021": { suite, nodeIds: f.nodeIds.map((n, i) => (i === 0 ? hex(publicKeyOf(suite, sm3(Uint8Array.of(9)))) : hex(n))) },
      },
    });
    assert.equal(run(foreign, f.proof, f.message), "SEALER_LIST_MISMATCH");
    // A signature by a key that is not the sealer it names.
    const forgedHeader = {
      ...f.header,
      signatures: [
        f.header.signatures[0]!,
        f.header.signatures[1]!,
        { sealerIndex: 3n, signature: signHash(suite, f.header.dataHash, sm3(Uint8Array.of(66))) },
      ],
    };
    assert.equal(run(pinned, { ...f.proof, header: encodeFiscoHeader(forgedHeader) }, f.message), "SEALER_SIGNATURE_INVALID");
    // A receipt proof for another block's root.
    const otherHashes = [...f.receiptHashes, f.receiptHashes[0]!];
    assert.equal(run(pinned, { ...f.proof, receiptProof: fiscoMerkleProof(otherHashes, 3, f.hash) }, f.message), "TRIE_PROOF_INVALID");
    // The receipt of another transaction of the block (position 2), with the message's transaction proof.
    const swapped = { ...f.proof, receipt: encodeFiscoReceipt(f.receipts[2]!), receiptProof: fiscoMerkleProof(f.receiptHashes, 2, f.hash) };
    assert.equal(run(pinned, swapped, f.message), "TX_HASH_MISMATCH");
    // Another outbox; the other suite's event signature; a payload the chain never emitted; another block.
    assert.equal(
      run(fiscoReceiptEvidenceVerifier({ outboxes: { "86021": hex(new Uint8Array(20).fill(1)) } }), f.proof, f.message),
      "OUTBOX_MISMATCH",
    );
    const wrongTopic = fixture(suite, { topicSuite: suite === "sm" ? "ecdsa" : "sm" });
    assert.equal(run(fiscoReceiptEvidenceVerifier(), wrongTopic.proof, wrongTopic.message), "LOG_MISMATCH");
    assert.equal(run(pinned, f.proof, { ...f.message, payload: new TextEncoder().encode("low-carbon trip 99 km") }), "MESSAGE_MISMATCH");
    assert.equal(run(pinned, f.proof, { ...f.message, source: { ...f.message.source, blockNumber: 901n } }), "BLOCK_NUMBER_MISMATCH");
    assert.equal(run(pinned, f.proof, { ...f.message, source: { ...f.message.source, logIndex: 0 } }), "LOG_MISMATCH");
    assert.equal(run(pinned, f.proof, { ...f.message, source: { ...f.message.source, logIndex: 2 } }), "LOG_NOT_FOUND");
    // The pinned suite is the chain's.
    const wrongSuite = fiscoReceiptEvidenceVerifier({
      sealers: { "86021": { suite: suite === "sm" ? "ecdsa" : "sm", nodeIds: f.nodeIds.map(hex) } },
    });
    assert.equal(run(wrongSuite, f.proof, f.message), "CHAIN_ID_MISMATCH");
  });
}

test("malformed evidence is EVIDENCE_MALFORMED naming the member", () => {
  const f = fixture("ecdsa");
  const v = fiscoReceiptEvidenceVerifier();
  const e = fiscoReceiptEvidence(f.proof);
  const cases: [string, Json][] = [
    ["suite", "rsa"],
    ["header", "zz"],
    ["receiptProof", "0x00"],
    ["outbox", "0x1234"],
    ["header", `0x${"00".repeat(65_537)}`],
    ["receiptProof", Array.from({ length: 257 }, () => `0x${"00".repeat(32)}`)],
    ["transactionProof", [`0x${"00".repeat(33)}`]],
  ];
  for (const [k, bad] of cases) {
    assert.throws(
      () => v.verify({ ...e, [k]: bad }, ctx(f.message)),
      (err: unknown) => err instanceof EvidenceError && err.code === "EVIDENCE_MALFORMED" && err.facts.path === k,
    );
  }
});
