// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {BatchHeader, IShanduInboxCore} from "../../interfaces/IShandu.sol";

/// @notice A native co-signature as the native inbox takes it (proofs/src/native.ts): the signer bitfield
/// of docs/protocol.md §6.2 (ceil(n/8) bytes, least significant bit first, no bit at a position ≥ n) and
/// one signature per signer, concatenated in increasing member order: secp256k1 `r ‖ s ‖ v` (65 bytes,
/// v ∈ {27, 28}, low s) or SM2 `r ‖ s` (64 bytes). The signed 32 bytes are
/// `SHA-256("SHANDU-NATIVE-v1" ‖ u8 scheme ‖ signingRoot)`.
struct NativeAttestation {
    uint64 epoch;
    bytes32 committeeSetHash;
    bytes signers;
    bytes signatures;
}

/// @notice A committee as the native registry takes it: its canonical encoding (§4.2) plus, for every member
/// that lists a key of the inbox's scheme, in member order, that key (the member's first of the scheme)
/// uncompressed as 64 bytes `x ‖ y`. The registry checks each is a point of the scheme's curve and the
/// same point as the key inside the encoding (for a compressed secp256k1 key: the same x and the parity of y).
struct NativeCommitteeInput {
    bytes encoding;
    bytes keys;
}

/// @notice The destination contract for chains without a BLS12-381 verifier (FISCO BCOS): attestations are
/// k-of-n co-signatures with chain-native keys under the committee's own quorum policy.
interface IShanduNativeInbox is IShanduInboxCore {
    /// @notice Verifies and executes an attested batch (or part of it), as `IShanduInbox.deliver` does, with a
    /// native attestation over the batch signing root (§6.1).
    function deliver(
        BatchHeader calldata header,
        NativeAttestation calldata attestation,
        bytes[] calldata messages,
        bytes32[] calldata siblings
    ) external;

    /// @notice Registers committee `fromEpoch + 1` from a rotation record (§7.2) whose rotation signing root
    /// (§7.1) committee `fromEpoch` co-signed with its native keys, with the checks and codes of
    /// `IShanduInbox.rotate`.
    function rotate(
        uint64 fromEpoch,
        bytes32 fromCommitteeSetHash,
        NativeCommitteeInput calldata to,
        uint64 activatesAtSeconds,
        uint32 graceSeconds,
        NativeAttestation calldata attestation
    ) external;

    /// @notice The native key scheme the inbox checks: 1 = secp256k1, 2 = SM2 (§4.6).
    function scheme() external view returns (uint8);
}
