/**
 * The 2.x client against a test double of a 2.x node's JSON-RPC (`testing/jsonRpcServer.ts`) serving
 * the shapes of FISCO-BCOS-DOC release-2 `docs/api.md`: request shapes, parsing, errors, proofs checked
 * against the block's `receiptsRoot` (a lying node refused), and `sendRawTransaction` with the repo's 2.x
 * golden transaction. The 16-ary tree itself is golden-tested in `proofs/src/fisco/merkleV2.test.ts`.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { test } from "node:test";
import { AdapterError } from "@shandu/adapter-core";
import {
  FiscoError,
  type FiscoV2Receipt,
  fiscoV2MerkleLeaf,
  fiscoV2MerkleProof,
  fiscoV2MerkleRoot,
  fiscoV2ReceiptRlp,
  fromHex,
  keccak256,
  toHex,
} from "@shandu/proofs";
import { FiscoV2RpcClient, verifyV2ReceiptProof, verifyV2TransactionProof } from "./rpcV2.ts";
import { FiscoTransactionError } from "./status.ts";
import { JsonRpcFault, serveJsonRpc } from "./testing/jsonRpcServer.ts";

const hex = (b: Uint8Array) => toHex(b).slice(2);
const vectors = new URL("../test/vectors/", import.meta.url);
const V2_GM = fromHex(`0x${readFileSync(new URL("v2_rc2_gm.hex", vectors), "utf8").trim()}`);
const V2_GM_HASH = (
  JSON.parse(readFileSync(new URL("expected.json", vectors), "utf8")) as { vectors: { name: string; hash: string }[] }
).vectors.find((v) => v.name === "V2_GM")!.hash;

const N = 20;
const receipts: FiscoV2Receipt[] = Array.from({ length: N }, (_, i) => ({
  transactionIndex: i,
  stateRoot: keccak256(Uint8Array.of(1, i)),
  gasUsed: 30000n + BigInt(i),
  contractAddress: new Uint8Array(20),
  logsBloom: new Uint8Array(256),
  status: i === 7 ? 0x16n : 0n,
  output: i === 7 ? Uint8Array.of(0x08, 0xc3, 0x79, 0xa0) : new Uint8Array(0),
  remainGas: 1000n,
  logs: [{ address: new Uint8Array(20).fill(0xab), topics: [keccak256(Uint8Array.of(i))], data: Uint8Array.of(i) }],
}));
const txHashes = receipts.map((_, i) => keccak256(Uint8Array.of(2, i)));
const hash = keccak256;
// A chain at supported_version 2.9: remainGas is in the receipt encoding.
const receiptLeaves = receipts.map((r) => fiscoV2MerkleLeaf(r.transactionIndex, hash(fiscoV2ReceiptRlp(r, true))));
const txLeaves = txHashes.map((h, i) => fiscoV2MerkleLeaf(i, h));
const receiptsRoot = fiscoV2MerkleRoot(receiptLeaves, hash);
const transactionsRoot = fiscoV2MerkleRoot(txLeaves, hash);
const blockHash = keccak256(Uint8Array.of(9));
const proofJson = (p: { left: Uint8Array[]; right: Uint8Array[] }[]) => p.map((l) => ({ left: l.left.map(hex), right: l.right.map(hex) }));

const receiptJson = (i: number) => {
  const r = receipts[i]!;
  return {
    blockHash: toHex(blockHash),
    blockNumber: "0x3",
    contractAddress: toHex(r.contractAddress),
    from: "0x148947262ec5e21739fe3a931c29e8b84ee34a0f",
    gasUsed: `0x${r.gasUsed.toString(16)}`,
    remainGas: `0x${r.remainGas!.toString(16)}`,
    input: "0x",
    logs: r.logs.map((l) => ({ address: toHex(l.address), topics: l.topics.map(toHex), data: toHex(l.data) })),
    logsBloom: toHex(r.logsBloom),
    output: toHex(r.output),
    root: toHex(r.stateRoot),
    status: `0x${r.status.toString(16)}`,
    to: "0xd6c8a04b8826b0a37c6d4aa0eaa8644d8e35b79f",
    transactionHash: toHex(txHashes[i]!),
    transactionIndex: `0x${i.toString(16)}`,
  };
};

interface Node {
  calls: { method: string; params: unknown[] }[];
  lie?: "status" | "proof";
  sendHash?: string;
}

async function start(node: Node) {
  const find = (h: unknown) => txHashes.findIndex((x) => toHex(x) === h);
  return serveJsonRpc((method, params) => {
    node.calls.push({ method, params });
    if (params[0] !== 1) throw new JsonRpcFault(-40001, "GroupID does not exist");
    switch (method) {
      case "getBlockNumber":
        return "0x3";
      case "getBlockByNumber":
        if (params[1] !== "0x3") return null;
        return {
          number: "0x3",
          hash: toHex(blockHash),
          parentHash: toHex(keccak256(Uint8Array.of(8))),
          transactionsRoot: toHex(transactionsRoot),
          receiptsRoot: toHex(receiptsRoot),
          stateRoot: toHex(keccak256(Uint8Array.of(7))),
          timestamp: "0x173ad8703d6",
          sealer: "0x0",
          sealerList: [hex(new Uint8Array(64).fill(1))],
          transactions: params[2] ? txHashes.map((h) => ({ hash: toHex(h) })) : txHashes.map(toHex),
        };
      case "getTransactionReceipt": {
        const i = find(params[1]);
        return i < 0 ? null : receiptJson(i);
      }
      case "getTransactionReceiptByHashWithProof": {
        const i = find(params[1]);
        if (i < 0) return null;
        const r = receiptJson(i);
        const p = fiscoV2MerkleProof(receiptLeaves, i, hash);
        if (node.lie === "status") r.status = "0x0";
        if (node.lie === "proof") p[0]!.left[0] = receiptLeaves[19]!;
        return { transactionReceipt: r, receiptProof: proofJson(p) };
      }
      case "getTransactionByHashWithProof": {
        const i = find(params[1]);
        if (i < 0) return null;
        return {
          transaction: {
            blockHash: toHex(blockHash),
            blockNumber: "0x3",
            from: "0x148947262ec5e21739fe3a931c29e8b84ee34a0f",
            gas: "0x1c9c380",
            gasPrice: "0x1c9c380",
            hash: toHex(txHashes[i]!),
            input: "0x",
            nonce: "0x1",
            to: "0xd6c8a04b8826b0a37c6d4aa0eaa8644d8e35b79f",
            transactionIndex: `0x${i.toString(16)}`,
            value: "0x0",
          },
          txProof: proofJson(fiscoV2MerkleProof(txLeaves, i, hash)),
        };
      }
      case "sendRawTransaction":
        if (params[1] === "0x00") throw new JsonRpcFault(10001, "Nonce check fail");
        return node.sendHash ?? `0x${V2_GM_HASH}`;
      case "call": {
        const c = params[1] as { data: string };
        return c.data === "0xdead"
          ? { currentBlockNumber: "0x3", output: "0x08c379a0", status: "0x16" }
          : { currentBlockNumber: "0x3", output: "0x2a", status: "0x0" };
      }
      default:
        throw new JsonRpcFault(-32601, "Method not found");
    }
  });
}

const rejects = async (p: Promise<unknown>, check: (e: unknown) => boolean) => {
  await assert.rejects(p, (e) => {
    assert.ok(check(e), String(e));
    return true;
  });
};

test("requests carry the group id first and hex block numbers; answers are parsed", async () => {
  const node: Node = { calls: [] };
  const server = await start(node);
  try {
    const c = new FiscoV2RpcClient({ url: server.url, groupId: 1 });
    assert.equal(await c.getBlockNumber(), 3n);
    const b = await c.getBlockByNumber(3n, false);
    assert.deepEqual(b.receiptsRoot, receiptsRoot);
    assert.equal(b.transactionHashes.length, N);
    assert.deepEqual((await c.getBlockByNumber(3n, true)).transactionHashes, txHashes);
    const r = await c.getTransactionReceipt(txHashes[7]!);
    assert.equal(r?.status, 0x16n);
    assert.equal(r?.transactionIndex, 7);
    assert.equal(r?.remainGas, 1000n);
    assert.equal(await c.getTransactionReceipt(keccak256(Uint8Array.of(0))), null);
    assert.deepEqual(
      node.calls.slice(0, 4).map((x) => [x.method, x.params]),
      [
        ["getBlockNumber", [1]],
        ["getBlockByNumber", [1, "0x3", false]],
        ["getBlockByNumber", [1, "0x3", true]],
        ["getTransactionReceipt", [1, toHex(txHashes[7]!)]],
      ],
    );
  } finally {
    await server.close();
  }
});

test("receipt and transaction proofs verify against the block's roots; a lying node is refused", async () => {
  const node: Node = { calls: [] };
  const server = await start(node);
  try {
    const c = new FiscoV2RpcClient({ url: server.url, groupId: 1 });
    const { receiptsRoot: rr, transactionsRoot: tr } = await c.getBlockByNumber(3n);
    for (const i of [0, 7, 16, 19]) {
      const rp = await c.getTransactionReceiptByHashWithProof(txHashes[i]!);
      assert.ok(rp);
      assert.equal(verifyV2ReceiptProof(rp, rr, "ecdsa"), "v2.8");
      const tp = await c.getTransactionByHashWithProof(txHashes[i]!);
      assert.ok(tp);
      verifyV2TransactionProof(tp, tr, "ecdsa");
      assert.throws(
        () => verifyV2TransactionProof(tp, rr, "ecdsa"),
        (e) => e instanceof FiscoError && e.code === "MERKLE_PROOF_INVALID",
      );
    }
    assert.equal(await c.getTransactionReceiptByHashWithProof(keccak256(Uint8Array.of(0))), null);
    for (const lie of ["status", "proof"] as const) {
      node.lie = lie;
      const rp = await c.getTransactionReceiptByHashWithProof(txHashes[7]!);
      assert.ok(rp);
      assert.throws(
        () => verifyV2ReceiptProof(rp, rr, "ecdsa"),
        (e) => e instanceof FiscoError && e.code === "MERKLE_PROOF_INVALID",
      );
    }
  } finally {
    await server.close();
  }
});

test("sendRawTransaction sends the golden 2.x transaction and checks the answered hash", async () => {
  const node: Node = { calls: [] };
  const server = await start(node);
  try {
    const c = new FiscoV2RpcClient({ url: server.url, groupId: 1, suite: "sm" });
    assert.equal(toHex(await c.sendRawTransaction(V2_GM)), `0x${V2_GM_HASH}`);
    assert.deepEqual(node.calls.at(-1), { method: "sendRawTransaction", params: [1, toHex(V2_GM)] });
    node.sendHash = toHex(keccak256(V2_GM));
    await rejects(c.sendRawTransaction(V2_GM), (e) => e instanceof FiscoError && e.code === "RPC_ERROR");
    await rejects(
      c.sendRawTransaction(Uint8Array.of(0)),
      (e) => e instanceof FiscoTransactionError && e.code === "TX_REFUSED" && e.status === 10001,
    );
  } finally {
    await server.close();
  }
});

test("call: output on status 0x0, CALL_FAILED with status and output otherwise", async () => {
  const node: Node = { calls: [] };
  const server = await start(node);
  try {
    const c = new FiscoV2RpcClient({ url: server.url, groupId: 1 });
    const to = new Uint8Array(20).fill(0xd6);
    assert.deepEqual(await c.call({ to, data: Uint8Array.of(1) }), Uint8Array.of(0x2a));
    assert.deepEqual(node.calls.at(-1)?.params, [1, { from: toHex(new Uint8Array(20)), to: toHex(to), value: "0x0", data: "0x01" }]);
    await rejects(
      c.call({ to, data: Uint8Array.of(0xde, 0xad) }),
      (e) => e instanceof FiscoTransactionError && e.code === "CALL_FAILED" && e.status === 0x16 && toHex(e.output) === "0x08c379a0",
    );
  } finally {
    await server.close();
  }
});

test("errors: a node's error object, a dead node, a silent node", async () => {
  const node: Node = { calls: [] };
  const server = await start(node);
  const wrong = new FiscoV2RpcClient({ url: server.url, groupId: 2 });
  await rejects(wrong.getBlockNumber(), (e) => e instanceof FiscoError && e.code === "RPC_ERROR" && e.facts.code === -40001);
  await server.close();
  await rejects(wrong.getBlockNumber(), (e) => e instanceof AdapterError && e.code === "RPC_UNAVAILABLE");
  const silent = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  try {
    const port = (silent.address() as { port: number }).port;
    const c = new FiscoV2RpcClient({ url: `http://127.0.0.1:${port}`, groupId: 1, timeoutMs: 200 });
    await rejects(c.getBlockNumber(), (e) => e instanceof AdapterError && e.code === "RPC_TIMEOUT");
  } finally {
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
  }
  assert.throws(
    () => new FiscoV2RpcClient({ url: "http://x", groupId: 0 }),
    (e) => e instanceof AdapterError && e.code === "INVALID_CONFIG",
  );
});
