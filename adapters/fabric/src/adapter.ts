/**
 * The Hyperledger Fabric `ChainAdapter`, over the Fabric Gateway client (`@hyperledger/fabric-gateway`).
 *
 * Source side: `watch` reads the channel's blocks from the peer's Deliver service from a checkpoint and
 * takes the outbox chaincode's events of its valid transactions. A Fabric transaction is final once
 * committed (no forks), so there is no finality depth, and every block is reported final as soon as its
 * messages were yielded. Each `MessageSent` event's payload is
 * fields 1–8 of a message (docs/protocol.md §2.1); the adapter appends the source position: the block
 * number, the 32 bytes the transaction id's hex spells, and event index 0. `sourceEvidence` reads the
 * committed transaction back through the query system chaincode (`qscc GetTransactionByID`) and hands
 * out its endorsements as `"fabric-endorsement"` evidence.
 *
 * Destination side: `submitBatch` evaluates, then submits the inbox's `deliver` transaction (argument:
 * the delivery as JSON, the shape `ShanduInbox.deliver` takes) and waits for its commit status.
 *
 * Cursors: `blockNumber` is a block, `eventIndex` the order of the event among this chaincode's events in
 * that block (those of its valid transactions, as the gateway's `ChaincodeEvents` counts them),
 * `blockHash` always `null` (a committed Fabric block is never replaced).
 */
import { createPrivateKey } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type Contract, connect, type Gateway, GatewayError, hash, type Network, signers } from "@hyperledger/fabric-gateway";
import { common, peer } from "@hyperledger/fabric-protos";
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
  deliveryRejected,
  type Lane,
  parseConfigWith,
  type WatchItem,
  type WatchOptions,
} from "@shandu/adapter-core";
import {
  attestationToJson,
  batchToJson,
  type ChainId,
  concatBytes,
  decodeMessage,
  type Evidence,
  encodeMessage,
  FABRIC_MESSAGE_EVENT,
  fabricEndorsementEvidence,
  fabricTxHash,
  fabricValidationCodeName,
  type Message,
  messageIdOfEncoding,
  toHex,
} from "@shandu/proofs";
import { z } from "zod";
import { chaincodeEventsOfBlock } from "./chaincodeEventsOfBlock.ts";

export const fabricConfigSchema = z
  .strictObject({
    kind: z.literal("fabric"),
    chainId: chainIdSchema,
    /** The gateway peer, `host:port`. */
    peerEndpoint: z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: "must be host:port" }),
    /** The CA of the peer's TLS certificate (PEM); without it the connection is plaintext (tests only). */
    tlsCaFile: z.string().min(1).optional(),
    /** The name the peer's TLS certificate carries, when it differs from the endpoint's host. */
    tlsServerName: z.string().min(1).optional(),
    channel: z.string().min(1).max(249),
    /** The Shandu chaincode (outbox and inbox contracts). */
    chaincode: z.string().min(1),
    /** The inbox contract's name inside the chaincode. */
    inboxContract: z.string().min(1).default("ShanduInbox"),
    /** The chaincode event the outbox sets for a message. */
    messageEvent: z.string().min(1).default(FABRIC_MESSAGE_EVENT),
    mspId: z.string().min(1),
    /** The client's X.509 certificate (PEM). With `keyFile`; or give `mspDir` instead of both. */
    certFile: z.string().min(1).optional(),
    /** The client's P-256 private key (PEM, PKCS#8 or SEC1). */
    keyFile: z.string().min(1).optional(),
    /**
     * A Fabric MSP directory as `cryptogen` and `fabric-ca-client enroll` write it: the certificate is the one
     * file in `signcerts/`, the private key the one file in `keystore/`.
     */
    mspDir: z.string().min(1).optional(),
    /** Fabric is final on commit; the only rule accepted. */
    finality: z.literal("commit").default("commit"),
    rpcTimeoutMs: z.int().min(1).max(600_000).default(10_000),
    /** How long `submitBatch` waits for the commit status before `SUBMISSION_TIMEOUT`. */
    commitTimeoutMs: z.int().min(1).max(3_600_000).default(60_000),
  })
  .check((ctx) => {
    const c = ctx.value;
    const files = c.certFile !== undefined || c.keyFile !== undefined;
    if (c.mspDir !== undefined && files) {
      ctx.issues.push({ code: "custom", input: c, path: ["mspDir"], message: "give either mspDir or certFile and keyFile, not both" });
    } else if (c.mspDir === undefined && (c.certFile === undefined || c.keyFile === undefined)) {
      ctx.issues.push({
        code: "custom",
        input: c,
        path: [c.certFile === undefined ? "certFile" : "keyFile"],
        message: "the client identity needs certFile and keyFile, or mspDir",
      });
    }
  });

