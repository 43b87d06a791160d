/**
 * The FISCO BCOS 3.x `ChainAdapter`. Source side: it watches the outbox through the node's JSON-RPC
 * (PBFT commits are final, so the default finality depth is 0) and builds `"fisco-receipt"` source
 * evidence checked against the configured sealer list. Destination side: FISCO has no BLS precompile,
 * so deliveries go to the native-key inbox (`ShanduNativeInbox`), which checks the committee's native
 * co-signatures (docs/protocol.md §6.5) carried in `Delivery.nativeAttestation`; transactions are 3.x
 * TARS transactions signed by the delivery account in the chain's suite, and `"fisco-delivery"`
 * destination evidence proves each execution from the inbox's `BatchDelivered` log in a sealed block.
 */
import { readFile } from "node:fs/promises";
import {
  AdapterError,
  type AdapterModule,
  type CancelOptions,
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
  deliveryOutcome,
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
import { DeliveryLocator } from "./deliveries.ts";
import { buildFiscoDeliveryEvidence, buildFiscoReceiptEvidence } from "./evidence.ts";
import {
  chainIdCalldata,
  decodeBatchDelivered,
  decodeWord,
  deliverCalldata,
  eventTopic,
  INBOX_SIGNATURES,
  isDeliveredCalldata,
  lanePausedCalldata,
  nativeSchemeOf,
  nextNonceCalldata,
  rejectionOf,
} from "./inbox.ts";
import { FiscoRpcClient } from "./rpc.ts";
import { FiscoTransactionError } from "./status.ts";
import { encodeTransactionV3, signTransactionV3, transactionDataV0 } from "./transaction.ts";

/** The delivery account's secret key from its file (hex, whitespace ignored). Errors never carry key material. */
async function readSignerKey(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new AdapterError("INVALID_CONFIG", "invalid adapter config at signer.keyFile: cannot read the key file", {
      facts: { path: "signer.keyFile", file, reason: (cause as NodeJS.ErrnoException).code ?? "read failed" },
    });
  }
  const hex = text.trim().replace(/^0x/, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new AdapterError("INVALID_CONFIG", "invalid adapter config at signer.keyFile: the file does not hold a 32-byte hex key", {
      facts: { path: "signer.keyFile", file },
    });
  }
  return fromHex(`0x${hex}`, 32);
}

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
  outbox: hexOf(20, "an address").optional(),
  /** The native-key inbox; needed to deliver to this chain. */
  inbox: hexOf(20, "an address").optional(),
  /** The delivery account: a file with its 32-byte secret key as hex (secp256k1 or SM2, by suite). */
  signer: z.strictObject({ keyFile: z.string().min(1) }).optional(),
  /** The chain's FISCO chain id as transactions carry it (`chain0` by default in build_chain.sh). */
  fiscoChainId: z.string().min(1).default("chain0"),
  /** Transactions are valid up to this many blocks past the current one (FISCO allows at most 600). */
  blockLimitWindow: z.int().min(1).max(600).default(500),
  /** The chain's sealers (node ids), in the chain's order: the trust anchor of source evidence. */
  sealers: z.array(hexOf(64, "a node id")).min(1, { error: "name the chain's sealers" }),
  finalityDepthBlocks: z.int().min(0).max(1_000_000).default(0),
  /**
   * How many blocks below the head destination evidence searches for a delivery's `BatchDelivered` log:
   * nodes before 3.9 have no getLogs, so the blocks are read one by one.
   */
  deliveryScanBlocks: z.int().min(1).max(10_000_000).default(10_000),
  pollIntervalMs: z.int().min(1).max(3_600_000).default(1000),
  rpcTimeoutMs: z.int().min(1).max(600_000).default(10_000),
  /**
   * Mutual TLS to the node's RPC (a 3.x node's default): `caFile` the chain's CA, `certFile`/`keyFile`
   * the SDK certificate and key (PEM). Needs an https:// rpcUrl.
   */
  tls: z
    .strictObject({
      caFile: z.string().min(1).optional(),
      certFile: z.string().min(1).optional(),
      keyFile: z.string().min(1).optional(),
      verifyServerName: z.boolean().optional(),
    })
    .optional(),
});

