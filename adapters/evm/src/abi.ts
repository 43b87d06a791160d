/**
 * The parts of the Shandu contracts' ABI the adapter uses, written out so the adapter runs without the
 * compiled artifacts. They must match deploy/contracts/interfaces/IShandu.sol and ShanduInbox.sol; the
 * integration test calls the deployed contracts through them.
 */
import { Interface } from "ethers";

const BATCH_HEADER = "tuple(uint64 sourceChainId, uint64 destinationChainId, uint64 firstNonce, uint64 lastNonce, bytes32 root)";
const EVM_ATTESTATION = "tuple(uint64 epoch, bytes32 committeeSetHash, bytes signers, bytes signature)";
const COMMITTEE_INPUT = "tuple(bytes encoding, bytes keys, bytes pops)";

export const outboxAbi = new Interface([
  "event MessageSent(uint64 indexed destinationChainId, uint64 indexed nonce, bytes body)",
  "function chainId() view returns (uint64)",
  "function nextNonce(uint64 destinationChainId) view returns (uint64)",
  "error ShanduRejected(bytes32 code)",
]);

export const inboxAbi = new Interface([
  "event BatchDelivered(uint64 indexed sourceChainId, bytes32 indexed root, uint64 fromNonce, bytes outcomes)",
  `function deliver(${BATCH_HEADER} header, ${EVM_ATTESTATION} attestation, bytes[] messages, bytes32[] siblings)`,
  `function rotate(uint64 fromEpoch, bytes32 fromCommitteeSetHash, ${COMMITTEE_INPUT} to, uint64 activatesAtSeconds, uint32 graceSeconds, ${EVM_ATTESTATION} attestation)`,
  "function chainId() view returns (uint64)",
  "function isDelivered(uint64 sourceChainId, uint64 nonce) view returns (bool)",
  "function lanePaused(uint64 sourceChainId) view returns (bool)",
  "function nextNonce(uint64 sourceChainId) view returns (uint64)",
  "function genesisEpoch() view returns (uint64)",
  "function latestEpoch() view returns (uint64)",
  "function committee(uint64 epoch) view returns (bytes32 committeeSetHash, uint64 activatesAt, uint32 graceSeconds)",
  "error ShanduRejected(bytes32 code)",
  "error ShanduRotationNotAttested(bytes32 reason)",
]);

export const MESSAGE_SENT_TOPIC = outboxAbi.getEvent("MessageSent")!.topicHash;
export const BATCH_DELIVERED_TOPIC = inboxAbi.getEvent("BatchDelivered")!.topicHash;
