/**
 * An in-memory chain and its adapter, for unit tests of what uses {@link ChainAdapter} (attester,
 * gateway, relayers). It is a test double, but its inbox is not a stub: it verifies deliveries with
 * `@shandu/proofs` exactly as an on-chain verifier must, from the genesis committee it was deployed with.
 *
 * The chain is a list of hash-linked blocks of transactions. Sends go to an outbox that assigns lane
 * nonces 1, 2, 3… per destination and are mined per send or on demand; a block is final once
 * `finalityDepthBlocks` blocks are on top of it. `reorg(d)` replaces the last `d` blocks with a longer
 * fork, losing their transactions: within the finality depth that is ordinary life, deeper it is the
 * consensus fault the adapter must raise as `REORG_BELOW_FINALITY`. Because each block hash covers its
 * parent, checking one final block's hash checks every block below it.
 */
import {
  type BatchHeader,
  type Bls,
  batchSigningRoot,
  batchSize,
  bytesEqual,
  type ChainId,
  type Committee,
  committeeSetHash,
  concatBytes,
  type Evidence,
  encodeMessage,
  MESSAGE_VERSION,
  type Message,
  type MessageId,
  MessageKind,
  messageId,
  messageIdOfEncoding,
  ShanduError,
  sha256,
  toHex,
  verifyAttestation,
  verifyCommittee,
  verifyCommitteeChain,
  verifyMultiProof,
} from "@shandu/proofs";
import { z } from "zod";
import { chainIdSchema, parseConfigWith } from "./config.ts";
import { AdapterError, deliveryRejected } from "./errors.ts";
import type {
  AdapterModule,
  CancelOptions,
  ChainAdapter,
  Cursor,
  Delivery,
  DeliveryReceipt,
  DeliveryStatus,
  Lane,
  WatchItem,
  WatchOptions,
} from "./interface.ts";

export interface MemoryChainOptions {
  chainId: ChainId;
  /** A block is final when at least this many blocks were mined on top of it; 0 = final when mined. */
  finalityDepthBlocks: number;
  /** The committee the inbox was deployed with: its only trust anchor. */
  trustedGenesis: Committee;
  bls: Bls;
  /** Mine a block for every send (default `true`); otherwise sends wait for {@link MemoryChain.mine}. */
  autoMine?: boolean;
  /** Unix seconds for the committee grace rules (default: the wall clock). */
  nowSeconds?: () => bigint;
}

export interface SendRequest {
  destinationChainId: ChainId;
  sender: Uint8Array;
  recipient: Uint8Array;
  payload: Uint8Array;
  kind?: MessageKind;
}

/** A message the inbox executed. */
export interface ExecutedMessage {
  message: Message;
  id: MessageId;
  txHash: Uint8Array;
  blockNumber: bigint;
}

interface SendTx {
  type: "send";
  hash: Uint8Array;
  message: Message;
  encoding: Uint8Array;
  id: MessageId;
}
type Tx = SendTx | { type: "deliver"; hash: Uint8Array; messages: { message: Message; id: MessageId }[] };

interface Block {
  number: bigint;
  hash: Uint8Array;
  txs: Tx[];
}

const laneKey = (sourceChainId: ChainId, nonce: bigint): string => `${sourceChainId}:${nonce}`;

function u64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}

const TAG_BLOCK = new TextEncoder().encode("shandu-memory-block");
const TAG_TX = new TextEncoder().encode("shandu-memory-tx");

export class MemoryChain {
  readonly chainId: ChainId;
  readonly finalityDepthBlocks: number;
  readonly #bls: Bls;
  readonly #genesis: Committee;
  readonly #genesisHash: Uint8Array;
  readonly #autoMine: boolean;
  readonly #now: () => bigint;
  readonly #blocks: Block[];
  #pending: Tx[] = [];
  /** Derived from the blocks (and pending sends): last nonce per destination, executed (lane, nonce). */
  readonly #outbox = new Map<ChainId, bigint>();
  readonly #delivered = new Map<string, ExecutedMessage>();
  readonly #paused = new Set<ChainId>();
  readonly #waiters = new Set<() => void>();
  /** Never reused, so a block or transaction re-mined after a reorg gets a new hash. */
  #serial = 0n;

