/**
 * The FISCO BCOS 3.x `ChainAdapter`, source side: it watches the outbox through the node's JSON-RPC
 * (PBFT commits are final, so the default finality depth is 0) and builds `"fisco-receipt"` source
 * evidence checked against the configured sealer list. Delivering *to* a FISCO chain needs the
 * native-key inbox (FISCO has no BLS precompile), which is not available yet: `submitBatch`,
 * `deliveryStatus` and `destinationEvidence` throw `INVALID_CONFIG` naming that, like an EVM adapter
 * configured without an inbox.
 */
import {
  AdapterError,
  type AdapterModule,
  type ChainAdapter,
  type Cursor,
  chainIdSchema,
  type Delivery,
  type DeliveryReceipt,
  type DeliveryStatus,
  type Lane,
  parseConfigWith,
  type WatchItem,
  type WatchOptions,
} from "@shandu/adapter-core";
import {
  bytesEqual,
  type ChainId,
  concatBytes,
  decodeMessage,
  type Evidence,
  fiscoHeaderHash,
  fiscoLogAddress,
  fromHex,
  type Message,
  messageIdOfEncoding,
  messageSentBodyOf,
  messageSentTopic,
  toHex,
} from "@shandu/proofs";
import { z } from "zod";
import { buildFiscoReceiptEvidence } from "./evidence.ts";
import { FiscoRpcClient } from "./rpc.ts";

