// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ShanduRejected} from "../interfaces/IShandu.sol";
import {Sha256} from "./Sha256.sol";

/// @notice The canonical message encoding (docs/protocol.md §2): decoding from calldata with the reference
/// decoder's checks and error codes, the message id, and the body the outbox emits.
library MessageCodec {
    uint8 internal constant VERSION = 1;
    uint8 internal constant KIND_APP = 1;
    uint8 internal constant KIND_GOVERNANCE = 2;
    uint256 internal constant MAX_ADDRESS_BYTES = 64;
    uint256 internal constant MAX_PAYLOAD_BYTES = 65536;
    /// @dev Fields 9–11: block number (8), transaction hash (32), log index (4).
    uint256 internal constant SOURCE_BYTES = 44;
    /// @dev "SHANDU-MSG-v1", 13 bytes.
    bytes13 internal constant DOMAIN = "SHANDU-MSG-v1";

    /// @notice A decoded message: integers by value, variable fields as offsets into the encoding.
    struct Fields {
        uint64 sourceChainId;
        uint64 destinationChainId;
        uint64 nonce;
        uint8 kind;
        uint256 senderOffset;
        uint256 senderLength;
        uint256 recipientOffset;
        uint256 recipientLength;
        uint256 payloadOffset;
        uint256 payloadLength;
    }

    /// @notice Decodes a canonical encoding; reverts `TRUNCATED`, `UNKNOWN_VERSION`, `UNKNOWN_KIND`,
    /// `FIELD_TOO_LONG` or `TRAILING_BYTES`, in the reference decoder's order.
    function decode(bytes calldata m) internal pure returns (Fields memory f) {
        bytes32 err;
        assembly ("memory-safe") {
            let o := m.offset
            let len := m.length
            for {} 1 {} {
                if lt(len, 1) {
                    err := "TRUNCATED"
                    break
                }
                if iszero(eq(shr(248, calldataload(o)), 1)) {
                    err := "UNKNOWN_VERSION"
                    break
                }
                if lt(len, 26) {
                    err := "TRUNCATED"
                    break
                }
                mstore(f, shr(192, calldataload(add(o, 1))))
                mstore(add(f, 0x20), shr(192, calldataload(add(o, 9))))
                mstore(add(f, 0x40), shr(192, calldataload(add(o, 17))))
                let kind := shr(248, calldataload(add(o, 25)))
                mstore(add(f, 0x60), kind)
                if iszero(or(eq(kind, 1), eq(kind, 2))) {
                    err := "UNKNOWN_KIND"
                    break
                }
                // sender, then recipient: u8 length ≤ 64, then the bytes
                let pos := 26
                let slot := add(f, 0x80)
                for { let i := 0 } lt(i, 2) { i := add(i, 1) } {
                    if lt(len, add(pos, 1)) {
                        err := "TRUNCATED"
                        break
                    }
                    let l := shr(248, calldataload(add(o, pos)))
                    if gt(l, 64) {
                        err := "FIELD_TOO_LONG"
                        break
                    }
                    mstore(slot, add(pos, 1))
                    mstore(add(slot, 0x20), l)
                    slot := add(slot, 0x40)
                    pos := add(add(pos, 1), l)
                    if lt(len, pos) {
                        err := "TRUNCATED"
                        break
                    }
                }
                if err { break }
                if lt(len, add(pos, 4)) {
                    err := "TRUNCATED"
                    break
                }
                let pl := shr(224, calldataload(add(o, pos)))
                if gt(pl, 65536) {
                    err := "FIELD_TOO_LONG"
                    break
                }
                pos := add(pos, 4)
                if lt(len, add(pos, pl)) {
                    err := "TRUNCATED"
                    break
                }
                mstore(add(f, 0x100), pos)
                mstore(add(f, 0x120), pl)
                pos := add(add(pos, pl), 44)
                if lt(len, pos) {
                    err := "TRUNCATED"
                    break
                }
                if gt(len, pos) { err := "TRAILING_BYTES" }
                break
            }
        }
        if (err != 0) revert ShanduRejected(err);
    }

    /// @notice `SHA-256("SHANDU-MSG-v1" ‖ m)` (§2.3). Uses free memory as scratch.
    function id(bytes calldata m) internal view returns (bytes32) {
        uint256 p;
        assembly ("memory-safe") {
            p := mload(0x40)
            mstore(p, DOMAIN)
            calldatacopy(add(p, 13), m.offset, m.length)
        }
        return Sha256.ofMemory(p, 13 + m.length);
    }

    /// @notice Fields 1–8 of the encoding (§2.1), as the outbox emits them.
    function body(uint64 sourceChainId, uint64 destinationChainId, uint64 nonce, uint8 kind, bytes memory sender, bytes calldata recipient, bytes calldata payload)
        internal
        pure
        returns (bytes memory)
    {
        if (sender.length > MAX_ADDRESS_BYTES || recipient.length > MAX_ADDRESS_BYTES) revert ShanduRejected("FIELD_TOO_LONG");
        if (payload.length > MAX_PAYLOAD_BYTES) revert ShanduRejected("FIELD_TOO_LONG");
        return abi.encodePacked(
            VERSION,
            sourceChainId,
            destinationChainId,
            nonce,
            kind,
            uint8(sender.length),
            sender,
            uint8(recipient.length),
            recipient,
            uint32(payload.length),
            payload
        );
    }
}