  /**
   * Deploys the chain with its inbox. Throws `INVALID_CONFIG` for a finality depth that is not a
   * non-negative integer, and `CommitteeError` for a genesis that fails `verifyCommittee` — a bad trust
   * anchor is refused at deployment, not discovered at the first delivery.
   */
  constructor(opts: MemoryChainOptions) {
    if (!Number.isSafeInteger(opts.finalityDepthBlocks) || opts.finalityDepthBlocks < 0) {
      throw new AdapterError("INVALID_CONFIG", "invalid memory chain at finalityDepthBlocks: must be a non-negative integer", {
        facts: { path: "finalityDepthBlocks", value: opts.finalityDepthBlocks },
      });
    }
    verifyCommittee(opts.trustedGenesis, opts.bls);
    this.chainId = opts.chainId;
    this.finalityDepthBlocks = opts.finalityDepthBlocks;
    this.#bls = opts.bls;
    this.#genesis = opts.trustedGenesis;
    this.#genesisHash = committeeSetHash(opts.trustedGenesis);
    this.#autoMine = opts.autoMine ?? true;
    this.#now = opts.nowSeconds ?? (() => BigInt(Math.floor(Date.now() / 1000)));
    this.#blocks = [{ number: 0n, hash: this.#hash(TAG_BLOCK, new Uint8Array(32)), txs: [] }];
  }

