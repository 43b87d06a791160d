/**
 * The `ChainAdapter` for EVM chains: watches a `ShanduOutbox` and delivers to a `ShanduInbox` over
 * JSON-RPC. Semantics are those of the in-memory reference adapter (`@shandu/adapter-core`): finality
 * by depth, `REORG_BELOW_FINALITY` when a position treated as final changes, idempotent delivery.
 */
import {
  AdapterError,
  type AdapterModule,
  type CancelOptions,
  type ChainAdapter,
  type Cursor,
  type Delivery,
  type DeliveryReceipt,
  type DeliveryStatus,
  type Lane,
  type WatchItem,
  type WatchOptions,
} from "@shandu/adapter-core";
import type { ChainId, Evidence, Message } from "@shandu/proofs";
import type { Wallet } from "ethers";
import { inboxAbi, outboxAbi } from "./abi.ts";
import { type EvmAdapterConfig, parseEvmConfig } from "./config.ts";
import { asAdapterError, classifyRpcError } from "./errors.ts";
import { InboxClient } from "./inbox.ts";
import { EvmRpc } from "./rpc.ts";
import { Mutex, TxSender } from "./sender.ts";
import { loadSigner } from "./signer.ts";
import { sourceEvidence } from "./source.ts";
import { submitDelivery } from "./submit.ts";
import { watchOutbox } from "./watch.ts";

export class EvmAdapter implements ChainAdapter {
  readonly kind = "evm";
  readonly chainId: ChainId;
  readonly config: EvmAdapterConfig;
  readonly #rpc: EvmRpc;
  readonly #inbox: InboxClient | undefined;
  readonly #sender: TxSender | undefined;
  readonly #submissions = new Mutex();

  /** Use {@link evmAdapterModule}`.create`, which checks the chain and the contracts first. */
  constructor(config: EvmAdapterConfig, rpc: EvmRpc, wallet: Wallet | undefined) {
    this.config = config;
    this.chainId = config.chainId;
    this.#rpc = rpc;
    this.#inbox = config.inbox
      ? new InboxClient(rpc, {
          chainId: config.chainId,
          inbox: config.inbox,
          logRangeBlocks: config.logRangeBlocks,
          deploymentBlock: config.deploymentBlock,
        })
      : undefined;
    this.#sender = wallet ? new TxSender(rpc, wallet, config) : undefined;
  }

  /** The ethers provider the adapter uses (for evidence builders and tests); closed with the adapter. */
  get provider(): EvmRpc["provider"] {
    return this.#rpc.provider;
  }

  /** The delivery account's address, if a signer is configured. */
  get senderAddress(): string | undefined {
    return this.#sender?.address;
  }

  async *watch(from: Cursor, opts: WatchOptions): AsyncIterable<WatchItem> {
    this.#assertOpen();
    const outbox = this.#require("outbox");
    const signal = AbortSignal.any([opts.signal, this.#rpc.closed]);
    try {
      yield* watchOutbox(this.#rpc, from, {
        chainId: this.chainId,
        outbox,
        finalityDepthBlocks: this.config.finalityDepthBlocks,
        pollIntervalMs: this.config.pollIntervalMs,
        ...(opts.onFinalized ? { onFinalized: opts.onFinalized } : {}),
        logRangeBlocks: this.config.logRangeBlocks,
        deploymentBlock: this.config.deploymentBlock,
        signal,
      });
    } catch (err) {
      throw asAdapterError(err, "watch");
    }
  }

  async sourceEvidence(message: Message): Promise<Evidence> {
    this.#assertOpen();
    const outbox = this.#require("outbox");
    const opts = { chainId: this.chainId, outbox, finalityDepthBlocks: this.config.finalityDepthBlocks };
    return this.#mapped("source evidence", () => sourceEvidence(this.#rpc, opts, message));
  }

  async submitBatch(delivery: Delivery, opts: CancelOptions): Promise<DeliveryReceipt> {
    this.#assertOpen();
    const inbox = this.#inboxClient();
    const sender = this.#sender;
    if (!sender) {
      throw new AdapterError("INVALID_CONFIG", "invalid adapter config at signer: delivering needs a signing account", {
        facts: { path: "signer" },
      });
    }
    if (opts.signal.aborted) throw new AdapterError("CANCELLED", "delivery cancelled before submission", { cause: opts.signal.reason });
    return this.#submissions.run(() => {
      this.#assertOpen();
      const ctx = { chainId: this.chainId, rpc: this.#rpc, inbox, sender, maxRetries: this.config.maxRetries };
      return this.#mapped("delivery", () => submitDelivery(ctx, delivery, opts.signal));
    });
  }

