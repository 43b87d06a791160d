/**
 * `@shandu/deploy` — the Solidity contracts' build (`npm run contracts`, see `compile.ts`), a typed reader
 * for the committed artifact, and the encoders that turn `@shandu/proofs` values into the contracts' inputs
 * (`evm.ts` for `ShanduInbox`, `native.ts` for `ShanduNativeInbox` on FISCO BCOS), and the payloads of the
 * cross-alliance redemption contracts (`app.ts`), the alliance registry's governance (`alliance.ts`), the measured deeds of `GoodDeedRegistry` (`deeds.ts`) and the
 * settlement roots and line proofs of `ShanduSettlement` (`settlementChain.ts`).
 */
export {
  ALLIANCE_GOVERNANCE_VERSION,
  ALLIANCE_MAX_ROLE,
  ALLIANCE_OP,
  ALLIANCE_PAYLOAD_LENGTH,
  ALLIANCE_ROLE,
  type AllianceClassSponsor,
  type AllianceGovernance,
  type AllianceLaneLimit,
  type AllianceLaneSwitch,
  type AllianceMeasurers,
  type AllianceOpName,
  type AllianceRoleChange,
  type AllianceRoleName,
  decodeAllianceGovernance,
  encodeAllianceGovernance,
} from "./alliance.ts";
export {
  type AuthorisePayload,
  type ConfirmPayload,
  decodeRedemptionPayload,
  type ExpiredPayload,
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
export {
  DEED_HASH_PREIMAGE_BYTES,
  DEED_TAG,
  type Deed,
  type DeedTarget,
  deedAttestation,
  deedHash,
  deedSigningRoot,
  type EvmDeed,
  evmDeed,
} from "./deeds.ts";
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
export {
  decodeSettlementPayload,
  encodeSettlementPayload,
  markSettledArgs,
  publishArgs,
  SETTLEMENT_OP,
  SETTLEMENT_PAYLOAD_LENGTH,
  SETTLEMENT_PAYLOAD_VERSION,
  type SettlementRootPayload,
  settlementPayloadOf,
} from "./settlementChain.ts";
