/**
 * `@shandu/proofs` — the Shandu protocol core. Depends on nothing else in the repository so that
 * auditors can review it on its own. See docs/protocol.md for the byte-level specification.
 */

export {
  type AllianceAgreement,
  type ConfirmedRedemption,
  checkSettlement,
  compareIds,
  EMPTY_SETTLEMENT_TREE_ROOT,
  EXACT_NETTING_LIMIT,
  encodeSettlementHeader,
  encodeSettlementLine,
  type GrossObligation,
  MAX_CURRENCY_BYTES,
  MAX_INSTITUTION_ID_BYTES,
  type NetPosition,
  type Netting,
  type NettingMethod,
  netting,
  nettingExact,
  nettingGreedy,
  proveLine,
  type Rate,
  recomputeSettlement,
  SETTLEMENT_TAG,
  SETTLEMENT_VERSION,
  type SettlementBatch,
  type SettlementHeader,
  type SettlementLine,
  type SettlementLineProof,
  type SettlementWindow,
  settlementLineLeaf,
  settlementRootOf,
  type Transfer,
  U128_MAX,
  verifyLine,
  verifySettledLine,
} from "./app/settlement.ts";
export {
  type Attestation,
  aggregatePartials,
  type BatchHeader,
  batchSigningRoot,
  batchSize,
  bitfieldLength,
  decodeAttestation,
  encodeAttestation,
  makeBitfield,
  type PartialSignature,
  readBitfield,
  type VerifiedAttestation,
  verifyAttestation,
} from "./attestation.ts";
export { type BatchVerifyResult, Bls, loadBls, nobleBls } from "./bls/bls.ts";
export {
  type BlsBackend,
  type BlsBackendName,
  type BlsPublicKey,
  DST_POP,
  DST_SIGNATURE,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SIGNATURE_BYTES,
  type SignatureSet,
} from "./bls/interface.ts";
export { keyGen } from "./bls/keygen.ts";
export { type Batch, type BundleExtras, buildBatch, bundleFor } from "./bundle/build.ts";
export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  bundleFromJson,
  bundleToJson,
  decodeBundleBinary,
  type Evidence,
  encodeBundleBinary,
  type InclusionProof,
  type ProofBundle,
  parseBundle,
  type RegulatorEnvelopeRef,
  readBundleBytes,
} from "./bundle/bundle.ts";
export {
  type BundleReport,
  BundleVerifier,
  type EvidenceContext,
  type EvidenceVerifier,
  STEP_NAMES,
  type StepName,
  type StepResult,
  type StepStatus,
  type VerifyOptions,
  verifyBundle,
} from "./bundle/verify.ts";
export { bytesEqual, concatBytes, fromHex, toHex, U64_MAX } from "./bytes.ts";
export {
  type Committee,
  type CommitteeMember,
  checkQuorum,
  committeeSetHash,
  decodeCommittee,
  encodeCommittee,
  type GroupRule,
  MAX_COMMITTEE_MEMBERS,
  type NativeKey,
  NativeKeyScheme,
  type NativeKeySchemeName,
  type QuorumPolicy,
  sameCommittee,
  type VerifiedCommittee,
  verifyCommittee,
} from "./committee.ts";
export {
  AttestationError,
  BlsError,
  BundleError,
  CodecError,
  CommitteeError,
  type Disposition,
  type ErrorFacts,
  EvidenceError,
  type EvidenceErrorCode,
  FiscoError,
  type FiscoErrorCode,
  MerkleError,
  SettlementError,
  type SettlementErrorCode,
  ShanduError,
  TranslogError,
  type TranslogErrorCode,
} from "./errors.ts";
export {
  EVM_RECEIPT_EVIDENCE_KIND,
  type EvmReceiptProof,
  type EvmReceiptVerifierOptions,
  evmReceiptEvidence,
  evmReceiptEvidenceVerifier,
  MESSAGE_SENT_TOPIC,
  messageSentBodyOf,
  parseEvmReceiptEvidence,
} from "./evidence/evm.ts";
export {
  BATCH_DELIVERED_TOPIC,
  type DeliveryOutcome,
  deliveryOutcome,
  EVM_DELIVERY_EVIDENCE_KIND,
  type EvmDeliveryProof,
  type EvmDeliveryVerifierOptions,
  evmDeliveryEvidence,
  evmDeliveryEvidenceVerifier,
  parseEvmDeliveryEvidence,
} from "./evidence/evmDelivery.ts";
export type { EvmInclusionProof } from "./evidence/evmInclusion.ts";
export {
  FISCO_RECEIPT_EVIDENCE_KIND,
  type FiscoReceiptProof,
  type FiscoReceiptVerifierOptions,
  fiscoReceiptEvidence,
  fiscoReceiptEvidenceVerifier,
  messageSentTopic,
  parseFiscoReceiptEvidence,
} from "./evidence/fisco.ts";
export {
  batchDeliveredTopic,
  FISCO_DELIVERY_EVIDENCE_KIND,
  type FiscoDeliveryProof,
  type FiscoDeliveryVerifierOptions,
  fiscoDeliveryEvidence,
  fiscoDeliveryEvidenceVerifier,
  parseFiscoDeliveryEvidence,
} from "./evidence/fiscoDelivery.ts";
export type { FiscoInclusionProof, FiscoSealerPins } from "./evidence/fiscoInclusion.ts";
export { type BuiltTrie, buildTrie, EMPTY_TRIE_ROOT, indexedTrie, indexKey, trieRoot, verifyTrieProof } from "./evidence/mpt.ts";
export { RLP_MAX_DEPTH, type RlpItem, rlpDecode, rlpEncode, rlpUint, uintBytes } from "./evidence/rlp.ts";
export {
  checkSealerQuorum,
  decodeFiscoHeader,
  decodeFiscoReceipt,
  encodeFiscoHeader,
  encodeFiscoReceipt,
  type FiscoHeader,
  type FiscoHeaderData,
  type FiscoLogEntry,
  type FiscoReceiptData,
  fiscoHeaderHash,
  fiscoLogAddress,
  fiscoReceiptHash,
} from "./fisco/block.ts";
export {
  addressOf,
  type CryptoSuite,
  checkSender,
  keccak256,
  publicKeyOf,
  SM2_CURVE,
  SM2_DEFAULT_USER_ID,
  signerPublicKey,
  signHash,
  sm2PointValid,
  sm2Sign,
  sm2Verify,
  sm2Z,
  sm3,
  suiteHash,
} from "./fisco/crypto.ts";
export { fiscoInt32, fiscoInt64, fiscoText } from "./fisco/fields.ts";
export { FISCO_MERKLE_WIDTH, fiscoMerkleProof, fiscoMerkleRoot, verifyFiscoMerkleProof } from "./fisco/merkle.ts";
export { decodeTars, field as tarsField, TarsReader, type TarsStruct, TarsType, type TarsValue, TarsWriter } from "./fisco/tars.ts";
export { DOMAIN, sha256 } from "./hash.ts";
export {
  attestationFromJson,
  attestationToJson,
  batchFromJson,
  batchToJson,
  committeeFromJson,
  committeeToJson,
  type Json,
  messageFromJson,
  messageToJson,
  rotationFromJson,
  rotationToJson,
} from "./json.ts";
export { computeMultiProofRoot, hashLeaf, hashNode, MAX_TREE_LEAVES, MerkleTree, type MultiProof, verifyMultiProof } from "./merkle.ts";
export {
  type ChainId,
  decodeMessage,
  encodeMessage,
  MAX_ADDRESS_BYTES,
  MAX_PAYLOAD_BYTES,
  MESSAGE_VERSION,
  type Message,
  type MessageId,
  MessageKind,
  messageId,
  messageIdOfEncoding,
  type SourcePosition,
} from "./message.ts";
export {
  aggregateNative,
  decodeNativeAttestation,
  encodeNativeAttestation,
  memberNativeKey,
  NATIVE_SIGNATURE_BYTES,
  type NativeAttestation,
  type NativePartial,
  nativeDigest,
  nativePublicKey,
  signNative,
  verifyNativeAttestation,
  verifyNativeSignature,
} from "./native.ts";
export { CommitteeChain, type EpochEntry, type RotationRecord, rotationSigningRoot, verifyCommitteeChain } from "./rotation.ts";
export {
  EMPTY_LOG_ROOT,
  leafHash,
  logLeafData,
  logPublicKey,
  logRoot,
  nodeHash,
  type SignedTreeHeadFields,
  signTreeHead,
  type TreeHead,
  treeHeadBytes,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
} from "./translog.ts";
