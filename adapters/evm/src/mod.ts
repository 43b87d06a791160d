/**
 * `@shandu/adapter-evm` — the Shandu `ChainAdapter` for EVM chains: it watches a `ShanduOutbox` for
 * final `MessageSent` events, builds receipt-proof source evidence, delivers attested batches to a
 * `ShanduInbox`, and builds receipt-proof destination evidence of their execution. An anvil test harness
 * is in `@shandu/adapter-evm/testing`.
 */
export { BATCH_DELIVERED_TOPIC, inboxAbi, outboxAbi } from "./abi.ts";
export { EvmAdapter, evmAdapterModule } from "./adapter.ts";
export { type EvmAdapterConfig, evmConfigSchema, parseEvmConfig } from "./config.ts";
export { deliverCalldata, rotateCalldata } from "./encode.ts";
export {
  asAdapterError,
  classifyRpcError,
  decodeShanduRevert,
  type RpcFailure,
  rejectionFromRevert,
  revertData,
  type ShanduRevert,
  toAdapterError,
} from "./errors.ts";
export { buildDeliveryEvidence, buildReceiptEvidence, type DeliveryEvidenceRequest, type ReceiptEvidenceRequest } from "./evidence.ts";
export { executedNonces } from "./submit.ts";
export { messageEncodingOf, messageFromLog } from "./watch.ts";
