/**
 * The RPC client and the evidence builder against `fakeFiscoNode` (a test double of a 3.x node's
 * JSON-RPC): evidence built from the node's answers verifies offline with the sealers pinned, with proofs
 * in either wire shape and in both suites; a node that lies about a receipt or a proof, a block sealed
 * by too few sealers, an unknown transaction, a wrong group and a dead node each fail with their code.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { AdapterError } from "@shandu/adapter-core";
import {
  type CryptoSuite,
  concatBytes,
  encodeMessage,
  FiscoError,
  fiscoReceiptEvidenceVerifier,
  type Message,
  MessageKind,
  messageId,
  messageSentTopic,
  sm3,
  toHex,
} from "@shandu/proofs";
import { buildFiscoReceiptEvidence } from "./evidence.ts";
import { FiscoRpcClient } from "./rpc.ts";
import { type FakeFiscoNode, startFakeFiscoNode } from "./testing/fakeFiscoNode.ts";

const OUTBOX = new Uint8Array(20).fill(0x5f);
const word = (v: bigint) => {
  const out = new Uint8Array(32);
  new DataView(out.buffer).setBigUint64(24, v);
  return out;
};
const keys = [1, 2, 3, 4].map((k) => sm3(Uint8Array.of(k, 42)));

/** A block of five transactions whose fourth emits `MessageSent` for a message; returns the message. */
function sendMessage(node: FakeFiscoNode, suite: CryptoSuite, nonce: bigint): Message {
  const txHashes = [0, 1, 2, 3, 4].map((i) => sm3(Uint8Array.of(Number(nonce), i)));
  const message: Message = {
    version: 1,
    sourceChainId: 86021n,
    destinationChainId: 86755n,
    nonce,
    kind: MessageKind.app,
    sender: new Uint8Array(20).fill(3),
    recipient: new Uint8Array(20).fill(4),
    payload: new TextEncoder().encode(`charity donation ${nonce}`),
    source: { blockNumber: 0n, txHash: txHashes[3]!, logIndex: 0 },
  };
  const empty = {
    version: 0,
    gasUsed: "21000",
    contractAddress: "",
    status: 0,
    output: new Uint8Array(0),
    logs: [],
    effectiveGasPrice: "",
  };
  const build = (bn: bigint) => {
    const m = { ...message, source: { ...message.source, blockNumber: bn } };
    const enc = encodeMessage(m);
    const body = enc.subarray(0, enc.length - 44);
    const padded = new Uint8Array(Math.ceil(body.length / 32) * 32);
    padded.set(body);
    return {
      m,
      log: {
        address: toHex(OUTBOX),
        topics: [messageSentTopic(suite), word(m.destinationChainId), word(m.nonce)],
        data: concatBytes(word(32n), word(BigInt(body.length)), padded),
      },
    };
  };
  // The block number is known once the block is added; the log does not depend on it.
  const { log } = build(0n);
  const n = node.addBlock(txHashes.map((txHash, i) => ({ txHash, receipt: i === 3 ? { ...empty, logs: [log] } : empty })));
  return build(n).m;
}

const ctx = (m: Message) => ({
  message: m,
  messageId: messageId(m),
  batch: { sourceChainId: 86021n, destinationChainId: 86755n, firstNonce: m.nonce, lastNonce: m.nonce, root: new Uint8Array(32) },
});

for (const suite of ["ecdsa", "sm"] as const) {
  for (const proofShape of ["flat", "units"] as const) {
    test(`${suite}, ${proofShape} proofs: evidence from the node verifies offline with the sealers pinned`, async () => {
      const node = await startFakeFiscoNode({ suite, sealerKeys: keys, signers: [0, 2, 3], proofShape });
      try {
        const client = new FiscoRpcClient({ url: node.url, group: "group0" });
        sendMessage(node, suite, 1n);
        const m = sendMessage(node, suite, 2n);
        assert.equal(await client.getBlockNumber(), 2n);
        const evidence = await buildFiscoReceiptEvidence(client, {
          suite,
          txHash: m.source.txHash,
          outbox: OUTBOX,
          trustedSealers: node.sealers,
        });
        const verifier = fiscoReceiptEvidenceVerifier({
          sealers: { "86021": { suite, nodeIds: node.sealers.map((s) => toHex(s)) } },
          outboxes: { "86021": toHex(OUTBOX) },
        });
        assert.match(verifier.verify(evidence, ctx(m)), /quorum of the 4 pinned sealers/);
      } finally {
        await node.close();
      }
    });
  }
}

test("a lying node, too few seals, unknown transactions, wrong groups and dead nodes are refused", async () => {
  const suite = "ecdsa";
  const code = async (f: () => Promise<unknown>) => {
    try {
      await f();
      return "passed";
    } catch (e) {
      assert.ok(e instanceof FiscoError || e instanceof AdapterError, String(e));
      return e.code;
    }
  };
  const node = await startFakeFiscoNode({ suite, sealerKeys: keys, proofShape: "units" });
  const client = new FiscoRpcClient({ url: node.url, group: "group0", timeoutMs: 2000 });
  const m = sendMessage(node, suite, 1n);
  let closed = false;
  try {
    const build = () => buildFiscoReceiptEvidence(client, { suite, txHash: m.source.txHash, outbox: OUTBOX, trustedSealers: node.sealers });
    assert.equal(await code(build), "passed");
    node.lie.receipt = true;
    assert.equal(await code(build), "HASH_MISMATCH");
    node.lie.receipt = false;
    node.lie.proof = true;
    assert.equal(await code(build), "MERKLE_PROOF_INVALID");
    node.lie.proof = false;
    assert.equal(
      await code(() => buildFiscoReceiptEvidence(client, { suite, txHash: new Uint8Array(32), outbox: OUTBOX })),
      "MESSAGE_NOT_FOUND",
    );
    const wrongGroup = new FiscoRpcClient({ url: node.url, group: "group9" });
    const e = await wrongGroup.getBlockNumber().catch((x: unknown) => x);
    assert.ok(e instanceof FiscoError && e.code === "RPC_ERROR" && e.facts.code === -32602, String(e));
    await node.close();
    closed = true;
    assert.equal(await code(() => client.getBlockNumber()), "RPC_UNAVAILABLE");
  } finally {
    if (!closed) await node.close();
  }

  const weak = await startFakeFiscoNode({ suite, sealerKeys: keys, signers: [1, 2] });
  try {
    const weakClient = new FiscoRpcClient({ url: weak.url, group: "group0" });
    const m2 = sendMessage(weak, suite, 1n);
    assert.equal(
      await code(() =>
        buildFiscoReceiptEvidence(weakClient, { suite, txHash: m2.source.txHash, outbox: OUTBOX, trustedSealers: weak.sealers }),
      ),
      "SEALER_QUORUM_NOT_MET",
    );
  } finally {
    await weak.close();
  }
});
