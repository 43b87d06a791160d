/**
 * Delivering an attested batch to the inbox. Everything in the delivery is untrusted and the inbox
 * verifies all of it; the adapter only spares transactions that would fail and makes repeats cheap:
 *
 * 1. the delivery's genesis must be the inbox's own (`GENESIS_MISMATCH`), checked from the registry,
 *    and the delivery must fit the contract's form (see `encode.ts`);
 * 2. rotations the inbox does not know yet (epoch above its latest) are registered, in order, each by
 *    its own `rotate` transaction (the inbox checks each against the committee before it);
 * 3. `deliver` is simulated (`eth_estimateGas`): a refusal becomes `DELIVERY_REJECTED` with the
 *    inbox's code, or `LANE_PAUSED` — so a delivery is verified even when everything in it was
 *    delivered before, as the in-memory inbox does (unlike it, a paused lane is reported only when the
 *    delivery would execute an app message on it: the inbox lets governance, which resumes lanes, through);
 * 4. when every message was delivered before, nothing is sent; otherwise the transaction is sent with
 *    gas limit = estimate × margin, and the outcomes in its `BatchDelivered` event say what it executed
 *    (a message whose recipient failed counts as executed: it is consumed, and retryable on chain).
 */
import { AdapterError, type Delivery, type DeliveryReceipt, deliveryRejected } from "@shandu/adapter-core";
import {
  bytesEqual,
  type ChainId,
  committeeSetHash,
  deliveryOutcome,
  fromHex,
  type RotationRecord,
  ShanduError,
  toHex,
} from "@shandu/proofs";
import type { TransactionReceipt } from "ethers";
import { BATCH_DELIVERED_TOPIC, inboxAbi } from "./abi.ts";
import { deliverCalldata, rotateCalldata } from "./encode.ts";
import { classifyRpcError, rejectionFromRevert, toAdapterError } from "./errors.ts";
import type { InboxClient } from "./inbox.ts";
import type { EvmRpc } from "./rpc.ts";
import type { TxSender } from "./sender.ts";

export interface SubmitContext {
  chainId: ChainId;
  rpc: EvmRpc;
  inbox: InboxClient;
  sender: TxSender;
  /** Attempts at a transaction that reverted on chain although its simulation passed. */
  maxRetries: number;
}

/** Simulates a call from the delivery account; a revert becomes the inbox's refusal. */
async function estimate(ctx: SubmitContext, what: string, data: string, signal: AbortSignal, facts = {}): Promise<bigint> {
  try {
    return await ctx.rpc.request(
      `${what}: simulation`,
      (p) => p.estimateGas({ from: ctx.sender.address, to: ctx.inbox.address, data }),
      signal,
    );
  } catch (err) {
    if (err instanceof AdapterError) throw err;
    if (classifyRpcError(err) === "revert") throw rejectionFromRevert(err, what, facts);
    throw toAdapterError(err, `${what}: simulation`, facts);
  }
}

/**
 * Sends `data` to the inbox and returns the receipt of a transaction that succeeded. A transaction that
 * reverted on chain is simulated again: a refusal is thrown, otherwise (the state moved, or the gas ran
 * short) it is sent again, up to `maxRetries` times, then refused with reason `TRANSACTION_REVERTED`.
 */
async function sendToInbox(
  ctx: SubmitContext,
  what: string,
  data: string,
  signal: AbortSignal,
  facts = {},
  firstEstimate?: bigint,
): Promise<TransactionReceipt> {
  let gasEstimate = firstEstimate ?? (await estimate(ctx, what, data, signal, facts));
  for (let attempt = 0; ; attempt++) {
    const receipt = await ctx.sender.send(what, { to: ctx.inbox.address, data, gasEstimate }, signal);
    if (receipt.status === 1) return receipt;
    gasEstimate = await estimate(ctx, what, data, signal, facts);
    if (attempt >= ctx.maxRetries) {
      throw deliveryRejected("TRANSACTION_REVERTED", `${what}: the transaction reverted on chain`, {
        facts: { ...facts, txHash: receipt.hash, attempts: attempt + 1 },
      });
    }
  }
}