export type FabricAdapterConfig = z.output<typeof fabricConfigSchema>;

async function readConfigFile(file: string, path: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (cause) {
    throw new AdapterError("INVALID_CONFIG", `invalid adapter config at ${path}: cannot read the file`, {
      facts: { path, file, reason: (cause as NodeJS.ErrnoException).code ?? "read failed" },
    });
  }
}

/** The only regular file of `dir`, or `INVALID_CONFIG` naming `path` (none, or several to choose from). */
async function onlyFileIn(dir: string, path: string): Promise<string> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (cause) {
    throw new AdapterError("INVALID_CONFIG", `invalid adapter config at ${path}: cannot read the directory`, {
      facts: { path, dir, reason: (cause as NodeJS.ErrnoException).code ?? "read failed" },
    });
  }
  if (names.length !== 1) {
    throw new AdapterError("INVALID_CONFIG", `invalid adapter config at ${path}: expected exactly one file, found ${names.length}`, {
      facts: { path, dir, files: names.sort().join(",") || "none" },
    });
  }
  return join(dir, names[0]!);
}

/** The client's certificate and key: from `certFile` and `keyFile`, or from the MSP directory `mspDir`. */
async function readIdentity(config: FabricAdapterConfig): Promise<{ cert: Uint8Array; key: Uint8Array }> {
  if (config.mspDir !== undefined) {
    const cert = await onlyFileIn(join(config.mspDir, "signcerts"), "mspDir/signcerts");
    const key = await onlyFileIn(join(config.mspDir, "keystore"), "mspDir/keystore");
    return { cert: await readConfigFile(cert, "mspDir/signcerts"), key: await readConfigFile(key, "mspDir/keystore") };
  }
  // The schema requires both when mspDir is absent.
  return { cert: await readConfigFile(config.certFile!, "certFile"), key: await readConfigFile(config.keyFile!, "keyFile") };
}

