/**
 * `@shandu/gateway` — the gateway (aggregation, store, transparency log, gRPC and HTTP APIs), the
 * attester role, the queue between gateways and relayers, and the one configuration file they share.
 * Test harnesses (a real `nats-server`, test databases) are in `@shandu/gateway/testing`.
 */
export type {
  AttestedBatch,
  BatchRef,
  GatewayApi,
  HealthStatus,
  LaneStatus,
  MessageRef,
  SignedTreeHead,
  SubmitPartialRequest,
  SubmitPartialResponse,
  SubmitPartialStatus,
} from "./api.ts";
export { Attester, type AttesterEvent, type AttesterOptions, type BatchPolicy } from "./attester/attester.ts";
export { AttesterJournal, type SignedBatch } from "./attester/journal.ts";
export { type ChainConfig, configSchema, loadConfig, parseConfig, type ShanduConfig } from "./config.ts";
export { GATEWAY_ERRORS, GatewayError, type GatewayErrorCode } from "./errors.ts";
export { readKeyFile } from "./keys.ts";
export { createLogger, type Logger, type LogLevel, silentLogger } from "./log.ts";
export { createGatewayMetrics, createRelayerMetrics } from "./metrics.ts";
export { EmbeddedQueue, type EmbeddedQueueOptions } from "./queue/embedded.ts";
export {
  type BatchQueue,
  batchSubject,
  type ConsumeOptions,
  type PublishResult,
  type QueueMessage,
  type TerminationRecord,
  terminatedSubject,
} from "./queue/interface.ts";
export { connectJetStreamQueue, JetStreamQueue, type JetStreamQueueOptions } from "./queue/jetstream.ts";
export { connectGateway, type GatewayClient, type GatewayClientOptions } from "./rpc/grpcClient.ts";
export { startGrpcServer } from "./rpc/grpcServer.ts";
export { startHttpServer } from "./rpc/httpServer.ts";
export {
  type AttesterHandle,
  type Closable,
  closeAll,
  createAdapters,
  type GatewayHandle,
  loadCommittees,
  openQueue,
  type StartOptions,
  startAttester,
  startGateway,
} from "./runtime.ts";
export { type GatewayEvent, GatewayService, type GatewayServiceOptions } from "./service.ts";
export { migrate, openSql, type SqlClient, type StoreConfig } from "./store/sql.ts";
export { GatewayStore } from "./store/store.ts";
export {
  ATTESTED_BATCH_FORMAT,
  attestedBatchFromJson,
  attestedBatchToJson,
  batchMsgId,
  decodeAttestedBatch,
  encodeAttestedBatch,
} from "./wire.ts";
