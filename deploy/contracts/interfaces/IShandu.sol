// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Shandu EVM interfaces
/// @notice The outbox (source side) and the inbox with its committee registry (destination side). Byte
/// formats are those of docs/protocol.md; every rejection reverts with `ShanduRejected(code)`, where
/// `code` is the protocol's error code as left-aligned ASCII (e.g. "QUORUM_WEIGHT_NOT_MET").

/// @notice Every refusal by a Shandu contract. `code` is the ASCII error code, left-aligned, zero-padded.
error ShanduRejected(bytes32 code);

/// @notice Receives app messages on the destination chain.
interface IShanduReceiver {
    function shanduReceive(uint64 sourceChainId, bytes calldata sender, uint64 nonce, bytes calldata payload) external;
}

interface IShanduOutbox {
    /// @notice One message sent. `body` is the canonical message encoding (docs/protocol.md §2.1) up to and
    /// including the payload (fields 1–8). The watcher appends fields 9–11 (block number, transaction hash,
    /// index of this log within the transaction's receipt), which the EVM cannot know while executing.
    event MessageSent(uint64 indexed destinationChainId, uint64 indexed nonce, bytes body);

    /// @notice Sends an app message to `recipient` on `destinationChainId`; returns its lane nonce (from 0).
    function send(uint64 destinationChainId, bytes calldata recipient, bytes calldata payload) external returns (uint64 nonce);

    /// @notice Sends a governance message (kind 2, empty recipient). Only the governor fixed at deployment.
    function sendGovernance(uint64 destinationChainId, bytes calldata payload) external returns (uint64 nonce);

    function chainId() external view returns (uint64);
    function governor() external view returns (address);
    /// @notice The nonce the next message on the lane to `destinationChainId` will get (the number sent so far).
    function nextNonce(uint64 destinationChainId) external view returns (uint64);
}

/// @notice The signed header of a batch (docs/protocol.md §6.1).
struct BatchHeader {
    uint64 sourceChainId;
    uint64 destinationChainId;
    uint64 firstNonce;
    uint64 lastNonce;
    bytes32 root;
}

/// @notice An attestation as the inbox takes it: the protocol attestation (§6.3) with the aggregate
/// signature in the uncompressed EIP-2537 G2 encoding (256 bytes) instead of the compressed 96 bytes.
struct EvmAttestation {
    uint64 epoch;
    bytes32 committeeSetHash;
    bytes signers;
    bytes signature;
}

/// @notice A committee as the registry takes it: its canonical encoding (§4.2) plus, for every member in
/// order, the uncompressed EIP-2537 forms of its key (128 bytes each) and proof of possession (256 bytes
/// each). The registry checks that they are the decompressions of the 48- and 96-byte values inside the
/// encoding, and verifies every proof of possession with the pairing precompile.
struct CommitteeInput {
    bytes encoding;
    bytes keys;
    bytes pops;
}

/// @notice What every Shandu inbox offers, whatever it checks attestations with: the events of delivery
/// and governance, `retry`, and the registry and replay-protection views. `IShanduInbox` (BLS, EIP-2537)
/// and the native-key inbox for FISCO BCOS (`deploy/contracts/fisco`) add `deliver` and `rotate` with
/// their own attestation and committee types.
interface IShanduInboxCore {
    event CommitteeRegistered(uint64 indexed epoch, bytes32 committeeSetHash, uint64 activatesAt, uint32 graceSeconds);
    /// @notice A delivery of (part of) the attested batch with root `root`. `outcomes` holds two bits per
    /// nonce from `fromNonce` on (nonce `fromNonce + i` in bits 2i and 2i+1 of the whole string, byte
    /// i/4 and least significant bits first): 0 = not run by this delivery (consumed before), 1 = executed,
    /// 3 = executed and failed (the recipient or governance handler refused it; `retry` may run it again).
    /// One event per delivery instead of one per message keeps a batch cheap; a message's inclusion in
    /// `root` is what its proof bundle proves.
    event BatchDelivered(uint64 indexed sourceChainId, bytes32 indexed root, uint64 fromNonce, bytes outcomes);
    event MessageRetried(bytes32 indexed messageId, bool success);
    event LanePaused(uint64 indexed sourceChainId, bool paused);

    /// @notice Re-executes a consumed message whose execution failed.
    function retry(bytes calldata message) external;

    function chainId() external view returns (uint64);
    function isDelivered(uint64 sourceChainId, uint64 nonce) external view returns (bool);
    function lanePaused(uint64 sourceChainId) external view returns (bool);
    /// @notice The lowest nonce of the lane from `sourceChainId` not yet consumed in order.
    function nextNonce(uint64 sourceChainId) external view returns (uint64);
    function genesisEpoch() external view returns (uint64);
    function latestEpoch() external view returns (uint64);
    function committee(uint64 epoch) external view returns (bytes32 committeeSetHash, uint64 activatesAt, uint32 graceSeconds);
}

interface IShanduInbox is IShanduInboxCore {
    /// @notice Verifies and executes an attested batch (or part of it). `messages` are canonical encodings in
    /// increasing nonce order; `siblings` the multiproof for leaf indices `nonce − firstNonce`. Messages
    /// already consumed are skipped, not executed again.
    function deliver(BatchHeader calldata header, EvmAttestation calldata attestation, bytes[] calldata messages, bytes32[] calldata siblings)
        external;

    /// @notice Registers committee `fromEpoch + 1` from a rotation record (docs/protocol.md §7.2) attested by
    /// committee `fromEpoch`, with the checks of §7.3 in the same order. Submitting a record already
    /// registered is a no-op; a different record for a registered epoch fails `ROTATION_CONFLICT`.
    function rotate(
        uint64 fromEpoch,
        bytes32 fromCommitteeSetHash,
        CommitteeInput calldata to,
        uint64 activatesAtSeconds,
        uint32 graceSeconds,
        EvmAttestation calldata attestation
    ) external;
}