  async deliveryStatus(lane: Lane, nonce: bigint): Promise<DeliveryStatus> {
    const inbox = this.#laneInbox(lane);
    return this.#mapped("delivery status", () => inbox.status(lane.sourceChainId, nonce));
  }

  async destinationEvidence(lane: Lane, nonce: bigint): Promise<Evidence | null> {
    const inbox = this.#laneInbox(lane);
    return this.#mapped("destination evidence", () => inbox.evidence(lane.sourceChainId, nonce));
  }

  async close(): Promise<void> {
    this.#rpc.close();
  }

  /** Runs `f`, letting out only adapter errors for what went wrong with the node (see `asAdapterError`). */
  async #mapped<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw asAdapterError(err, what);
    }
  }

  #assertOpen(): void {
    if (this.#rpc.closed.aborted) throw new AdapterError("CLOSED", "the adapter is closed", { facts: { chainId: this.chainId } });
  }

  #require(role: "outbox" | "inbox"): string {
    const address = this.config[role];
    if (!address) {
      throw new AdapterError("INVALID_CONFIG", `invalid adapter config at ${role}: this adapter has no ${role}`, { facts: { path: role } });
    }
    return address;
  }

  #inboxClient(): InboxClient {
    this.#require("inbox");
    return this.#inbox!;
  }

  #laneInbox(lane: Lane): InboxClient {
    this.#assertOpen();
    if (lane.destinationChainId !== this.chainId) {
      throw new AdapterError("WRONG_LANE", "the lane does not end on this chain", {
        facts: { destinationChainId: lane.destinationChainId, chainId: this.chainId },
      });
    }
    return this.#inboxClient();
  }
}

/** Checks that a Shandu contract of `role` is at `address` and serves `chainId`. */
async function checkContract(rpc: EvmRpc, role: "outbox" | "inbox", address: string, chainId: ChainId): Promise<void> {
  const code = await rpc.request(`code at ${role} ${address}`, (p) => p.getCode(address));
  if (code === "0x") {
    throw new AdapterError("CONTRACT_NOT_DEPLOYED", `no contract at the configured ${role} address`, { facts: { role, address } });
  }
  let contractChainId: bigint;
  try {
    const [id] = await rpc.call(role === "outbox" ? outboxAbi : inboxAbi, address, "chainId", []);
    contractChainId = id as bigint;
  } catch (err) {
    if (err instanceof AdapterError) throw err;
    // The code there has no `chainId()` (it reverts, or returns nothing): not a Shandu contract.
    if (classifyRpcError(err) === "revert" || (err as { code?: string }).code === "BAD_DATA") {
      throw new AdapterError("CONTRACT_NOT_DEPLOYED", `the contract at the ${role} address is not a Shandu ${role}`, {
        facts: { role, address },
        cause: err,
      });
    }
    throw err;
  }
  if (contractChainId !== chainId) {
    throw new AdapterError("WRONG_CHAIN_ID", `the ${role} serves another Shandu chain`, {
      facts: { role, address, expected: chainId, actual: contractChainId },
    });
  }
}

/**
 * Connects to the node and checks it before handing out an adapter: the EIP-155 chain id
 * (`WRONG_CHAIN_ID`), code at the outbox and inbox addresses (`CONTRACT_NOT_DEPLOYED`) and their own
 * `chainId()` against the configured Shandu chain id (`WRONG_CHAIN_ID`). Also throws `RPC_*` and
 * `INVALID_CONFIG` (an unreadable signing key).
 */
async function create(config: EvmAdapterConfig): Promise<EvmAdapter> {
  const wallet = config.signer ? await loadSigner(config.signer) : undefined;
  const rpc = new EvmRpc(config);
  try {
    const reported = BigInt(await rpc.request("eth_chainId", (p) => p.send("eth_chainId", [])));
    if (reported !== config.evmChainId) {
      throw new AdapterError("WRONG_CHAIN_ID", "the node serves another EVM chain", {
        facts: { expected: config.evmChainId, actual: reported },
      });
    }
    if (config.outbox) await checkContract(rpc, "outbox", config.outbox, config.chainId);
    if (config.inbox) await checkContract(rpc, "inbox", config.inbox, config.chainId);
    return new EvmAdapter(config, rpc, wallet);
  } catch (err) {
    rpc.close();
    throw asAdapterError(err, "connecting");
  }
}

/** The EVM adapter module: `{ kind: "evm", parseConfig, create }`. */
export const evmAdapterModule: AdapterModule<EvmAdapterConfig> = {
  kind: "evm",
  parseConfig: parseEvmConfig,
  create: (config) => create(config),
};