/** Maps a gateway client error to an `AdapterError`; chaincode refusals become `DELIVERY_REJECTED` / `LANE_PAUSED`. */
export function adapterErrorOf(e: unknown, what: string): AdapterError {
  if (e instanceof AdapterError) return e;
  if (e instanceof GatewayError) {
    const detail = e.details.map((d) => d.message).join("; ");
    const chaincodeMessage = /chaincode response \d+, (.*)$/.exec(e.details[0]?.message ?? "")?.[1];
    const code = chaincodeMessage ? /^([A-Z][A-Z0-9_]*):/.exec(chaincodeMessage)?.[1] : undefined;
    if (code === "LANE_PAUSED") return new AdapterError("LANE_PAUSED", "the lane is paused at the destination", { cause: e });
    if (chaincodeMessage !== undefined)
      return deliveryRejected(code ?? "CHAINCODE_ERROR", `${what}: the chaincode refused: ${chaincodeMessage}`, { cause: e });
    const facts = { grpcCode: e.code, detail };
    if (e.code === grpc.status.DEADLINE_EXCEEDED)
      return new AdapterError("RPC_TIMEOUT", `${what}: the peer did not answer in time`, { facts, cause: e });
    if (e.code === grpc.status.CANCELLED) return new AdapterError("CANCELLED", `${what}: cancelled`, { facts, cause: e });
    return new AdapterError("RPC_UNAVAILABLE", `${what}: the gateway peer answered ${grpc.status[e.code] ?? e.code}: ${e.message}`, {
      facts,
      cause: e,
    });
  }
  return new AdapterError("RPC_UNAVAILABLE", `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

const dec = new TextDecoder();

export class FabricAdapter implements ChainAdapter {
  readonly kind = "fabric";
  readonly chainId: ChainId;
  readonly config: FabricAdapterConfig;
  readonly #client: grpc.Client;
  readonly #gateway: Gateway;
  readonly #network: Network;
  readonly #contract: Contract;
  readonly #closing = new AbortController();

  constructor(config: FabricAdapterConfig, files: { cert: Uint8Array; key: Uint8Array; tlsCa?: Uint8Array }) {
    this.config = config;
    this.chainId = config.chainId;
    const credentials = files.tlsCa ? grpc.credentials.createSsl(Buffer.from(files.tlsCa)) : grpc.credentials.createInsecure();
    this.#client = new grpc.Client(
      config.peerEndpoint,
      credentials,
      config.tlsServerName ? { "grpc.ssl_target_name_override": config.tlsServerName } : {},
    );
    let signer: ReturnType<typeof signers.newPrivateKeySigner>;
    try {
      signer = signers.newPrivateKeySigner(createPrivateKey(Buffer.from(files.key)));
    } catch (cause) {
      throw new AdapterError("INVALID_CONFIG", "invalid adapter config at keyFile: not a PEM P-256 private key", {
        facts: { path: "keyFile" },
        cause,
      });
    }
    const deadline = () => ({ deadline: Date.now() + config.rpcTimeoutMs });
    this.#gateway = connect({
      client: this.#client,
      identity: { mspId: config.mspId, credentials: files.cert },
      signer,
      hash: hash.sha256,
      evaluateOptions: deadline,
      endorseOptions: deadline,
      submitOptions: deadline,
      commitStatusOptions: () => ({ deadline: Date.now() + config.commitTimeoutMs }),
    });
    this.#network = this.#gateway.getNetwork(config.channel);
    this.#contract = this.#network.getContract(config.chaincode);
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw new AdapterError("CLOSED", "the adapter was closed");
  }

  /** Evaluates `fn` of `chaincode` (default: the Shandu chaincode) and returns the response payload. */
  async evaluate(fn: string, args: (string | Uint8Array)[], chaincode?: string): Promise<Uint8Array> {
    this.#assertOpen();
    const contract = chaincode ? this.#network.getContract(chaincode) : this.#contract;
    try {
      return await contract.evaluate(fn, { arguments: args });
    } catch (e) {
      throw adapterErrorOf(e, `evaluating ${fn}`);
    }
  }

  /** The channel's block height (blocks 0..height−1 are committed), from `qscc GetChainInfo`. */
  async height(): Promise<bigint> {
    const info = common.BlockchainInfo.deserializeBinary(await this.evaluate("GetChainInfo", [this.config.channel], "qscc"));
    return BigInt(info.getHeight());
  }

  /**
   * Messages committed after `from`, in order; see `ChainAdapter.watch` and the module's cursor notes.
   * Reads the channel's committed blocks from the peer's Deliver service from `from.blockNumber` on, and
   * reports `onFinalized(b)` after the messages of block `b` (a committed Fabric block is final), for
   * every block, so an idle chain still closes the attesters' windows.
   */
  async *watch(from: Cursor, opts: WatchOptions): AsyncIterable<WatchItem> {
    this.#assertOpen();
    if (from.blockNumber < 0n || from.eventIndex < -1) {
      throw new AdapterError("INVALID_CURSOR", "the cursor names a negative position", {
        facts: { blockNumber: from.blockNumber, eventIndex: from.eventIndex },
      });
    }
    const signal = AbortSignal.any([opts.signal, this.#closing.signal]);
    if (signal.aborted) return;
    let blocks: Awaited<ReturnType<Network["getBlockEvents"]>>;
    try {
      blocks = await this.#network.getBlockEvents({ startBlock: from.blockNumber });
    } catch (e) {
      throw adapterErrorOf(e, "opening the block stream");
    }
    const stop = () => blocks.close();
    signal.addEventListener("abort", stop, { once: true });
    let expected = from.blockNumber;
    try {
      for await (const block of blocks) {
        const { blockNumber, events } = chaincodeEventsOfBlock(block, this.config.chaincode);
        if (blockNumber !== expected) {
          throw new AdapterError("RPC_UNAVAILABLE", "the peer's block stream skipped or repeated a block", {
            facts: { expected, received: blockNumber },
          });
        }
        expected++;
        for (const [index, ev] of events.entries()) {
          if (blockNumber === from.blockNumber && index <= from.eventIndex) continue;
          if (ev.eventName !== this.config.messageEvent) continue;
          yield this.#item(ev.payload, blockNumber, ev.txId, index);
          if (signal.aborted) return;
        }
        opts.onFinalized?.(blockNumber);
      }
    } catch (e) {
      if (signal.aborted) return;
      throw adapterErrorOf(e, "reading blocks");
    } finally {
      signal.removeEventListener("abort", stop);
      blocks.close();
    }
  }

  #item(body: Uint8Array, blockNumber: bigint, txId: string, eventIndex: number): WatchItem {
    const position = new Uint8Array(12);
    new DataView(position.buffer).setBigUint64(0, blockNumber);
    const encoding = concatBytes(body, position.subarray(0, 8), fabricTxHash(txId), position.subarray(8));
    const message: Message = decodeMessage(encoding);
    if (message.sourceChainId !== this.chainId) {
      throw new AdapterError("WRONG_CHAIN_ID", "the outbox emits messages for another source chain id", {
        facts: { configured: this.chainId, emitted: message.sourceChainId },
      });
    }
    return { message, encoding, id: messageIdOfEncoding(encoding), cursor: { blockNumber, eventIndex, blockHash: null } };
  }

  /**
   * `"fabric-endorsement"` evidence for `message`: its transaction read back with `qscc
   * GetTransactionByID` (endorsements, `ProposalResponsePayload`, validation code) and `GetBlockByTxID`
   * (block number). Throws `MESSAGE_NOT_FOUND` when the peer has no such transaction, or it is in another
   * block, or its event is not the message; `RPC_*`.
   */
  async sourceEvidence(message: Message): Promise<Evidence> {
    this.#assertOpen();
    const txId = toHex(message.source.txHash).slice(2);
    const notFound = (why: string) =>
      new AdapterError("MESSAGE_NOT_FOUND", `no committed transaction of the outbox holds the message: ${why}`, {
        facts: { txId, blockNumber: message.source.blockNumber },
      });
    let processed: peer.ProcessedTransaction;
    let blockNumber: bigint;
    try {
      processed = peer.ProcessedTransaction.deserializeBinary(
        await this.evaluate("GetTransactionByID", [this.config.channel, txId], "qscc"),
      );
      const block = common.Block.deserializeBinary(await this.evaluate("GetBlockByTxID", [this.config.channel, txId], "qscc"));
      blockNumber = BigInt(block.getHeader()?.getNumber() ?? -1);
    } catch (e) {
      if (e instanceof AdapterError && /entry not found in index/.test(e.message)) {
        throw notFound("the peer does not know the transaction");
      }
      throw e;
    }
    if (blockNumber !== message.source.blockNumber) throw notFound("the transaction is in another block");
    const env = processed.getTransactionenvelope();
    if (!env) throw notFound("the peer returned no envelope");
    const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
    const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
    const action = tx.getActionsList()[0];
    if (!action) throw notFound("the transaction has no action");
    const endorsed = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8()).getAction();
    if (!endorsed) throw notFound("the transaction has no endorsed action");
    const prp = endorsed.getProposalResponsePayload_asU8();
    const ccAction = peer.ChaincodeAction.deserializeBinary(peer.ProposalResponsePayload.deserializeBinary(prp).getExtension_asU8());
    const events = ccAction.getEvents_asU8();
    const event = events.length ? peer.ChaincodeEvent.deserializeBinary(events) : undefined;
    const encoding = encodeMessage(message);
    const body = encoding.subarray(0, encoding.length - 44);
    if (!event || event.getEventName() !== this.config.messageEvent || toHex(event.getPayload_asU8()) !== toHex(body)) {
      throw notFound("the transaction's chaincode event is not the message");
    }
    return fabricEndorsementEvidence({
      channel: this.config.channel,
      chaincode: this.config.chaincode,
      txId,
      blockNumber,
      validationCode: processed.getValidationcode(),
      proposalResponsePayload: prp,
      endorsements: endorsed.getEndorsementsList().map((e) => ({ endorser: e.getEndorser_asU8(), signature: e.getSignature_asU8() })),
    });
  }

  #checkLane(lane: Lane): void {
    if (lane.destinationChainId !== this.chainId) {
      throw new AdapterError("WRONG_LANE", "the lane does not end on this chain", {
        facts: { chainId: this.chainId, destinationChainId: lane.destinationChainId },
      });
    }
  }

  #inboxFn(fn: string): string {
    return `${this.config.inboxContract}:${fn}`;
  }

  /**
   * Delivers through the inbox's `deliver`: evaluated first (a refusal costs no transaction, and a
   * delivery whose every nonce was consumed before is not sent), then endorsed, submitted and awaited.
   */
  async submitBatch(delivery: Delivery, opts: CancelOptions): Promise<DeliveryReceipt> {
    this.#assertOpen();
    this.#checkLane({ sourceChainId: delivery.header.sourceChainId, destinationChainId: delivery.header.destinationChainId });
    const signal = AbortSignal.any([opts.signal, this.#closing.signal]);
    const arg = deliveryJson(delivery);
    const outcome = (bytes: Uint8Array) => {
      const r = JSON.parse(dec.decode(bytes)) as { executed?: string[]; failed?: string[]; skipped?: string[] };
      const sort = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
      return {
        executed: [...(r.executed ?? []), ...(r.failed ?? [])].map(BigInt).sort(sort),
        alreadyDelivered: (r.skipped ?? []).map(BigInt).sort(sort),
      };
    };
    const preview = outcome(await this.evaluate(this.#inboxFn("deliver"), [arg]));
    if (preview.executed.length === 0) return { tx: null, executed: [], alreadyDelivered: preview.alreadyDelivered };
    if (signal.aborted) throw new AdapterError("CANCELLED", "delivery cancelled before it was sent");
    let status: Awaited<ReturnType<Awaited<ReturnType<Contract["submitAsync"]>>["getStatus"]>>;
    let result: Uint8Array;
    let txId = "";
    try {
      const tx = await this.#contract.newProposal(this.#inboxFn("deliver"), { arguments: [arg] }).endorse();
      txId = tx.getTransactionId();
      if (signal.aborted) throw new AdapterError("CANCELLED", "delivery cancelled before it was sent");
      const submitted = await tx.submit();
      result = submitted.getResult();
      status = await submitted.getStatus();
    } catch (e) {
      const err = adapterErrorOf(e, "delivering");
      if (txId && e instanceof GatewayError && e.name === "CommitStatusError") {
        throw new AdapterError("SUBMISSION_TIMEOUT", "the delivery was submitted but its commit status did not arrive", {
          facts: { txId },
          cause: e,
        });
      }
      throw err;
    }
    if (!status.successful) {
      const name = fabricValidationCodeName(status.code);
      const facts = { txId, validationCode: status.code, blockNumber: status.blockNumber };
      if (name === "MVCC_READ_CONFLICT" || name === "PHANTOM_READ_CONFLICT") {
        throw new AdapterError("RPC_UNAVAILABLE", `the delivery lost a read conflict (${name}) and changed nothing; retry it`, { facts });
      }
      throw deliveryRejected(`FABRIC_${name}`, `the peer marked the delivery transaction ${name}`, { facts });
    }
    const done = outcome(result);
    return { tx: { hash: fabricTxHash(txId), blockNumber: status.blockNumber }, ...done };
  }

  async deliveryStatus(lane: Lane, nonce: bigint): Promise<DeliveryStatus> {
    this.#assertOpen();
    this.#checkLane(lane);
    const delivered = dec.decode(await this.evaluate(this.#inboxFn("isDelivered"), [lane.sourceChainId.toString(), nonce.toString()]));
    const laneState = JSON.parse(dec.decode(await this.evaluate(this.#inboxFn("lane"), [lane.sourceChainId.toString()]))) as {
      paused?: boolean;
    };
    return { status: delivered === "true" ? "delivered" : "not-delivered", lanePaused: laneState.paused === true };
  }

  /** Not available yet for Fabric: throws `UNSUPPORTED` (after checking the lane). */
  async destinationEvidence(lane: Lane, _nonce: bigint): Promise<Evidence | null> {
    this.#assertOpen();
    this.#checkLane(lane);
    throw new AdapterError(
      "UNSUPPORTED",
      "destination evidence for Fabric deliveries is not implemented yet (no verifier kind exists for it)",
    );
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    this.#gateway.close();
    this.#client.close();
  }
}

/**
 * The argument of `ShanduInbox.deliver`: `{"header", "attestation", "messages": ["0x<encoding>"…],
 * "siblings": ["0x<32 bytes>"…]}` (deploy/chaincode/src/inbox.ts).
 */
export function deliveryJson(d: Delivery): string {
  return JSON.stringify({
    header: batchToJson(d.header),
    attestation: attestationToJson(d.attestation),
    messages: d.messages.map((m) => toHex(encodeMessage(m))),
    siblings: d.proof.siblings.map((s) => toHex(s)),
  });
}

export const fabricAdapterModule: AdapterModule<FabricAdapterConfig> = {
  kind: "fabric",
  parseConfig: (raw) => parseConfigWith(fabricConfigSchema, raw),
  async create(config) {
    const { cert, key } = await readIdentity(config);
    const tlsCa = config.tlsCaFile ? await readConfigFile(config.tlsCaFile, "tlsCaFile") : undefined;
    const adapter = new FabricAdapter(config, { cert, key, ...(tlsCa ? { tlsCa } : {}) });
    try {
      await adapter.height();
    } catch (e) {
      await adapter.close();
      throw e;
    }
    return adapter;
  },
};
