// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @notice Test stand-in for the delivery surface of the FISCO BCOS native-key inbox, for testing
/// destination evidence before that inbox exists. It is NOT an inbox: it verifies nothing (no
/// co-signatures, no Merkle proofs) and calls no recipient. `deliver` takes the inbox's arguments and
/// emits `BatchDelivered` exactly as the inbox does (IShandu.sol): two bits per nonce from the batch's
/// first nonce, 1 = executed, 3 = executed and the recipient failed (for nonces marked with `failOn`),
/// 0 = not run by this delivery (delivered before). `isDelivered`, `lanePaused` and `chainId` answer as
/// the inbox's views do.
contract FiscoDeliveryEventEmitter {
    struct BatchHeader {
        uint64 sourceChainId;
        uint64 destinationChainId;
        uint64 firstNonce;
        uint64 lastNonce;
        bytes32 root;
    }

    struct NativeAttestation {
        uint64 epoch;
        bytes32 committeeSetHash;
        bytes signers;
        bytes signatures;
    }

    event BatchDelivered(uint64 indexed sourceChainId, bytes32 indexed root, uint64 fromNonce, bytes outcomes);

    uint64 public immutable chainId;
    /// @notice Whether (source chain, nonce) was delivered.
    mapping(uint64 => mapping(uint64 => bool)) public isDelivered;
    /// @notice Nonces whose execution is reported as failed (outcome 3).
    mapping(uint64 => bool) public failing;

    constructor(uint64 chainId_) {
        chainId = chainId_;
    }

    /// @notice No in-order prefix is tracked: every nonce is looked up in `isDelivered`.
    function nextNonce(uint64) external pure returns (uint64) {
        return 0;
    }

    function lanePaused(uint64) external pure returns (bool) {
        return false;
    }

    function failOn(uint64 nonce) external {
        failing[nonce] = true;
    }

    /// @notice Marks each message's nonce (bytes 17..25 of its encoding) delivered and emits the outcomes.
    function deliver(BatchHeader calldata h, NativeAttestation calldata, bytes[] calldata messages, bytes32[] calldata) external {
        uint256 span = uint256(h.lastNonce - h.firstNonce) + 1;
        bytes memory outcomes = new bytes((span + 3) / 4);
        for (uint256 i = 0; i < messages.length; i++) {
            uint64 nonce = uint64(bytes8(messages[i][17:25]));
            if (isDelivered[h.sourceChainId][nonce]) continue;
            isDelivered[h.sourceChainId][nonce] = true;
            uint256 offset = nonce - h.firstNonce;
            uint8 outcome = failing[nonce] ? 3 : 1;
            outcomes[offset / 4] = bytes1(uint8(outcomes[offset / 4]) | (outcome << uint8(2 * (offset % 4))));
        }
        emit BatchDelivered(h.sourceChainId, h.root, h.firstNonce, outcomes);
    }
}
