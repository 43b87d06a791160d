/**
 * Reading the inbox: its trusted genesis, its committee registry, which (lane, nonce) it executed, which
 * lanes are paused, and the `BatchDelivered` log that proves an execution.
 */
import { AdapterError, type DeliveryStatus } from "@shandu/adapter-core";
import { type ChainId, deliveryOutcome, type Evidence, fromHex } from "@shandu/proofs";
import { type Log, toBeHex, zeroPadValue } from "ethers";
import { BATCH_DELIVERED_TOPIC, inboxAbi } from "./abi.ts";
import { buildDeliveryEvidence } from "./evidence.ts";
import type { EvmRpc } from "./rpc.ts";

export interface InboxOptions {
  chainId: ChainId;
  inbox: string;
  logRangeBlocks: number;
  deploymentBlock: bigint;
}

/** A registered committee as the inbox holds it. */
export interface RegisteredCommittee {
  committeeSetHash: Uint8Array;
  activatesAt: bigint;
  graceSeconds: number;
}

const topicOf = (v: bigint): string => zeroPadValue(toBeHex(v), 32);

export class InboxClient {
  readonly #rpc: EvmRpc;
  readonly #opts: InboxOptions;
  #genesis: Promise<RegisteredCommittee & { epoch: bigint }> | undefined;

  constructor(rpc: EvmRpc, opts: InboxOptions) {
    this.#rpc = rpc;
    this.#opts = opts;
  }

  get address(): string {
    return this.#opts.inbox;
  }

  /** The committee the inbox was deployed with (read once: it is immutable). */
  async genesis(signal?: AbortSignal): Promise<RegisteredCommittee & { epoch: bigint }> {
    this.#genesis ??= (async () => {
      const [epoch] = await this.#rpc.call(inboxAbi, this.address, "genesisEpoch", [], signal);
      const c = await this.committee(epoch as bigint, signal);
      if (!c) throw new AdapterError("CONTRACT_NOT_DEPLOYED", "the inbox has no genesis committee", { facts: { address: this.address } });
      return { epoch: epoch as bigint, ...c };
    })();
    try {
      return await this.#genesis;
    } catch (err) {
      this.#genesis = undefined;
      throw err;
    }
  }

  /** The committee registered for `epoch`, or `null`. */
  async committee(epoch: bigint, signal?: AbortSignal): Promise<RegisteredCommittee | null> {
    const [hash, activatesAt, graceSeconds] = await this.#rpc.call(inboxAbi, this.address, "committee", [epoch], signal);
    const committeeSetHash = fromHex(hash as string, 32);
    if (committeeSetHash.every((b) => b === 0)) return null;
    return { committeeSetHash, activatesAt: activatesAt as bigint, graceSeconds: Number(graceSeconds) };
  }

  async latestEpoch(signal?: AbortSignal): Promise<bigint> {
    const [epoch] = await this.#rpc.call(inboxAbi, this.address, "latestEpoch", [], signal);
    return epoch as bigint;
  }

  async isDelivered(sourceChainId: ChainId, nonce: bigint, signal?: AbortSignal): Promise<boolean> {
    const [done] = await this.#rpc.call(inboxAbi, this.address, "isDelivered", [sourceChainId, nonce], signal);
    return done as boolean;
  }

  async lanePaused(sourceChainId: ChainId, signal?: AbortSignal): Promise<boolean> {
    const [paused] = await this.#rpc.call(inboxAbi, this.address, "lanePaused", [sourceChainId], signal);
    return paused as boolean;
  }

  async status(sourceChainId: ChainId, nonce: bigint): Promise<DeliveryStatus> {
    const [delivered, lanePaused] = await Promise.all([this.isDelivered(sourceChainId, nonce), this.lanePaused(sourceChainId)]);
    return { status: delivered ? "delivered" : "not-delivered", lanePaused };
  }

  /**
   * The `BatchDelivered` log of the lane from `sourceChainId` whose outcome for `nonce` is 1 (executed) or
   * 3 (executed, recipient failed), searched backwards from the head in ranges of `logRangeBlocks` down
   * to `deploymentBlock`, or `null`. A nonce is executed once, so at most one log matches (unless a
   * reorganisation moved it; then the latest is taken).
   */
  async deliveredLog(sourceChainId: ChainId, nonce: bigint): Promise<Log | null> {
    const head = BigInt(await this.#rpc.request("head block number", (p) => p.getBlockNumber()));
    const topics = [BATCH_DELIVERED_TOPIC, topicOf(sourceChainId)];
    const step = BigInt(this.#opts.logRangeBlocks);
    for (let to = head; to >= this.#opts.deploymentBlock; to -= step) {
      const from = to - step + 1n > this.#opts.deploymentBlock ? to - step + 1n : this.#opts.deploymentBlock;
      const logs = await this.#rpc.request(`BatchDelivered logs of blocks ${from}..${to}`, (p) =>
        p.getLogs({ address: this.address, topics, fromBlock: from, toBlock: to }),
      );
      const found = logs.findLast((l) => !l.removed && executes(l, nonce));
      if (found) return found;
      if (from === this.#opts.deploymentBlock) break;
    }
    return null;
  }

  /**
   * Evidence of kind `evm-delivery` that (lane from `sourceChainId`, nonce) was executed here: the
   * delivering transaction and its receipt proven in their block, and the index of its `BatchDelivered`
   * log (see `@shandu/proofs` `evmDeliveryEvidenceVerifier`); `null` when the inbox has not executed it.
   * A message whose recipient failed gets evidence too, which its verifier fails with `DELIVERY_FAILED`.
   * Throws `MESSAGE_NOT_FOUND` when the inbox says it executed the message but its log is not found (logs
   * pruned, or `deploymentBlock` set too high), and the builder's errors (see `buildDeliveryEvidence`).
   */
  async evidence(sourceChainId: ChainId, nonce: bigint): Promise<Evidence | null> {
    if (!(await this.isDelivered(sourceChainId, nonce))) return null;
    const log = await this.deliveredLog(sourceChainId, nonce);
    if (!log) {
      throw new AdapterError("MESSAGE_NOT_FOUND", "the inbox executed the message but its BatchDelivered log was not found", {
        facts: { chainId: this.#opts.chainId, sourceChainId, nonce, inbox: this.address, deploymentBlock: this.#opts.deploymentBlock },
      });
    }
    // The builder lets transport errors through; the request wrapper repeats and maps them.
    return this.#rpc.request(`delivery evidence for ${log.transactionHash}`, (p) =>
      buildDeliveryEvidence(p, { txHash: log.transactionHash, blockLogIndex: log.index, inbox: this.address }),
    );
  }
}

/** Whether a `BatchDelivered` log says its delivery executed `nonce` (outcome 1 or 3). */
function executes(log: Log, nonce: bigint): boolean {
  const parsed = inboxAbi.parseLog({ topics: [...log.topics], data: log.data });
  if (!parsed) return false;
  const outcome = deliveryOutcome(parsed.args.getValue("fromNonce") as bigint, fromHex(parsed.args.getValue("outcomes") as string), nonce);
  return outcome === 1 || outcome === 3;
}
