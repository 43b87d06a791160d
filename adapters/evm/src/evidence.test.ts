/**
 * The evidence builders against a scripted node: the raw-bytes path (`debug_getRawBlock`,
 * `debug_getRawReceipts`, as geth and reth serve them), which anvil lacks, and the checks that refuse a
 * node whose answers do not hash to its own header. The JSON fallback runs against anvil in
 * `evidence.int.test.ts`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AdapterError } from "@shandu/adapter-core";
import {
  buildBatch,
  concatBytes,
  EvidenceError,
  encodeMessage,
  evmDeliveryEvidenceVerifier,
  evmReceiptEvidenceVerifier,
  fromHex,
  indexedTrie,
  MESSAGE_SENT_TOPIC,
  type Message,
  MessageKind,
  messageId,
  type RlpItem,
  rlpDecode,
  rlpEncode,
  toHex,
  uintBytes,
} from "@shandu/proofs";
import { AbiCoder, type JsonRpcProvider, keccak256 } from "ethers";
import { inboxAbi } from "./abi.ts";
import { buildDeliveryEvidence, buildReceiptEvidence } from "./evidence.ts";

const OUTBOX = "0x5a1e500000000000000000000000000000000a11";
const INBOX = "0x1b0c500000000000000000000000000000000b22";
const u = (v: number | bigint) => uintBytes(BigInt(v));
const q = (v: number | bigint) => `0x${BigInt(v).toString(16)}`;
const h32 = (b: number) => toHex(new Uint8Array(32).fill(b));
const bytes = (hex: string) => fromHex(hex);

/**
 * A Prague block of three transactions; the second (EIP-1559) sent `message` as log 1 of its receipt, the
 * third delivered a batch holding it (and nonce 10) to an inbox, executing nonce 9 (block-wide log 2).
 */
function chain() {
  const m: Message = {
    version: 1,
    sourceChainId: 1001n,
    destinationChainId: 2002n,
    nonce: 9n,
    kind: MessageKind.app,
    sender: new Uint8Array(20).fill(0xa1),
    recipient: new Uint8Array(20).fill(0xb2),
    payload: Uint8Array.of(1, 2, 3),
    source: { blockNumber: 0n, txHash: new Uint8Array(32), logIndex: 0 },
  };
  const body = encodeMessage(m).subarray(0, -44);
  const txs = [
    rlpEncode([
      u(0),
      u(1e9),
      u(21000),
      new Uint8Array(20).fill(9),
      u(1),
      new Uint8Array(0),
      u(31337 * 2 + 35),
      new Uint8Array(32).fill(3),
      new Uint8Array(32).fill(4),
    ]),
    concatBytes(
      Uint8Array.of(2),
      rlpEncode([
        u(31337),
        u(0),
        u(1),
        u(2e9),
        u(90000),
        new Uint8Array(20).fill(8),
        u(0),
        new Uint8Array(0),
        [],
        u(1),
        new Uint8Array(32).fill(5),
        new Uint8Array(32).fill(6),
      ]),
    ),
    concatBytes(
      Uint8Array.of(1),
      rlpEncode([
        u(31337),
        u(1),
        u(1e9),
        u(21000),
        new Uint8Array(20).fill(9),
        u(1),
        new Uint8Array(0),
        [],
        u(0),
        new Uint8Array(32).fill(7),
        new Uint8Array(32).fill(8),
      ]),
    ),
  ];
  const hashes = txs.map((t) => keccak256(t));
  const coder = AbiCoder.defaultAbiCoder();
  const batch = buildBatch([m, { ...m, nonce: 10n }]);
  const delivered = inboxAbi.encodeEventLog("BatchDelivered", [m.sourceChainId, toHex(batch.header.root), m.nonce, "0x01"]);
  const logs: { address: string; topics: string[]; data: string }[][] = [
    [],
    [
      { address: "0x0000000000000000000000000000000000000077", topics: [h32(1)], data: "0x" },
      {
        address: OUTBOX,
        topics: [toHex(MESSAGE_SENT_TOPIC), coder.encode(["uint64"], [m.destinationChainId]), coder.encode(["uint64"], [m.nonce])],
        data: coder.encode(["bytes"], [body]),
      },
    ],
    [{ address: INBOX, ...delivered }],
  ];
  let blockLogIndex = 0;
  const receiptsJson = txs.map((t, i) => ({
    transactionHash: hashes[i],
    transactionIndex: q(i),
    type: q(t[0]! < 0x80 ? t[0]! : 0),
    status: "0x1",
    cumulativeGasUsed: q(21000 * (i + 1) + (i > 0 ? 40000 : 0)),
    logsBloom: toHex(new Uint8Array(256)),
    logs: logs[i]!.map((l) => ({ ...l, transactionIndex: q(i), logIndex: q(blockLogIndex++) })),
  }));
  const receiptBytes = receiptsJson.map((r) => {
    const list = rlpEncode([
      u(BigInt(r.status)),
      u(BigInt(r.cumulativeGasUsed)),
      new Uint8Array(256),
      r.logs.map((l): RlpItem => [bytes(l.address), l.topics.map(bytes), bytes(l.data)]),
    ]);
    return r.type === "0x0" ? list : concatBytes(Uint8Array.of(Number(r.type)), list);
  });
  return { m, batch, txs, hashes, receiptsJson, receiptBytes };
}

