/**
 * A test double of a FISCO BCOS 3.x node's JSON-RPC — `fakeFiscoNode`, not the real thing. It keeps an
 * in-memory chain of blocks the test appends (transaction hashes with their receipts), seals each header
 * with the given sealer keys, and answers `getBlockNumber`, `getBlockByNumber` and
 * `getTransactionReceipt` in the JSON shapes the java-sdk models (see `../rpc.ts`), with Merkle proofs in
 * either wire shape. `lie` makes it answer falsely, so tests can check that clients do not believe it.
 */
import { createServer } from "node:http";
import {
  type CryptoSuite,
  type FiscoHeader,
  type FiscoReceiptData,
  fiscoHeaderHash,
  fiscoMerkleProof,
  fiscoMerkleRoot,
  fiscoReceiptHash,
  publicKeyOf,
  signHash,
  suiteHash,
  toHex,
} from "@shandu/proofs";

export interface FakeFiscoNodeOptions {
  suite: CryptoSuite;
  /** Secret keys of the sealers, in sealer-list order. */
  sealerKeys: Uint8Array[];
  /** Which sealers sign each header (indices); default all. */
  signers?: number[];
  proofShape?: "flat" | "units";
  group?: string;
}

export interface FakeFiscoNode {
  url: string;
  sealers: Uint8Array[];
  /** Appends a block with these transactions; returns its number. */
  addBlock(txs: { txHash: Uint8Array; receipt: Omit<FiscoReceiptData, "blockNumber"> }[]): bigint;
  /** Make the next answers false: a receipt whose content changed, or proofs for another root. */
  lie: { receipt?: boolean; proof?: boolean };
  close(): Promise<void>;
}

interface Block {
  header: FiscoHeader;
  txHashes: Uint8Array[];
  receipts: FiscoReceiptData[];
}

const hex = (b: Uint8Array) => toHex(b);