async function checkGenesis(ctx: SubmitContext, d: Delivery, signal: AbortSignal): Promise<void> {
  let supplied: Uint8Array;
  try {
    supplied = committeeSetHash(d.committees.genesis);
  } catch (cause) {
    if (!(cause instanceof ShanduError)) throw cause;
    throw deliveryRejected(cause.code, `the delivery's genesis committee does not encode: ${cause.shortMessage}`, {
      facts: cause.facts,
      cause,
    });
  }
  const genesis = await ctx.inbox.genesis(signal);
  if (!bytesEqual(supplied, genesis.committeeSetHash)) {
    throw deliveryRejected("GENESIS_MISMATCH", "the delivery's genesis committee is not the inbox's trusted genesis", {
      facts: { supplied: toHex(supplied), trusted: toHex(genesis.committeeSetHash), genesisEpoch: genesis.epoch },
    });
  }
}

/** Registers, in order, the rotations to epochs the inbox does not hold yet. */
async function registerRotations(ctx: SubmitContext, rotations: readonly RotationRecord[], signal: AbortSignal): Promise<void> {
  let latest: bigint | undefined;
  for (const [index, r] of rotations.entries()) {
    latest ??= await ctx.inbox.latestEpoch(signal);
    if (r.to.epoch <= latest) continue;
    const facts = { rotation: index, toEpoch: r.to.epoch };
    const data = rotateCalldata(r, index);
    await sendToInbox(ctx, `rotation to epoch ${r.to.epoch}`, data, signal, facts);
    latest = r.to.epoch;
  }
}

/**
 * Nonces of the lane from `sourceChainId` that `receipt` shows the inbox executed, in increasing order
 * within each `BatchDelivered` event (outcome 1 or 3: executions whose recipient failed included), events
 * in log order. Logs of other contracts, events and lanes are ignored.
 */
export function executedNonces(receipt: Pick<TransactionReceipt, "logs">, inbox: string, sourceChainId: ChainId): bigint[] {
  const out: bigint[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== inbox.toLowerCase() || log.topics[0] !== BATCH_DELIVERED_TOPIC) continue;
    const parsed = inboxAbi.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed || (parsed.args.getValue("sourceChainId") as bigint) !== sourceChainId) continue;
    const fromNonce = parsed.args.getValue("fromNonce") as bigint;
    const outcomes = fromHex(parsed.args.getValue("outcomes") as string);
    for (let nonce = fromNonce; nonce < fromNonce + BigInt(outcomes.length) * 4n; nonce++) {
      const outcome = deliveryOutcome(fromNonce, outcomes, nonce);
      if (outcome === 1 || outcome === 3) out.push(nonce);
    }
  }
  return out;
}

/** See the module comment; the caller holds the adapter's submission mutex. */
export async function submitDelivery(ctx: SubmitContext, d: Delivery, signal: AbortSignal): Promise<DeliveryReceipt> {
  const h = d.header;
  if (h.destinationChainId !== ctx.chainId) {
    throw deliveryRejected("WRONG_DESTINATION_CHAIN", "the batch is for another chain", {
      facts: { destinationChainId: h.destinationChainId, chainId: ctx.chainId },
    });
  }
  await checkGenesis(ctx, d, signal);
  // Encoded before any rotation is registered, so that a delivery refused here costs no transaction.
  const data = deliverCalldata(d);
  await registerRotations(ctx, d.committees.rotations, signal);
  const nonces = d.messages.map((m) => m.nonce);
  const facts = { sourceChainId: h.sourceChainId, firstNonce: h.firstNonce, lastNonce: h.lastNonce };
  const gasEstimate = await estimate(ctx, "deliver", data, signal, facts);
  const before = await Promise.all(nonces.map((n) => ctx.inbox.isDelivered(h.sourceChainId, n, signal)));
  if (before.every(Boolean)) return { tx: null, executed: [], alreadyDelivered: nonces };
  const receipt = await sendToInbox(ctx, "deliver", data, signal, facts, gasEstimate);
  const executed = executedNonces(receipt, ctx.inbox.address, h.sourceChainId);
  const done = new Set(executed);
  return {
    tx: { hash: fromHex(receipt.hash, 32), blockNumber: BigInt(receipt.blockNumber) },
    executed,
    alreadyDelivered: nonces.filter((n) => !done.has(n)),
  };
}