/** Header JSON (Prague fields) and its RLP, with the given roots. */
function headerOf(txRoot: string, receiptsRoot: string) {
  const json = {
    parentHash: h32(0x11),
    sha3Uncles: h32(0x12),
    miner: toHex(new Uint8Array(20).fill(0x13)),
    stateRoot: h32(0x14),
    transactionsRoot: txRoot,
    receiptsRoot,
    logsBloom: toHex(new Uint8Array(256)),
    difficulty: "0x0",
    number: "0x2a",
    gasLimit: q(30_000_000),
    gasUsed: q(123_000),
    timestamp: q(1_760_000_000),
    extraData: "0x",
    mixHash: h32(0x15),
    nonce: "0x0000000000000000",
    baseFeePerGas: q(7),
    withdrawalsRoot: h32(0x16),
    blobGasUsed: "0x0",
    excessBlobGas: "0x0",
    parentBeaconBlockRoot: h32(0x17),
    requestsHash: h32(0x18),
  };
  const quantities = new Set(["difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas", "blobGasUsed", "excessBlobGas"]);
  const rlp = rlpEncode(Object.entries(json).map(([k, v]) => (quantities.has(k) ? u(BigInt(v)) : bytes(v))));
  return { json, rlp };
}

/** A scripted node: with or without the debug methods, optionally with one wrong answer; `calls` counts what was asked. */
function fakeNode(opts: { debug: boolean; corrupt?: "receipt" | "rawTx" | "header" }) {
  const c = chain();
  const txRoot = trieRootHex(c.txs);
  const receiptsRoot = trieRootHex(c.receiptBytes);
  const header = headerOf(txRoot, receiptsRoot);
  const blockHash = keccak256(header.rlp);
  const block = { ...header.json, hash: blockHash, transactions: c.hashes };
  if (opts.corrupt === "header") block.gasUsed = q(1);
  const calls = new Map<string, number>();
  const receipts = c.receiptsJson.map((r) => ({ ...r, blockHash, blockNumber: "0x2a" }));
  if (opts.corrupt === "receipt") receipts[2] = { ...receipts[2]!, cumulativeGasUsed: q(1) };
  const provider = {
    async send(method: string, params: unknown[]): Promise<unknown> {
      calls.set(method, (calls.get(method) ?? 0) + 1);
      switch (method) {
        case "eth_chainId":
          return "0x7a69";
        case "eth_getTransactionReceipt":
          return receipts.find((r) => r.transactionHash === params[0]) ?? null;
        case "eth_getBlockByHash":
          return params[0] === blockHash ? block : null;
        case "eth_getRawTransactionByHash": {
          const i = c.hashes.indexOf(params[0] as string);
          return opts.corrupt === "rawTx" && i === 0 ? toHex(c.txs[1]!) : toHex(c.txs[i]!);
        }
        case "eth_getBlockReceipts":
          return [...receipts].reverse();
        case "debug_getRawBlock":
          if (!opts.debug) break;
          // [header, transactions (a legacy one as its list, a typed one as a string), uncles, withdrawals]
          return toHex(rlpEncode([rlpDecode(header.rlp), c.txs.map((t) => (t[0]! < 0x80 ? t : rlpDecode(t))), [], []]));
        case "debug_getRawReceipts":
          if (!opts.debug) break;
          return c.receiptBytes.map(toHex);
      }
      throw Object.assign(new Error("could not coalesce error"), {
        code: "UNKNOWN_ERROR",
        error: { code: -32601, message: "Method not found" },
      });
    },
  };
  const message: Message = { ...c.m, source: { blockNumber: 42n, txHash: bytes(c.hashes[1]!), logIndex: 1 } };
  return {
    provider: provider as unknown as JsonRpcProvider,
    calls,
    message,
    batch: c.batch,
    txHash: c.hashes[1]!,
    hashes: c.hashes,
    blockHash,
  };
}

function trieRootHex(values: Uint8Array[]): string {
  return toHex(indexedTrie(values).root);
}