  get headBlockNumber(): bigint {
    return BigInt(this.#blocks.length - 1);
  }

  /** The highest final block (block 0, which holds nothing, is always final). */
  get finalizedBlockNumber(): bigint {
    const n = this.headBlockNumber - BigInt(this.finalityDepthBlocks);
    return n > 0n ? n : 0n;
  }

  blockHash(blockNumber: bigint): Uint8Array | undefined {
    return this.#blocks[Number(blockNumber)]?.hash;
  }

  /** Emits a message through the outbox; it is in the next mined block. Throws `CodecError` for oversize fields. */
  send(req: SendRequest): Message {
    const nonce = (this.#outbox.get(req.destinationChainId) ?? 0n) + 1n;
    const hash = this.#hash(TAG_TX);
    const message: Message = {
      version: MESSAGE_VERSION,
      sourceChainId: this.chainId,
      destinationChainId: req.destinationChainId,
      nonce,
      kind: req.kind ?? MessageKind.app,
      sender: req.sender,
      recipient: req.recipient,
      payload: req.payload,
      source: { blockNumber: this.headBlockNumber + 1n, txHash: hash, logIndex: 0 },
    };
    const encoding = encodeMessage(message);
    this.#execute({ type: "send", hash, message, encoding, id: messageIdOfEncoding(encoding) }, this.headBlockNumber + 1n);
    if (this.#autoMine) this.mine();
    return message;
  }

  /** Mines `count` blocks, the first holding every pending transaction. Returns the new head. */
  mine(count = 1): bigint {
    for (let i = 0; i < count; i++) {
      const parent = this.#blocks[this.#blocks.length - 1]!;
      const txs = this.#pending;
      this.#pending = [];
      const number = parent.number + 1n;
      this.#blocks.push({ number, hash: this.#hash(TAG_BLOCK, parent.hash, u64(number), ...txs.map((t) => t.hash)), txs });
    }
    this.#notify();
    return this.headBlockNumber;
  }

  /**
   * Replaces the last `depthBlocks` blocks (at most all but block 0) and any pending transactions with a
   * longer fork of empty blocks. Their sends and deliveries are undone, so the outbox hands their nonces
   * out again to different messages. With `depthBlocks > finalityDepthBlocks` a final block is replaced:
   * the fault a watch reports as `REORG_BELOW_FINALITY`.
   */
  reorg(depthBlocks: number): void {
    const removed = Math.min(this.#blocks.length - 1, Math.max(0, depthBlocks));
    this.#blocks.length -= removed;
    this.#pending = [];
    this.#outbox.clear();
    this.#delivered.clear();
    for (const b of this.#blocks) for (const tx of b.txs) this.#execute(tx, b.number, false);
    this.mine(removed + 1);
  }

  /** Governance: stop (or resume) executing deliveries from `sourceChainId`. */
  setLanePaused(sourceChainId: ChainId, paused: boolean): void {
    if (paused) this.#paused.add(sourceChainId);
    else this.#paused.delete(sourceChainId);
  }

  isLanePaused(sourceChainId: ChainId): boolean {
    return this.#paused.has(sourceChainId);
  }

  /** The executed record of (lane from `sourceChainId`, nonce), if any. */
  executedMessage(sourceChainId: ChainId, nonce: bigint): ExecutedMessage | undefined {
    return this.#delivered.get(laneKey(sourceChainId, nonce));
  }

  /** Every message the inbox executed, in execution order. */
  executedMessages(): ExecutedMessage[] {
    return [...this.#delivered.values()];
  }

  /**
   * The first send after `after` in a final block, and the cursor to scan on from: the send's own, or the
   * end of the final chain when there is none. Throws `REORG_BELOW_FINALITY` when `after.blockHash` is
   * no longer the hash of its block.
   */
  scanFinalized(after: Cursor): { item: WatchItem | null; next: Cursor } {
    const anchor = this.#blocks[Number(after.blockNumber)];
    if (anchor && after.blockHash && !bytesEqual(anchor.hash, after.blockHash)) {
      throw new AdapterError("REORG_BELOW_FINALITY", "a block treated as final was replaced", {
        facts: { chainId: this.chainId, blockNumber: after.blockNumber, expected: toHex(after.blockHash), actual: toHex(anchor.hash) },
      });
    }
    const finalized = this.finalizedBlockNumber;
    for (let n = after.blockNumber; n <= finalized; n++) {
      const b = this.#blocks[Number(n)]!;
      for (let i = n === after.blockNumber ? after.eventIndex + 1 : 0; i < b.txs.length; i++) {
        const tx = b.txs[i]!;
        if (tx.type !== "send") continue;
        const cursor = { blockNumber: n, eventIndex: i, blockHash: b.hash };
        return { item: { message: tx.message, encoding: tx.encoding, id: tx.id, cursor }, next: cursor };
      }
    }
    if (after.blockNumber > finalized) return { item: null, next: after };
    // Remember the final head's hash so the next scan notices if it (or anything below it) is replaced.
    const end = this.#blocks[Number(finalized)]!;
    const eventIndex = Math.max(end.txs.length - 1, after.blockNumber === finalized ? after.eventIndex : -1);
    return { item: null, next: { blockNumber: finalized, eventIndex, blockHash: end.hash } };
  }

  /** Resolves at the next mined block or reorg, or when `signal` aborts; leaves no listener behind. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = (): void => {
        signal.removeEventListener("abort", done);
        this.#waiters.delete(done);
        resolve();
      };
      signal.addEventListener("abort", done, { once: true });
      this.#waiters.add(done);
    });
  }

  /** Source evidence for a send in a final block. Throws `NOT_FINALIZED` or `MESSAGE_NOT_FOUND`. */
  sourceEvidence(message: Message): Evidence {
    const n = message.source.blockNumber;
    if (message.sourceChainId === this.chainId && n > this.finalizedBlockNumber) {
      throw new AdapterError("NOT_FINALIZED", "the message's block is not final yet", {
        facts: { blockNumber: n, finalizedBlockNumber: this.finalizedBlockNumber },
      });
    }
    const block = message.sourceChainId === this.chainId ? this.#blocks[Number(n)] : undefined;
    const tx = block?.txs.find((t): t is SendTx => t.type === "send" && bytesEqual(t.hash, message.source.txHash));
    let same = false;
    try {
      same = tx !== undefined && bytesEqual(tx.encoding, encodeMessage(message));
    } catch (cause) {
      if (!(cause instanceof ShanduError)) throw cause;
    }
    if (!block || !tx || !same) {
      throw new AdapterError("MESSAGE_NOT_FOUND", "no such message at the source position it names", {
        facts: { chainId: this.chainId, blockNumber: n, txHash: toHex(message.source.txHash) },
      });
    }
    return {
      kind: "memory-source",
      chainId: this.chainId.toString(),
      blockNumber: n.toString(),
      blockHash: toHex(block.hash),
      txHash: toHex(tx.hash),
      logIndex: message.source.logIndex,
      messageId: toHex(tx.id),
    };
  }

  /** Destination evidence for an executed (lane, nonce), or `null`. */
  destinationEvidence(sourceChainId: ChainId, nonce: bigint): Evidence | null {
    const e = this.executedMessage(sourceChainId, nonce);
    if (!e) return null;
    return {
      kind: "memory-delivery",
      chainId: this.chainId.toString(),
      sourceChainId: sourceChainId.toString(),
      nonce: nonce.toString(),
      messageId: toHex(e.id),
      txHash: toHex(e.txHash),
      blockNumber: e.blockNumber.toString(),
      blockHash: toHex(this.#blocks[Number(e.blockNumber)]!.hash),
    };
  }

  /**
   * The inbox. Verifies the whole delivery before touching any state, then executes each (lane, nonce)
   * not executed before in one mined transaction. Throws `DELIVERY_REJECTED` (with `facts.reason` and the
   * `@shandu/proofs` error as `cause`) or `LANE_PAUSED`; on either nothing changes.
   */
  deliver(d: Delivery): DeliveryReceipt {
    const h = d.header;
    const ids = this.#verify(d);
    if (this.#paused.has(h.sourceChainId)) {
      throw new AdapterError("LANE_PAUSED", "the lane is paused at the destination", {
        facts: { sourceChainId: h.sourceChainId, destinationChainId: h.destinationChainId },
      });
    }
    const fresh = d.messages.flatMap((message, i) =>
      this.#delivered.has(laneKey(h.sourceChainId, message.nonce)) ? [] : [{ message, id: ids[i]! }],
    );
    const alreadyDelivered = d.messages.filter((m) => this.#delivered.has(laneKey(h.sourceChainId, m.nonce))).map((m) => m.nonce);
    if (fresh.length === 0) return { tx: null, executed: [], alreadyDelivered };
    const tx: Tx = { type: "deliver", hash: this.#hash(TAG_TX), messages: fresh };
    const blockNumber = this.headBlockNumber + 1n;
    this.#execute(tx, blockNumber);
    this.mine();
    return { tx: { hash: tx.hash, blockNumber }, executed: fresh.map((f) => f.message.nonce), alreadyDelivered };
  }

  /** Returns the message ids; throws `DELIVERY_REJECTED` for the first check that fails. */
  #verify(d: Delivery): MessageId[] {
    const h: BatchHeader = d.header;
    if (h.destinationChainId !== this.chainId) {
      throw deliveryRejected("WRONG_DESTINATION_CHAIN", "the batch is for another chain", {
        facts: { destinationChainId: h.destinationChainId, chainId: this.chainId },
      });
    }
    try {
      const size = batchSize(h);
      if (!bytesEqual(committeeSetHash(d.committees.genesis), this.#genesisHash)) {
        throw deliveryRejected("GENESIS_MISMATCH", "the delivery's genesis committee is not the inbox's trusted genesis");
      }
      // Rotations are untrusted: walked from our own genesis, never from the one supplied.
      const vc = verifyCommitteeChain(this.#genesis, d.committees.rotations, this.#bls).committeeFor(d.attestation.epoch, this.#now());
      verifyAttestation(d.attestation, vc, batchSigningRoot(vc.hash, vc.epoch, h), this.#bls);
      if (d.messages.length === 0) throw deliveryRejected("EMPTY_DELIVERY", "a delivery carries at least one message");
      const ids: MessageId[] = [];
      const indices: number[] = [];
      for (const m of d.messages) {
        if (m.sourceChainId !== h.sourceChainId || m.destinationChainId !== h.destinationChainId) {
          throw deliveryRejected("LANE_MISMATCH", "a message is not on the batch's lane", { facts: { nonce: m.nonce } });
        }
        if (m.nonce < h.firstNonce || m.nonce > h.lastNonce) {
          throw deliveryRejected("NONCE_OUT_OF_RANGE", "a message nonce is outside the batch", {
            facts: { nonce: m.nonce, firstNonce: h.firstNonce, lastNonce: h.lastNonce },
          });
        }
        ids.push(messageId(m));
        indices.push(Number(m.nonce - h.firstNonce));
      }
      // The leaf positions follow from the nonces; a proof claiming others is refused, not reinterpreted.
      if (d.proof.treeSize !== size || d.proof.indices.length !== indices.length || d.proof.indices.some((x, i) => x !== indices[i])) {
        throw deliveryRejected("PROOF_INDEX_MISMATCH", "the proof is not for these messages' positions in the batch", {
          facts: { treeSize: d.proof.treeSize, expectedTreeSize: size, indices: d.proof.indices.join(","), expected: indices.join(",") },
        });
      }
      verifyMultiProof(h.root, { treeSize: size, indices, siblings: d.proof.siblings }, ids);
      return ids;
    } catch (cause) {
      if (cause instanceof AdapterError || !(cause instanceof ShanduError)) throw cause;
      throw deliveryRejected(cause.code, `delivery refused: ${cause.shortMessage}`, { facts: cause.facts, cause });
    }
  }

  #execute(tx: Tx, blockNumber: bigint, pending = true): void {
    if (tx.type === "send") this.#outbox.set(tx.message.destinationChainId, tx.message.nonce);
    else
      for (const { message, id } of tx.messages) {
        this.#delivered.set(laneKey(message.sourceChainId, message.nonce), { message, id, txHash: tx.hash, blockNumber });
      }
    if (pending) this.#pending.push(tx);
  }

  #hash(tag: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
    return sha256(concatBytes(tag, u64(this.chainId), u64(this.#serial++), ...parts));
  }

  #notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}

/** A {@link ChainAdapter} over a {@link MemoryChain}. Closing the adapter leaves the chain running. */
export class MemoryAdapter implements ChainAdapter {
  readonly kind = "memory";
  readonly chainId: ChainId;
  readonly chain: MemoryChain;
  readonly #closing = new AbortController();

  constructor(chain: MemoryChain) {
    this.chain = chain;
    this.chainId = chain.chainId;
  }

  async *watch(from: Cursor, opts: WatchOptions): AsyncIterable<WatchItem> {
    this.#assertOpen();
    const signal = AbortSignal.any([opts.signal, this.#closing.signal]);
    let position = from;
    while (!signal.aborted) {
      const { item, next } = this.chain.scanFinalized(position);
      position = next;
      if (item) yield item;
      else {
        opts.onFinalized?.(next.blockNumber);
        await this.chain.changed(signal);
      }
    }
  }

  async sourceEvidence(message: Message): Promise<Evidence> {
    this.#assertOpen();
    return this.chain.sourceEvidence(message);
  }

  async submitBatch(delivery: Delivery, opts: CancelOptions): Promise<DeliveryReceipt> {
    this.#assertOpen();
    if (opts.signal.aborted) throw new AdapterError("CANCELLED", "delivery cancelled before submission", { cause: opts.signal.reason });
    return this.chain.deliver(delivery);
  }

  async deliveryStatus(lane: Lane, nonce: bigint): Promise<DeliveryStatus> {
    this.#assertLane(lane);
    return {
      status: this.chain.executedMessage(lane.sourceChainId, nonce) ? "delivered" : "not-delivered",
      lanePaused: this.chain.isLanePaused(lane.sourceChainId),
    };
  }

  async destinationEvidence(lane: Lane, nonce: bigint): Promise<Evidence | null> {
    this.#assertLane(lane);
    return this.chain.destinationEvidence(lane.sourceChainId, nonce);
  }

  async close(): Promise<void> {
    this.#closing.abort();
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw new AdapterError("CLOSED", "the adapter is closed", { facts: { chainId: this.chainId } });
  }

  #assertLane(lane: Lane): void {
    this.#assertOpen();
    if (lane.destinationChainId !== this.chainId) {
      throw new AdapterError("WRONG_LANE", "the lane does not end on this chain", {
        facts: { destinationChainId: lane.destinationChainId, chainId: this.chainId },
      });
    }
  }
}

const memoryConfigSchema = z.strictObject({ kind: z.literal("memory"), chainId: chainIdSchema });

export type MemoryAdapterConfig = z.output<typeof memoryConfigSchema>;

/**
 * The memory adapter module over a fixed set of chains: config `{ kind: "memory", chainId }` picks one.
 * `create` throws `INVALID_CONFIG` (path `chainId`) for a chain not in the set.
 */
export function memoryAdapterModule(chains: readonly MemoryChain[]): AdapterModule<MemoryAdapterConfig> {
  const byId = new Map(chains.map((c) => [c.chainId, c]));
  return {
    kind: "memory",
    parseConfig: (raw) => parseConfigWith(memoryConfigSchema, raw),
    async create(config) {
      const chain = byId.get(config.chainId);
      if (!chain) {
        throw new AdapterError("INVALID_CONFIG", "invalid adapter config at chainId: no memory chain with this id", {
          facts: { path: "chainId", chainId: config.chainId },
        });
      }
      return new MemoryAdapter(chain);
    },
  };
}