const hexOf = (bytes: number, what: string) =>
  z
    .string()
    .regex(new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`), { error: `must be ${what}: ${bytes} bytes of 0x hex` })
    .transform((s) => fromHex(s, bytes));

export const fiscoConfigSchema = z.strictObject({
  kind: z.literal("fisco-bcos"),
  chainId: chainIdSchema,
  /** The node's JSON-RPC, e.g. http://127.0.0.1:20200 */
  rpcUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
  group: z.string().min(1).default("group0"),
  node: z.string().default(""),
  /** "ecdsa" (keccak-256, secp256k1) or "sm" (SM3, SM2). */
  suite: z.enum(["ecdsa", "sm"]),
  outbox: hexOf(20, "an address"),
  /** The chain's sealers (node ids), in the chain's order: the trust anchor of source evidence. */
  sealers: z.array(hexOf(64, "a node id")).min(1, { error: "name the chain's sealers" }),
  finalityDepthBlocks: z.int().min(0).max(1_000_000).default(0),
  pollIntervalMs: z.int().min(1).max(3_600_000).default(1000),
  rpcTimeoutMs: z.int().min(1).max(600_000).default(10_000),
});

export type FiscoAdapterConfig = z.output<typeof fiscoConfigSchema>;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export class FiscoAdapter implements ChainAdapter {
  readonly kind = "fisco-bcos";
  readonly chainId: ChainId;
  readonly config: FiscoAdapterConfig;
  readonly client: FiscoRpcClient;
  readonly #closing = new AbortController();

  constructor(config: FiscoAdapterConfig) {
    this.config = config;
    this.chainId = config.chainId;
    this.client = new FiscoRpcClient({ url: config.rpcUrl, group: config.group, node: config.node, timeoutMs: config.rpcTimeoutMs });
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw new AdapterError("CLOSED", "the adapter was closed");
  }

  /** Messages in final blocks after `from`, in order; see `ChainAdapter.watch`. */
  async *watch(from: Cursor, opts: WatchOptions): AsyncIterable<WatchItem> {
    this.#assertOpen();
    const signal = AbortSignal.any([opts.signal, this.#closing.signal]);
    const topic = messageSentTopic(this.config.suite);
    let next = from.blockNumber < 1n ? 1n : from.blockNumber;
    if (from.blockHash && from.blockNumber >= 1n) {
      const h = await this.client.getBlockHeader(from.blockNumber, signal);
      if (!bytesEqual(fiscoHeaderHash(this.config.suite, h.data), from.blockHash)) {
        throw new AdapterError("REORG_BELOW_FINALITY", "the block the cursor names has another hash now", {
          facts: { chainId: this.chainId, blockNumber: from.blockNumber },
        });
      }
    }
    while (!signal.aborted) {
      let final: bigint;
      try {
        final = (await this.client.getBlockNumber(signal)) - BigInt(this.config.finalityDepthBlocks);
      } catch (e) {
        if (signal.aborted) return;
        throw e;
      }
      if (next > final) {
        if (final >= 1n) opts.onFinalized?.(final);
        await sleep(this.config.pollIntervalMs, signal);
        continue;
      }
      const { header, txHashes } = await this.client.getBlockWithTxHashes(next, signal);
      const blockHash = fiscoHeaderHash(this.config.suite, header.data);
      let eventIndex = -1;
      for (const txHash of txHashes) {
        const receipt = await this.client.getTransactionReceipt(txHash, false, signal);
        if (!receipt)
          throw new AdapterError("RPC_UNAVAILABLE", "the node lists a transaction it has no receipt for", {
            facts: { txHash: toHex(txHash) },
          });
        for (const [logIndex, log] of receipt.data.logs.entries()) {
          eventIndex++;
          if (next === from.blockNumber && eventIndex <= from.eventIndex) continue;
          const address = fiscoLogAddress(log.address);
          if (!address || !bytesEqual(address, this.config.outbox) || !log.topics[0] || !bytesEqual(log.topics[0], topic)) continue;
          const body = messageSentBodyOf({ address, topics: log.topics, data: log.data }, this.config.outbox, logIndex, topic);
          // The canonical encoding: the body (fields 1–8) and the source position (docs/protocol.md §2).
          const position = new Uint8Array(12);
          new DataView(position.buffer).setBigUint64(0, next);
          new DataView(position.buffer).setUint32(8, logIndex);
          const encoding = concatBytes(body, position.subarray(0, 8), txHash, position.subarray(8));
          const message: Message = decodeMessage(encoding);
          if (message.sourceChainId !== this.chainId) {
            throw new AdapterError("WRONG_CHAIN_ID", "the outbox emits messages for another source chain id", {
              facts: { configured: this.chainId, emitted: message.sourceChainId },
            });
          }
          yield { message, encoding, id: messageIdOfEncoding(encoding), cursor: { blockNumber: next, eventIndex, blockHash } };
          if (signal.aborted) return;
        }
      }
      opts.onFinalized?.(next);
      next++;
    }
  }

  async sourceEvidence(message: Message): Promise<Evidence> {
    this.#assertOpen();
    return buildFiscoReceiptEvidence(this.client, {
      suite: this.config.suite,
      txHash: message.source.txHash,
      outbox: this.config.outbox,
      trustedSealers: this.config.sealers,
    });
  }

  #noInbox(what: string): never {
    throw new AdapterError(
      "INVALID_CONFIG",
      `invalid adapter config at inbox: ${what} on FISCO BCOS needs the native-key inbox, which this version does not have`,
      {
        facts: { path: "inbox" },
      },
    );
  }

  async submitBatch(_delivery: Delivery): Promise<DeliveryReceipt> {
    this.#noInbox("delivery");
  }

  async deliveryStatus(_lane: Lane, _nonce: bigint): Promise<DeliveryStatus> {
    this.#noInbox("delivery status");
  }

  async destinationEvidence(_lane: Lane, _nonce: bigint): Promise<Evidence | null> {
    this.#noInbox("destination evidence");
  }

  async close(): Promise<void> {
    this.#closing.abort();
  }
}

export const fiscoAdapterModule: AdapterModule<FiscoAdapterConfig> = {
  kind: "fisco-bcos",
  parseConfig: (raw) => parseConfigWith(fiscoConfigSchema, raw),
  async create(config) {
    const adapter = new FiscoAdapter(config);
    await adapter.client.getBlockNumber();
    return adapter;
  },
};
