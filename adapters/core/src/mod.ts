/**
 * `@shandu/adapter-core` — the `ChainAdapter` interface every chain kind implements, the adapter error
 * codes and their dispositions, config and cursor parsing, and an in-memory chain for tests (helpers in
 * `@shandu/adapter-core/testing`).
 */
export { type AdapterModules, chainIdSchema, createAdapter, parseConfigWith, u64Schema } from "./config.ts";
export { compareCursors, cursorFromJson, cursorToJson, startCursor } from "./cursor.ts";
export {
  ADAPTER_ERROR_DISPOSITIONS,
  AdapterError,
  type AdapterErrorCode,
  type DeliveryRejectReason,
  deliveryRejected,
} from "./errors.ts";
export type {
  AdapterConfigBase,
  AdapterContext,
  AdapterModule,
  CancelOptions,
  ChainAdapter,
  CommitteeProof,
  Cursor,
  Delivery,
  DeliveryReceipt,
  DeliveryStatus,
  Lane,
  WatchItem,
  WatchOptions,
} from "./interface.ts";
export {
  type ExecutedMessage,
  MemoryAdapter,
  type MemoryAdapterConfig,
  MemoryChain,
  type MemoryChainOptions,
  memoryAdapterModule,
  type SendRequest,
} from "./memory.ts";
