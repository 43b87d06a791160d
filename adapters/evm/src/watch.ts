/**
 * Watching the outbox: `MessageSent` logs in final blocks, in order, each turned back into the full
 * canonical message (the event's body plus the source position the EVM cannot know while executing).
 *
 * Finality is by depth: block `b` is final once the head is at least `b + finalityDepthBlocks`. Only
 * final blocks are read, so a reorganisation of the blocks above the depth is never seen. A reorg below
 * it is a consensus fault: the watch remembers the hash of the last final block it read (the `from`
 * cursor's block to begin with) and checks it at every poll; since every block hash covers its parent,
 * that one hash stands for everything the watch has read, and a change throws `REORG_BELOW_FINALITY`.
 */
import { AdapterError, type Cursor, type WatchItem } from "@shandu/adapter-core";
import {
  bytesEqual,
  type ChainId,
  concatBytes,
  decodeMessage,
  encodeMessage,
  fromHex,
  type Message,
  messageIdOfEncoding,
  ShanduError,
  toHex,
} from "@shandu/proofs";
import type { Log, TransactionReceipt } from "ethers";
import { MESSAGE_SENT_TOPIC, outboxAbi } from "./abi.ts";
import { type EvmRpc, sleep } from "./rpc.ts";

export interface WatchOptions {
  chainId: ChainId;
  outbox: string;
  finalityDepthBlocks: number;
  pollIntervalMs: number;
  logRangeBlocks: number;
  /** No outbox log is older than this block: reading starts here at the earliest. */
  deploymentBlock: bigint;
  signal: AbortSignal;
  /** See `WatchOptions.onFinalized` in adapter-core. */
  onFinalized?: (blockNumber: bigint) => void;
}

const bigMax = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const bigMin = (a: bigint, b: bigint): bigint => (a < b ? a : b);

function u64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}

function u32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v);
  return out;
}

/**
 * The canonical encoding of the message a `MessageSent` log stands for: the body the outbox emitted
 * (fields 1–8) followed by the block number, the transaction hash and the log's index within its
 * transaction's receipt.
 */
export function messageEncodingOf(body: Uint8Array, blockNumber: bigint, txHash: Uint8Array, logIndexInReceipt: number): Uint8Array {
  return concatBytes(body, u64(blockNumber), txHash, u32(logIndexInReceipt));
}

/** The hash of block `n` as the node has it now, or `null` when the node has no such block. */
export async function blockHashAt(rpc: EvmRpc, n: bigint, signal?: AbortSignal): Promise<Uint8Array | null> {
  const block = await rpc.request(`block ${n}`, (p) => p.getBlock(n), signal, { blockNumber: n });
  return block?.hash ? fromHex(block.hash, 32) : null;
}

/** The highest final block, or `-1n` while no block is final. */
export async function finalizedBlockNumber(rpc: EvmRpc, finalityDepthBlocks: number, signal?: AbortSignal): Promise<bigint> {
  const head = BigInt(await rpc.request("head block number", (p) => p.getBlockNumber(), signal));
  return head - BigInt(finalityDepthBlocks);
}

function reorgError(chainId: ChainId, blockNumber: bigint, expected: Uint8Array, actual: Uint8Array | null, what: string): AdapterError {
  return new AdapterError("REORG_BELOW_FINALITY", `a block treated as final was replaced (${what})`, {
    facts: { chainId, blockNumber, expected: toHex(expected), actual: actual ? toHex(actual) : null },
  });
}

/**
 * Decodes the message a `MessageSent` log emitted and checks it against the log: the decoded lane,
 * nonce and source position must be the log's, and re-encoding must give the same bytes. Throws
 * `MESSAGE_NOT_FOUND` for a log that does not hold a message of this chain (not a Shandu outbox).
 */
export function messageFromLog(
  chainId: ChainId,
  log: Pick<Log, "topics" | "data" | "blockNumber" | "transactionHash" | "index">,
  logIndexInReceipt: number,
): { message: Message; encoding: Uint8Array } {
  const facts = { chainId, blockNumber: log.blockNumber, txHash: log.transactionHash, logIndex: log.index };
  let message: Message;
  let encoding: Uint8Array;
  try {
    const parsed = outboxAbi.parseLog({ topics: [...log.topics], data: log.data });
    if (parsed?.name !== "MessageSent") throw new TypeError("not a MessageSent log");
    const body = fromHex(parsed.args.getValue("body") as string);
    encoding = messageEncodingOf(body, BigInt(log.blockNumber), fromHex(log.transactionHash, 32), logIndexInReceipt);
    message = decodeMessage(encoding);
    const same =
      message.sourceChainId === chainId &&
      message.destinationChainId === (parsed.args.getValue("destinationChainId") as bigint) &&
      message.nonce === (parsed.args.getValue("nonce") as bigint) &&
      bytesEqual(encodeMessage(message), encoding);
    if (!same) throw new TypeError("the event's body does not match its topics or this chain");
  } catch (cause) {
    if (cause instanceof AdapterError) throw cause;
    const reason = cause instanceof ShanduError ? cause.code : (cause as Error).message;
    throw new AdapterError("MESSAGE_NOT_FOUND", "an outbox log does not hold a message of this chain", {
      facts: { ...facts, reason },
      cause,
    });
  }
  return { message, encoding };
}

