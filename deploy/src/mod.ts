/**
 * `@shandu/deploy` — the Solidity contracts' build (`npm run contracts`, see `compile.ts`), a typed reader
 * for the committed artifact, and the encoders that turn `@shandu/proofs` values into the contracts' inputs
 * (`evm.ts` for `ShanduInbox`, `native.ts` for `ShanduNativeInbox` on FISCO BCOS), and the payloads of the
 * cross-alliance redemption contracts (`app.ts`).
 */
export {
  type AuthorisePayload,
  type ConfirmPayload,
  decodeRedemptionPayload,
  encodeRedemptionPayload,
  messageFromOutboxBody,
  REDEMPTION_OP,
  REDEMPTION_PAYLOAD_LENGTH,
  REDEMPTION_PAYLOAD_VERSION,
  type RedemptionPayload,
  RedemptionState,
  type RedemptionStateName,
  type RejectPayload,
  reasonCode,
  redemptionId,
} from "./app.ts";
export {
  type AbiItem,
  type AbiParameter,
  ARTIFACT_PATH,
  type ArtifactFile,
  type ContractArtifact,
  type Hex,
  loadArtifact,
  readArtifactFile,
} from "./artifacts.ts";
export {
  COMPILER_SETTINGS,
  CONTRACTS_DIR,
  type CompileOptions,
  type CompileResult,
  compileContracts,
  describeDrift,
  EVM_VERSION_BY_FOLDER,
  formatArtifact,
  type RunOptions,
  readSources,
  runCompile,
  sourcesHash,
} from "./compile.ts";
export { ContractsError, type ContractsErrorCode } from "./errors.ts";
export {
  type CommitteeInput,
  codeFromBytes32,
  committeeInput,
  type DeliveryParts,
  decodeRejection,
  deliverArgs,
  deliveryParts,
  type EvmAttestation,
  type EvmBatchHeader,
  evmAttestation,
  evmBatchHeader,
  GOVERNANCE_OP,
  g1ToEip2537,
  g2ToEip2537,
  governancePayload,
  REJECTED_SELECTOR,
  ROTATION_NOT_ATTESTED_SELECTOR,
} from "./evm.ts";
export {
  FISCO_CRYPTO_PRECOMPILE,
  FISCO_TIMESTAMP_UNITS_PER_SECOND,
  type GovernanceSourceArg,
  type NativeAttestationArgs,
  type NativeCommitteeInput,
  type NativeInboxDeployment,
  type NativeRotationRecord,
  nativeAttestationArgs,
  nativeCommitteeInput,
  nativeDeliverArgs,
  nativeInboxDeployArgs,
  nativeRotateArgs,
  SM2_VERIFY_SELECTOR,
} from "./native.ts";