export type FiscoAdapterConfig = z.output<typeof fiscoConfigSchema>;

const fiscoConfigChecked = fiscoConfigSchema.superRefine((c, ctx) => {
  if (c.outbox === undefined && c.inbox === undefined) {
    ctx.addIssue({ code: "custom", input: c, path: ["outbox"], message: "at least one of outbox and inbox is required" });
  }
  if (c.inbox !== undefined && c.signer === undefined) {
    ctx.addIssue({ code: "custom", input: c, path: ["signer"], message: "delivering to the inbox needs a signer {keyFile}" });
  }
});

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
  readonly #signerKey: Uint8Array | undefined;
  #deliveries: DeliveryLocator | undefined;

  constructor(config: FiscoAdapterConfig, signerKey?: Uint8Array) {
    this.config = config;
    this.#signerKey = signerKey;
    this.chainId = config.chainId;
    const tls = config.tls;
    this.client = new FiscoRpcClient({
      url: config.rpcUrl,
      group: config.group,
      node: config.node,
      timeoutMs: config.rpcTimeoutMs,
      ...(tls
        ? {
            tls: {
              ...(tls.caFile ? { ca: tls.caFile } : {}),
              ...(tls.certFile ? { cert: tls.certFile } : {}),
              ...(tls.keyFile ? { key: tls.keyFile } : {}),
              ...(tls.verifyServerName !== undefined ? { verifyServerName: tls.verifyServerName } : {}),
            },
          }
        : {}),
    });
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw new AdapterError("CLOSED", "the adapter was closed");
  }

  /** Messages in final blocks after `from`, in order; see `ChainAdapter.watch`. */
  async *watch(from: Cursor, opts: WatchOptions): AsyncIterable<WatchItem> {
    this.#assertOpen();
    const signal = AbortSignal.any([opts.signal, this.#closing.signal]);
    const outbox = this.config.outbox;
    if (!outbox)
      throw new AdapterError("INVALID_CONFIG", "invalid adapter config at outbox: watching needs the outbox address", {
        facts: { path: "outbox" },
      });
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
          if (!address || !bytesEqual(address, outbox) || !log.topics[0] || !bytesEqual(log.topics[0], topic)) continue;
          const body = messageSentBodyOf({ address, topics: log.topics, data: log.data }, outbox, logIndex, topic);
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
      outbox: this.#outbox(),
      trustedSealers: this.config.sealers,
    });
  }

  #outbox(): Uint8Array {
    if (!this.config.outbox)
      throw new AdapterError("INVALID_CONFIG", "invalid adapter config at outbox: no outbox configured", { facts: { path: "outbox" } });
    return this.config.outbox;
  }

  #inbox(): Uint8Array {
    if (!this.config.inbox) {
      throw new AdapterError(
        "INVALID_CONFIG",
        "invalid adapter config at inbox: delivering to this chain needs the native-key inbox address",
        {
          facts: { path: "inbox" },
        },
      );
    }
    return this.config.inbox;
  }

  #checkLane(lane: Lane): void {
    if (lane.destinationChainId !== this.chainId) {
      throw new AdapterError("WRONG_LANE", "the lane does not end on this chain", {
        facts: { chainId: this.chainId, destinationChainId: lane.destinationChainId },
      });
    }
  }

  async #view(data: Uint8Array, what: string, signal?: AbortSignal): Promise<bigint> {
    return decodeWord(await this.client.call(this.#inbox(), data, signal), what);
  }

  /** Throws `CONTRACT_NOT_DEPLOYED` or `WRONG_CHAIN_ID` unless the inbox answers for this chain. */
  async checkInbox(): Promise<void> {
    let id: bigint;
    try {
      id = await this.#view(chainIdCalldata(this.config.suite), "chainId");
    } catch (cause) {
      throw new AdapterError("CONTRACT_NOT_DEPLOYED", `no Shandu inbox answers at ${toHex(this.#inbox())}`, {
        cause,
        facts: { path: "inbox" },
      });
    }
    if (id !== this.chainId) {
      throw new AdapterError("WRONG_CHAIN_ID", "the inbox serves another Shandu chain id", {
        facts: { configured: this.chainId, inbox: id },
      });
    }
  }

  async submitBatch(delivery: Delivery, opts: CancelOptions): Promise<DeliveryReceipt> {
    this.#assertOpen();
    const lane = { sourceChainId: delivery.header.sourceChainId, destinationChainId: delivery.header.destinationChainId };
    this.#checkLane(lane);
    const suite = this.config.suite;
    const signal = AbortSignal.any([opts.signal, this.#closing.signal]);
    // Encode first: a delivery the contract would refuse for its form costs no transaction.
    const input = deliverCalldata(suite, delivery);
    const alreadyDelivered: bigint[] = [];
    const pending = [];
    // Every nonce below the lane's next in-order nonce is consumed: one call covers the usual case.
    const next = await this.#view(nextNonceCalldata(suite, lane.sourceChainId), "nextNonce", signal);
    for (const m of delivery.messages) {
      const delivered =
        m.nonce < next || (await this.#view(isDeliveredCalldata(suite, lane.sourceChainId, m.nonce), "isDelivered", signal)) !== 0n;
      if (delivered) alreadyDelivered.push(m.nonce);
      else pending.push(m);
    }
    if (pending.length === 0) return { tx: null, executed: [], alreadyDelivered };
    if ((await this.#view(lanePausedCalldata(suite, lane.sourceChainId), "lanePaused", signal)) !== 0n) {
      throw new AdapterError("LANE_PAUSED", "the lane is paused at the destination", { facts: { sourceChainId: lane.sourceChainId } });
    }
    const key = this.#signerKey;
    if (!key)
      throw new AdapterError("INVALID_CONFIG", "invalid adapter config at signer: delivering needs a signer {keyFile}", {
        facts: { path: "signer" },
      });
    const current = await this.client.getBlockNumber(signal);
    const tx = signTransactionV3(
      suite,
      transactionDataV0({
        chainId: this.config.fiscoChainId,
        groupId: this.config.group,
        blockLimit: current + BigInt(this.config.blockLimitWindow),
        nonce: BigInt(`0x${toHex(crypto.getRandomValues(new Uint8Array(16))).slice(2)}`).toString(),
        // Lower-case 0x hex, as the java-sdk writes it (test/vectors txv0.hex, txv1.hex).
        to: toHex(this.#inbox()),
        input,
      }),
      key,
    );
    const facts = { firstNonce: delivery.header.firstNonce, lastNonce: delivery.header.lastNonce, txHash: toHex(tx.dataHash) };
    // The inbox's verdict first, as a call: a delivery it refuses costs no transaction.
    try {
      await this.client.call(this.#inbox(), input, signal);
    } catch (e) {
      if (e instanceof FiscoTransactionError && e.code === "CALL_FAILED") throw rejectionOf(suite, e.status, e.output, facts);
      throw e;
    }
    if (signal.aborted) throw new AdapterError("CANCELLED", "delivery cancelled before it was sent");
    const receipt = await this.client.sendTransaction(encodeTransactionV3(tx), signal);
    if (receipt.data.status !== 0) throw rejectionOf(suite, receipt.data.status, receipt.data.output, facts);
    const topic = eventTopic(suite, INBOX_SIGNATURES.batchDelivered);
    const log = receipt.data.logs.find((l) => {
      const a = fiscoLogAddress(l.address);
      return a && bytesEqual(a, this.#inbox()) && l.topics[0] && bytesEqual(l.topics[0], topic);
    });
    if (!log) throw new AdapterError("RPC_UNAVAILABLE", "the delivery succeeded without a BatchDelivered event", { facts });
    const { fromNonce, outcomes } = decodeBatchDelivered(log.data);
    const executed: bigint[] = [];
    for (const m of pending) {
      if (deliveryOutcome(fromNonce, outcomes, m.nonce) !== 0) executed.push(m.nonce);
      else alreadyDelivered.push(m.nonce);
    }
    alreadyDelivered.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return { tx: { hash: tx.dataHash, blockNumber: receipt.data.blockNumber }, executed, alreadyDelivered };
  }

  async deliveryStatus(lane: Lane, nonce: bigint): Promise<DeliveryStatus> {
    this.#assertOpen();
    this.#checkLane(lane);
    const suite = this.config.suite;
    const delivered = await this.#view(isDeliveredCalldata(suite, lane.sourceChainId, nonce), "isDelivered");
    const paused = await this.#view(lanePausedCalldata(suite, lane.sourceChainId), "lanePaused");
    return { status: delivered !== 0n ? "delivered" : "not-delivered", lanePaused: paused !== 0n };
  }

  /**
   * `"fisco-delivery"` evidence that the inbox executed (lane, nonce): the delivering transaction's
   * receipt proven under its sealed block, checked against the configured sealers, and the index of its
   * `BatchDelivered` log (see `@shandu/proofs` `fiscoDeliveryEvidenceVerifier`); `null` when the inbox
   * says it has not executed the nonce. A message whose recipient failed gets evidence too, which its
   * verifier fails with `DELIVERY_FAILED`. The log is searched block by block from the head down
   * `deliveryScanBlocks` blocks, and the positions found are remembered, so the other messages of the
   * same delivery cost no new search. Throws `WRONG_LANE`, `INVALID_CONFIG` without an inbox,
   * `NOT_FINALIZED` (retry) when the delivery is in a block that is not final yet, `MESSAGE_NOT_FOUND`
   * when the inbox executed the message but its log is not within the searched blocks, `RPC_*`, and
   * the builder's errors for a node whose answers do not check out (see `buildFiscoDeliveryEvidence`).
   */
  async destinationEvidence(lane: Lane, nonce: bigint): Promise<Evidence | null> {
    this.#assertOpen();
    this.#checkLane(lane);
    const signal = this.#closing.signal;
    const inbox = this.#inbox();
    const delivered = await this.#view(isDeliveredCalldata(this.config.suite, lane.sourceChainId, nonce), "isDelivered", signal);
    if (delivered === 0n) return null;
    this.#deliveries ??= new DeliveryLocator({
      client: this.client,
      suite: this.config.suite,
      inbox,
      scanBlocks: this.config.deliveryScanBlocks,
      finalityDepthBlocks: this.config.finalityDepthBlocks,
    });
    const at = await this.#deliveries.locate(lane.sourceChainId, nonce, signal);
    if (!at) {
      throw new AdapterError("MESSAGE_NOT_FOUND", "the inbox executed the message but its BatchDelivered log was not found", {
        facts: { chainId: this.chainId, sourceChainId: lane.sourceChainId, nonce, scannedBlocks: this.config.deliveryScanBlocks },
      });
    }
    try {
      return await buildFiscoDeliveryEvidence(this.client, {
        suite: this.config.suite,
        txHash: at.txHash,
        inbox,
        logIndex: at.logIndex,
        trustedSealers: this.config.sealers,
        signal,
      });
    } catch (e) {
      if (e instanceof AdapterError && e.code === "MESSAGE_NOT_FOUND") this.#deliveries.forget(lane.sourceChainId, nonce);
      throw e;
    }
  }

  async close(): Promise<void> {
    this.#closing.abort();
  }
}

export const fiscoAdapterModule: AdapterModule<FiscoAdapterConfig> = {
  kind: "fisco-bcos",
  parseConfig: (raw) => parseConfigWith(fiscoConfigChecked, raw),
  nativeScheme: (config) => nativeSchemeOf(config.suite),
  async create(config) {
    const signerKey = config.signer ? await readSignerKey(config.signer.keyFile) : undefined;
    const adapter = new FiscoAdapter(config, signerKey);
    await adapter.client.getBlockNumber();
    if (config.inbox) await adapter.checkInbox();
    return adapter;
  },
};