export async function startFakeFiscoNode(o: FakeFiscoNodeOptions): Promise<FakeFiscoNode> {
  const suite = o.suite;
  const hash = (d: Uint8Array) => suiteHash(suite, d);
  const sealers = o.sealerKeys.map((k) => publicKeyOf(suite, k));
  const blocks: Block[] = [];
  const lie: FakeFiscoNode["lie"] = {};

  const addBlock: FakeFiscoNode["addBlock"] = (txs) => {
    const number = BigInt(blocks.length + 1);
    const receipts = txs.map((t) => ({ ...t.receipt, blockNumber: number }));
    const header: FiscoHeader = {
      data: {
        version: 0,
        parents: blocks.length ? [{ blockNumber: number - 1n, blockHash: blocks.at(-1)!.header.dataHash }] : [],
        txsRoot: fiscoMerkleRoot(
          txs.map((t) => t.txHash),
          hash,
        ),
        receiptRoot: fiscoMerkleRoot(
          receipts.map((r) => fiscoReceiptHash(suite, r)),
          hash,
        ),
        stateRoot: hash(Uint8Array.of(Number(number & 0xffn))),
        blockNumber: number,
        gasUsed: "0",
        timestamp: 1_790_000_000_000n + number * 1000n,
        sealer: 0n,
        sealerList: sealers,
        extraData: new Uint8Array(0),
        consensusWeights: sealers.map(() => 1n),
      },
      dataHash: new Uint8Array(0),
      signatures: [],
    };
    header.dataHash = fiscoHeaderHash(suite, header.data);
    header.signatures = (o.signers ?? o.sealerKeys.map((_, i) => i)).map((i) => ({
      sealerIndex: BigInt(i),
      signature: signHash(suite, header.dataHash, o.sealerKeys[i]!),
    }));
    blocks.push({ header, txHashes: txs.map((t) => t.txHash), receipts });
    return number;
  };

  const proofJson = (leaves: Uint8Array[], index: number): unknown[] => {
    const flat = fiscoMerkleProof(lie.proof ? [...leaves, leaves[0]!] : leaves, index, hash);
    if (o.proofShape !== "units" || flat.length === 1) return flat.map(hex);
    // {left, right} units: the group around the running hash, which the unit leaves out.
    const units: { left: string[]; right: string[] }[] = [];
    let at = index;
    for (let i = 0; i < flat.length; ) {
      const count = new DataView(flat[i]!.buffer, flat[i]!.byteOffset).getUint32(0);
      const group = flat.slice(i + 1, i + 1 + count);
      const pos = at % 2;
      units.push({ left: group.slice(0, pos).map(hex), right: group.slice(pos + 1).map(hex) });
      at = Math.floor(at / 2);
      i += 1 + count;
    }
    return units;
  };

  const receiptJson = (b: Block, i: number) => {
    const r = lie.receipt ? { ...b.receipts[i]!, gasUsed: "1" } : b.receipts[i]!;
    return {
      version: r.version,
      contractAddress: r.contractAddress,
      gasUsed: r.gasUsed,
      status: r.status,
      blockNumber: Number(r.blockNumber),
      output: hex(r.output),
      transactionHash: hex(b.txHashes[i]!),
      hash: hex(fiscoReceiptHash(suite, b.receipts[i]!)),
      logEntries: r.logs.map((l) => ({
        address: l.address,
        topics: l.topics.map(hex),
        data: hex(l.data),
        blockNumber: String(r.blockNumber),
      })),
      receiptProof: proofJson(
        b.receipts.map((x) => fiscoReceiptHash(suite, x)),
        i,
      ),
      transactionProof: proofJson(b.txHashes, i),
      message: "",
    };
  };

  const headerJson = (h: FiscoHeader) => ({
    number: Number(h.data.blockNumber),
    version: h.data.version,
    hash: hex(h.dataHash),
    parentInfo: h.data.parents.map((p) => ({ blockNumber: Number(p.blockNumber), blockHash: hex(p.blockHash) })),
    txsRoot: hex(h.data.txsRoot),
    receiptsRoot: hex(h.data.receiptRoot),
    stateRoot: hex(h.data.stateRoot),
    sealer: Number(h.data.sealer),
    sealerList: h.data.sealerList.map(hex),
    extraData: hex(h.data.extraData),
    gasUsed: h.data.gasUsed,
    timestamp: Number(h.data.timestamp),
    signatureList: h.signatures.map((s) => ({ sealerIndex: Number(s.sealerIndex), signature: hex(s.signature) })),
    consensusWeights: h.data.consensusWeights.map(Number),
  });

  const answer = (method: string, params: unknown[]): unknown => {
    const [group, , ...rest] = params;
    if (group !== (o.group ?? "group0")) throw { code: -32602, message: `group ${String(group)} does not exist` };
    switch (method) {
      case "getBlockNumber":
        return blocks.length;
      case "getBlockByNumber": {
        const b = blocks[Number(rest[0]) - 1];
        if (!b) throw { code: -32602, message: "block not found" };
        // [number, onlyHeader, onlyTxHash]: with onlyHeader false, the transactions (hashes only here).
        return rest[1] === false ? { ...headerJson(b.header), transactions: b.txHashes.map(hex) } : headerJson(b.header);
      }
      case "getTransactionReceipt": {
        const h = String(rest[0]).toLowerCase();
        for (const b of blocks) {
          const i = b.txHashes.findIndex((t) => hex(t) === h);
          if (i >= 0) return receiptJson(b, i);
        }
        return null;
      }
      default:
        throw { code: -32601, message: "Method not found" };
    }
  };

  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      let id: unknown = null;
      try {
        const r = JSON.parse(body) as { id: unknown; method: string; params: unknown[] };
        id = r.id;
        const result = answer(r.method, r.params);
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id, result }));
      } catch (e) {
        const err = typeof e === "object" && e !== null && "code" in e ? e : { code: -32700, message: "Parse error" };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id, error: err }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    sealers,
    addBlock,
    lie,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