const verify = (evidence: Parameters<ReturnType<typeof evmReceiptEvidenceVerifier>["verify"]>[0], message: Message) =>
  evmReceiptEvidenceVerifier({ outboxes: { "1001": OUTBOX } }).verify(evidence, {
    message,
    messageId: messageId(message),
    batch: { sourceChainId: 1001n, destinationChainId: 2002n, firstNonce: 9n, lastNonce: 9n, root: new Uint8Array(32) },
  });

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EvidenceError, String(e));
    return e.code;
  }
  return "built";
}

describe("buildReceiptEvidence against a scripted node", () => {
  it("uses the raw block and raw receipts where the node has them", async () => {
    const n = fakeNode({ debug: true });
    const evidence = await buildReceiptEvidence(n.provider, { txHash: n.txHash, logIndexInReceipt: 1, outbox: OUTBOX });
    assert.match(
      verify(evidence, n.message),
      new RegExp(`^receipt proven in block ${n.blockHash} #42 .*transaction 1, log 1 from the pinned outbox`),
    );
    assert.equal(n.calls.get("eth_getRawTransactionByHash"), undefined);
    assert.equal(n.calls.get("eth_getBlockReceipts"), undefined);
  });

  it("falls back to JSON, and asks a node for a missing method only once", async () => {
    const n = fakeNode({ debug: false });
    for (let i = 0; i < 2; i++) {
      const evidence = await buildReceiptEvidence(n.provider, { txHash: n.txHash, logIndexInReceipt: 1, outbox: OUTBOX });
      assert.match(verify(evidence, n.message), /^receipt proven/);
    }
    assert.equal(n.calls.get("debug_getRawBlock"), 1);
    assert.equal(n.calls.get("debug_getRawReceipts"), 1);
    assert.equal(n.calls.get("eth_getBlockReceipts"), 2);
  });

  it("refuses a node whose answers do not hash to its own header", async () => {
    const build = (corrupt: "receipt" | "rawTx" | "header") => {
      const n = fakeNode({ debug: false, corrupt });
      return buildReceiptEvidence(n.provider, { txHash: n.txHash, logIndexInReceipt: 1, outbox: OUTBOX });
    };
    assert.equal(await failure(build("header")), "HEADER_HASH_MISMATCH");
    assert.equal(await failure(build("rawTx")), "TX_HASH_MISMATCH");
    assert.equal(await failure(build("receipt")), "TRIE_VALUE_MISMATCH");
  });
});

describe("buildDeliveryEvidence against a scripted node", () => {
  const ctxOf = (n: ReturnType<typeof fakeNode>, message: Message) => ({ message, messageId: messageId(message), batch: n.batch.header });

  it("proves the inbox's BatchDelivered log, found by its block-wide index, at its index in the receipt", async () => {
    for (const debug of [true, false]) {
      const n = fakeNode({ debug });
      const evidence = await buildDeliveryEvidence(n.provider, { txHash: n.hashes[2]!, blockLogIndex: 2, inbox: INBOX });
      assert.equal(evidence.kind, "evm-delivery");
      assert.equal(evidence.logIndex, 0);
      assert.equal(evidence.chainId, "31337");
      const verifier = evmDeliveryEvidenceVerifier({ inboxes: { "2002": INBOX } });
      assert.match(
        verifier.verify(evidence, ctxOf(n, n.message)),
        new RegExp(
          `^nonce 9 executed: delivery proven in block ${n.blockHash} #42 .*transaction 2 ${n.hashes[2]}, log 0 from the pinned inbox`,
        ),
      );
      const ten = { ...n.message, nonce: 10n };
      assert.throws(
        () => verifier.verify(evidence, ctxOf(n, ten)),
        (e: unknown) => e instanceof EvidenceError && e.code === "NOT_DELIVERED_HERE",
      );
    }
  });

  it("refuses a position that is not the inbox's BatchDelivered: MESSAGE_NOT_FOUND", async () => {
    const n = fakeNode({ debug: false });
    const notFound = async (req: Parameters<typeof buildDeliveryEvidence>[1]) => {
      await assert.rejects(
        buildDeliveryEvidence(n.provider, req),
        (e: unknown) => e instanceof AdapterError && e.code === "MESSAGE_NOT_FOUND",
      );
    };
    await notFound({ txHash: n.hashes[2]!, blockLogIndex: 1, inbox: INBOX });
    await notFound({ txHash: n.hashes[2]!, blockLogIndex: 2, inbox: OUTBOX });
    await notFound({ txHash: n.hashes[1]!, blockLogIndex: 0, inbox: "0x0000000000000000000000000000000000000077" });
    await notFound({ txHash: h32(0x99), blockLogIndex: 2, inbox: INBOX });
    assert.equal(n.calls.get("eth_getBlockByHash"), undefined, "nothing but the receipt is fetched for a wrong position");
  });
});
