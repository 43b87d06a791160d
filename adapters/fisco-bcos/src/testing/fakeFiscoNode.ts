/**
 * A test double of a FISCO BCOS 3.x node's JSON-RPC — `fakeFiscoNode`, not the real thing. It keeps an
 * in-memory chain of blocks the test appends (transaction hashes with their receipts), seals each header
 * with the given sealer keys, and answers `getBlockNumber`, `getBlockByNumber` and
 * `getTransactionReceipt` in the JSON shapes the java-sdk models (see `../rpc.ts`), with Merkle proofs in
 * either wire shape. `lie` makes it answer falsely, so tests can check that clients do not believe it.
 * Sealing, JSON and HTTP are shared with `fiscoTestServer` (`fiscoBlocks.ts`, `jsonRpcServer.ts`).
 */
import {
  type CryptoSuite,
  type FiscoHeader,
  type FiscoReceiptData,
  fiscoMerkleProof,
  fiscoReceiptHash,
  publicKeyOf,
  suiteHash,
  toHex,
} from "@shandu/proofs";
import { headerJson, receiptJson as nodeReceiptJson, sealBlock } from "./fiscoBlocks.ts";
import { JsonRpcFault, serveJsonRpc } from "./jsonRpcServer.ts";

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
    const header = sealBlock({
      suite,
      number,
      parent: blocks.at(-1)?.header,
      txHashes: txs.map((t) => t.txHash),
      receiptHashes: receipts.map((r) => fiscoReceiptHash(suite, r)),
      sealers,
      sealerKeys: o.sealerKeys,
      signers: o.signers,
      timestamp: 1_790_000_000_000n + number * 1000n,
      stateRoot: hash(Uint8Array.of(Number(number & 0xffn))),
      gasUsed: "0",
      sealer: 0n,
    });
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
      ...nodeReceiptJson(r, b.txHashes[i]!, fiscoReceiptHash(suite, b.receipts[i]!)),
      receiptProof: proofJson(
        b.receipts.map((x) => fiscoReceiptHash(suite, x)),
        i,
      ),
      transactionProof: proofJson(b.txHashes, i),
    };
  };

  const answer = (method: string, params: unknown[]): unknown => {
    const [group, , ...rest] = params;
    if (group !== (o.group ?? "group0")) throw new JsonRpcFault(-32602, `group ${String(group)} does not exist`);
    switch (method) {
      case "getBlockNumber":
        return blocks.length;
      case "getBlockByNumber": {
        const b = blocks[Number(rest[0]) - 1];
        if (!b) throw new JsonRpcFault(-32602, "block not found");
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
        throw new JsonRpcFault(-32601, "Method not found");
    }
  };

  const server = await serveJsonRpc(answer);
  return {
    url: server.url,
    sealers,
    addBlock,
    lie,
    close: () => server.close(),
  };
}
