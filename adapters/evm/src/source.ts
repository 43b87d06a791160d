/**
 * Source evidence for a message this chain's outbox emitted: the message must be at the position it
 * names (its transaction's receipt holds, at its log index, the outbox's `MessageSent` whose body and
 * position re-encode to exactly the message) in a final block; then the receipt evidence is built.
 */
import { AdapterError } from "@shandu/adapter-core";
import { bytesEqual, type ChainId, type Evidence, encodeMessage, type Message, ShanduError, toHex } from "@shandu/proofs";
import type { TransactionReceipt } from "ethers";
import { buildReceiptEvidence } from "./evidence.ts";
import type { EvmRpc } from "./rpc.ts";
import { finalizedBlockNumber, messageFromLog } from "./watch.ts";

export interface SourceOptions {
  chainId: ChainId;
  outbox: string;
  finalityDepthBlocks: number;
}

/**
 * Throws `NOT_FINALIZED` (retry), `MESSAGE_NOT_FOUND`, `RPC_*`, or the builder's `EvidenceError` when
 * the node's answers do not hash to its own block header.
 */
export async function sourceEvidence(rpc: EvmRpc, opts: SourceOptions, message: Message): Promise<Evidence> {
  const n = message.source.blockNumber;
  const facts = { chainId: opts.chainId, blockNumber: n, txHash: toHex(message.source.txHash), logIndex: message.source.logIndex };
  const notFound = (why: string, cause?: unknown): AdapterError =>
    new AdapterError("MESSAGE_NOT_FOUND", `no such message at the source position it names: ${why}`, { facts, cause });
  if (message.sourceChainId !== opts.chainId) throw notFound("the message is from another chain");
  const finalized = await finalizedBlockNumber(rpc, opts.finalityDepthBlocks);
  if (n > finalized) {
    throw new AdapterError("NOT_FINALIZED", "the message's block is not final yet", {
      facts: { ...facts, finalizedBlockNumber: finalized },
    });
  }
  let encoding: Uint8Array;
  try {
    encoding = encodeMessage(message);
  } catch (cause) {
    if (cause instanceof ShanduError) throw notFound("the message does not encode", cause);
    throw cause;
  }
  const txHash = toHex(message.source.txHash);
  const receipt: TransactionReceipt | null = await rpc.request(`receipt ${txHash}`, (p) => p.getTransactionReceipt(txHash));
  if (!receipt || BigInt(receipt.blockNumber) !== n) throw notFound("no such transaction in that block");
  const log = receipt.logs[message.source.logIndex];
  if (!log || log.address.toLowerCase() !== opts.outbox.toLowerCase()) throw notFound("no outbox log at that index");
  let emitted: Uint8Array;
  try {
    emitted = messageFromLog(opts.chainId, log, message.source.logIndex).encoding;
  } catch (cause) {
    throw notFound("the log is not the message", cause);
  }
  if (!bytesEqual(emitted, encoding)) throw notFound("the outbox emitted a different message there");
  // The builder lets transport errors through; the request wrapper repeats and maps them.
  return rpc.request(`receipt evidence for ${txHash}`, (p) =>
    buildReceiptEvidence(p, { txHash, logIndexInReceipt: message.source.logIndex, outbox: opts.outbox }),
  );
}