/** The index of `log` within its transaction's receipt, from the receipt's logs. */
function indexInReceipt(receipt: TransactionReceipt, log: Log): number {
  return receipt.logs.findIndex((l) => l.index === log.index);
}

/**
 * Finalized `MessageSent` logs after `from`, until `opts.signal` aborts (then the iteration ends).
 * Cursors are (block number, block-wide log index, block hash). Throws `REORG_BELOW_FINALITY`,
 * `INVALID_CURSOR`, `MESSAGE_NOT_FOUND` (the outbox address holds something else), `RPC_*`.
 */
export async function* watchOutbox(rpc: EvmRpc, from: Cursor, opts: WatchOptions): AsyncGenerator<WatchItem> {
  checkCursor(from);
  const { signal, chainId } = opts;
  /** The first block not read yet, the position to resume after, and the last final block read. */
  let next = bigMax(from.blockNumber, opts.deploymentBlock);
  const after = { blockNumber: from.blockNumber, eventIndex: from.eventIndex };
  let anchor = from.blockHash ? { blockNumber: from.blockNumber, blockHash: from.blockHash } : null;
  try {
    while (!signal.aborted) {
      const finalized = await finalizedBlockNumber(rpc, opts.finalityDepthBlocks, signal);
      if (anchor) {
        const hash = await blockHashAt(rpc, anchor.blockNumber, signal);
        // A block the node does not have (yet) cannot be compared; the memory chain behaves alike.
        if (hash && !bytesEqual(hash, anchor.blockHash)) throw reorgError(chainId, anchor.blockNumber, anchor.blockHash, hash, "watch");
      }
      if (next > finalized) {
        if (finalized >= 0n && next > 0n) opts.onFinalized?.(next - 1n);
        await sleep(opts.pollIntervalMs, signal);
        continue;
      }
      const to = bigMin(finalized, next + BigInt(opts.logRangeBlocks) - 1n);
      // The hash of the range's last block is read before its logs, so that a replacement of any block in
      // the range after this point is caught by the next poll's anchor check.
      const toHash = await blockHashAt(rpc, to, signal);
      if (!toHash) throw new AdapterError("RPC_UNAVAILABLE", "the node reported a head it does not serve", { facts: { blockNumber: to } });
      const logs = await rpc.request(
        `MessageSent logs of blocks ${next}..${to}`,
        (p) => p.getLogs({ address: opts.outbox, topics: [MESSAGE_SENT_TOPIC], fromBlock: next, toBlock: to }),
        signal,
      );
      const fresh = logs
        .filter((l) => !l.removed)
        .filter(
          (l) => BigInt(l.blockNumber) > after.blockNumber || (BigInt(l.blockNumber) === after.blockNumber && l.index > after.eventIndex),
        )
        .sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
      const receipts = new Map<string, TransactionReceipt>();
      for (const log of fresh) {
        if (log.blockNumber === Number(to) && !bytesEqual(fromHex(log.blockHash, 32), toHash)) {
          throw reorgError(chainId, to, toHash, fromHex(log.blockHash, 32), "log of a final block from another fork");
        }
        let receipt = receipts.get(log.transactionHash);
        if (!receipt) {
          const r = await rpc.request(`receipt ${log.transactionHash}`, (p) => p.getTransactionReceipt(log.transactionHash), signal);
          if (!r) {
            throw new AdapterError("RPC_UNAVAILABLE", "the node has no receipt for a transaction it reported a log of", {
              facts: { chainId, blockNumber: log.blockNumber, txHash: log.transactionHash },
            });
          }
          if (r.blockHash !== log.blockHash) {
            throw reorgError(chainId, BigInt(log.blockNumber), fromHex(log.blockHash, 32), fromHex(r.blockHash, 32), "receipt");
          }
          receipt = r;
          receipts.set(log.transactionHash, r);
        }
        const { message, encoding } = messageFromLog(chainId, log, indexInReceipt(receipt, log));
        const cursor: Cursor = { blockNumber: BigInt(log.blockNumber), eventIndex: log.index, blockHash: fromHex(log.blockHash, 32) };
        yield { message, encoding, id: messageIdOfEncoding(encoding), cursor };
        after.blockNumber = cursor.blockNumber;
        after.eventIndex = cursor.eventIndex;
        if (signal.aborted) return;
      }
      next = to + 1n;
      anchor = { blockNumber: to, blockHash: toHash };
      opts.onFinalized?.(to);
      if (to === finalized) await sleep(opts.pollIntervalMs, signal);
    }
  } catch (err) {
    // Cancelled or closed while waiting for the node: the watch just ends, as a memory watch does.
    if (signal.aborted && err instanceof AdapterError && (err.code === "CANCELLED" || err.code === "CLOSED")) return;
    throw err;
  }
}

function checkCursor(c: Cursor): void {
  const ok =
    typeof c.blockNumber === "bigint" &&
    c.blockNumber >= 0n &&
    Number.isInteger(c.eventIndex) &&
    c.eventIndex >= -1 &&
    (c.blockHash === null || (c.blockHash instanceof Uint8Array && c.blockHash.length === 32));
  if (!ok)
    throw new AdapterError("INVALID_CURSOR", "the cursor is not a position on an EVM chain", { facts: { eventIndex: c.eventIndex } });
}
