/**
 * `@shandu/adapter-fisco-bcos` — FISCO BCOS 2.x and 3.x: transaction codecs (3.x TARS, 2.x RLP), the
 * transaction hash and both signature suites (ECDSA with keccak-256; SM2 with SM3), checked against the
 * official SDKs' golden vectors. The chain adapter itself (RPC, watch, delivery, evidence) builds on these.
 */
export {
  addressOf,
  type CryptoSuite,
  checkSender,
  decodeTars,
  keccak256,
  publicKeyOf,
  SM2_CURVE,
  SM2_DEFAULT_USER_ID,
  signerPublicKey,
  signHash,
  sm2Verify,
  sm2Z,
  sm3,
  suiteHash,
  TarsReader,
  type TarsStruct,
  TarsType,
  type TarsValue,
  TarsWriter,
} from "@shandu/proofs";
export { FiscoAdapter, type FiscoAdapterConfig, fiscoAdapterModule, fiscoConfigSchema } from "./adapter.ts";
export { DeliveryLocator, type DeliveryLocatorOptions, type DeliveryPosition } from "./deliveries.ts";
export { FiscoError, type FiscoErrorCode } from "./errors.ts";
export {
  buildFiscoDeliveryEvidence,
  buildFiscoReceiptEvidence,
  type FiscoDeliveryEvidenceRequest,
  type FiscoEvidenceRequest,
  type FiscoInclusionRequest,
} from "./evidence.ts";
export {
  FiscoRpcClient,
  type FiscoRpcOptions,
  type FiscoTlsOptions,
  flatProof,
  headerFromJson,
  type RpcReceipt,
  type RpcTransaction,
  receiptFromJson,
  transactionFromJson,
} from "./rpc.ts";
export {
  blockV2FromJson,
  FiscoV2RpcClient,
  type FiscoV2RpcOptions,
  proofV2FromJson,
  type RpcV2Block,
  type RpcV2Receipt,
  type RpcV2ReceiptWithProof,
  type RpcV2Transaction,
  type RpcV2TransactionWithProof,
  receiptV2FromJson,
  transactionV2FromJson,
  verifyV2ReceiptProof,
  verifyV2TransactionProof,
} from "./rpcV2.ts";
export {
  FiscoTransactionError,
  type FiscoTransactionErrorCode,
  FiscoTransactionStatus,
  type FiscoTransactionStatusName,
  fiscoStatusName,
} from "./status.ts";
export {
  type CheckedTransactionV3,
  checkTransactionV3,
  decodeTransactionV3,
  encodeTransactionV3,
  signTransactionV3,
  type TransactionDataV3,
  type TransactionV3,
  transactionHashInput,
  transactionHashV3,
} from "./transaction.ts";
export { type CheckedTransactionV2, checkTransactionV2, type TransactionV2 } from "./transactionV2.ts";
