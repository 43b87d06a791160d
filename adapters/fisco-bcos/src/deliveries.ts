/**
 * Finds the inbox's `BatchDelivered` log that executed a (source chain, nonce) on a FISCO BCOS 3.x chain.
 * Nodes before 3.9 have no `getLogs`, so blocks are read one by one (`getBlockByNumber` with transaction
 * hashes, then each receipt), newest first, down to a bound. Every `BatchDelivered` of the inbox met on
 * the way is remembered — the position of each nonce it executed, for every source chain — together with
 * the span of blocks already read, so that the bundles of one batch, asked for message by message, cost
 * one scan, and a later search reads only blocks it has not read yet.
 */
import { AdapterError } from "@shandu/adapter-core";
import { bytesEqual, type CryptoSuite, deliveryOutcome, fiscoLogAddress, toHex } from "@shandu/proofs";
import { decodeBatchDelivered, eventTopic, INBOX_SIGNATURES } from "./inbox.ts";
import type { FiscoRpcClient } from "./rpc.ts";

/** Where a delivery's `BatchDelivered` log is: its block, transaction and index among the receipt's logs. */
export interface DeliveryPosition {
  blockNumber: bigint;
  txHash: Uint8Array;
  logIndex: number;
}

export interface DeliveryLocatorOptions {
  client: FiscoRpcClient;
  suite: CryptoSuite;
  /** The native-key inbox (20 bytes). */
  inbox: Uint8Array;
  /** How many blocks below the head a search reads at most. */
  scanBlocks: number;
  /** Blocks this far below the head are final; a log above them is reported `NOT_FINALIZED`. */
  finalityDepthBlocks: number;
  /** About how many positions are remembered; past it, they are forgotten and found again by reading blocks. */
  maxPositions?: number;
}

const DEFAULT_MAX_POSITIONS = 100_000;
/** Outcomes of more nonces than this in one event are not indexed (no real delivery is that large). */
const MAX_OUTCOME_BYTES = 1 << 16;

const keyOf = (sourceChainId: bigint, nonce: bigint) => `${sourceChainId}:${nonce}`;

export class DeliveryLocator {
  readonly #o: DeliveryLocatorOptions;
  readonly #topic: Uint8Array;
  readonly #positions = new Map<string, DeliveryPosition>();
  /** The final blocks whose logs are all in `#positions`: `[low, high]`, or `null` before the first search. */
  #read: { low: bigint; high: bigint } | null = null;
  /** Searches run one at a time, so that a second one for the same batch finds the first one's positions. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(o: DeliveryLocatorOptions) {
    this.#o = o;
    this.#topic = eventTopic(o.suite, INBOX_SIGNATURES.batchDelivered);
  }

  /**
   * The position of the `BatchDelivered` log whose outcome for `nonce` from `sourceChainId` is not 0
   * (executed, or executed and failed), or `null` when no final block within `scanBlocks` of the head
   * holds one. Throws `NOT_FINALIZED` when only a block above the final ones holds it, and the client's
   * errors (`RPC_*`, `CANCELLED`).
   */
  locate(sourceChainId: bigint, nonce: bigint, signal?: AbortSignal): Promise<DeliveryPosition | null> {
    const run = this.#queue.then(() => this.#locate(sourceChainId, nonce, signal));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Drops a remembered position (one that turned out not to hold the log): the next search reads the blocks again. */
  forget(sourceChainId: bigint, nonce: bigint): void {
    this.#positions.delete(keyOf(sourceChainId, nonce));
    this.#read = null;
  }

  async #locate(sourceChainId: bigint, nonce: bigint, signal?: AbortSignal): Promise<DeliveryPosition | null> {
    const key = keyOf(sourceChainId, nonce);
    const known = this.#positions.get(key);
    if (known) return known;
    if (this.#positions.size > (this.#o.maxPositions ?? DEFAULT_MAX_POSITIONS)) {
      // Full: start again (between searches, so that a search never loses what it found).
      this.#positions.clear();
      this.#read = null;
    }
    const head = await this.#o.client.getBlockNumber(signal);
    const final = head - BigInt(this.#o.finalityDepthBlocks);
    const floor = maxOf(1n, head - BigInt(this.#o.scanBlocks) + 1n);
    const found = () => this.#positions.get(key) ?? null;

    if (final >= floor) {
      // A span that no longer touches the window is of no use: start afresh.
      if (this.#read && this.#read.high + 1n < floor) this.#read = null;
      if (this.#read === null) {
        for (let b = final; b >= floor && !found(); b--) {
          await this.#index(b, signal);
          this.#read = { low: b, high: final };
        }
      } else {
        const read = this.#read;
        // Blocks made final since, oldest first (the span grows by one block at a time), then older ones.
        for (let b = read.high + 1n; b <= final && !found(); b++) {
          await this.#index(b, signal);
          read.high = b;
        }
        for (let b = read.low - 1n; b >= floor && !found(); b--) {
          await this.#index(b, signal);
          read.low = b;
        }
      }
      if (found()) return found();
    }

    // Not in a final block: a delivery in a block that is not final yet must wait.
    for (let b = head; b > final && b >= floor; b--) {
      const pending = new Map<string, DeliveryPosition>();
      await this.#index(b, signal, pending);
      if (pending.has(key)) {
        throw new AdapterError("NOT_FINALIZED", "the message was delivered in a block that is not final yet", {
          facts: { blockNumber: b, finalBlock: final, sourceChainId, nonce },
        });
      }
    }
    return null;
  }

  /** Reads block `number` and records the nonces each of the inbox's `BatchDelivered` logs executed. */
  async #index(number: bigint, signal: AbortSignal | undefined, into: Map<string, DeliveryPosition> = this.#positions): Promise<void> {
    const { txHashes } = await this.#o.client.getBlockWithTxHashes(number, signal);
    for (const txHash of txHashes) {
      const receipt = await this.#o.client.getTransactionReceipt(txHash, false, signal);
      if (!receipt) {
        throw new AdapterError("RPC_UNAVAILABLE", "the node lists a transaction it has no receipt for", {
          facts: { txHash: toHex(txHash), blockNumber: number },
        });
      }
      for (const [logIndex, log] of receipt.data.logs.entries()) {
        const address = fiscoLogAddress(log.address);
        if (!address || !bytesEqual(address, this.#o.inbox) || log.topics.length !== 3 || !bytesEqual(log.topics[0]!, this.#topic))
          continue;
        const source = log.topics[1]!;
        if (source.length !== 32 || !source.subarray(0, 24).every((x) => x === 0)) continue;
        const sourceChainId = new DataView(source.buffer, source.byteOffset + 24, 8).getBigUint64(0);
        let event: { fromNonce: bigint; outcomes: Uint8Array };
        try {
          event = decodeBatchDelivered(log.data);
        } catch {
          continue; // not the inbox's encoding: nothing a verifier would accept
        }
        if (event.outcomes.length > MAX_OUTCOME_BYTES) continue;
        const position = { blockNumber: number, txHash, logIndex };
        for (let i = 0n; i < BigInt(event.outcomes.length) * 4n; i++) {
          const n = event.fromNonce + i;
          if (deliveryOutcome(event.fromNonce, event.outcomes, n) !== 0) this.#remember(into, keyOf(sourceChainId, n), position);
        }
      }
    }
  }

  #remember(into: Map<string, DeliveryPosition>, key: string, position: DeliveryPosition): void {
    if (into.has(key)) return; // the inbox executes a nonce once: a second log for it is the node's invention
    into.set(key, position);
  }
}

const maxOf = (a: bigint, b: bigint) => (a > b ? a : b);
