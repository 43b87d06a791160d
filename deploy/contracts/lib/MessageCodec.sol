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
        uint256 len = m.length;
        if (len < 1) revert ShanduRejected("TRUNCATED");
        if (uint8(m[0]) != VERSION) revert ShanduRejected("UNKNOWN_VERSION");
        if (len < 26) revert ShanduRejected("TRUNCATED");
        f.sourceChainId = uint64(bytes8(m[1:9]));
        f.destinationChainId = uint64(bytes8(m[9:17]));
        f.nonce = uint64(bytes8(m[17:25]));
        f.kind = uint8(m[25]);
        if (f.kind != KIND_APP && f.kind != KIND_GOVERNANCE) revert ShanduRejected("UNKNOWN_KIND");
        uint256 pos = 26;
        (f.senderOffset, f.senderLength, pos) = _bytes8(m, pos);
        (f.recipientOffset, f.recipientLength, pos) = _bytes8(m, pos);
        if (len < pos + 4) revert ShanduRejected("TRUNCATED");
        uint256 pl = uint32(bytes4(m[pos:pos + 4]));
        if (pl > MAX_PAYLOAD_BYTES) revert ShanduRejected("FIELD_TOO_LONG");
        pos += 4;
        if (len < pos + pl) revert ShanduRejected("TRUNCATED");
        f.payloadOffset = pos;
        f.payloadLength = pl;
        pos += pl;
        if (len < pos + SOURCE_BYTES) revert ShanduRejected("TRUNCATED");
        if (len > pos + SOURCE_BYTES) revert ShanduRejected("TRAILING_BYTES");
    }

    function _bytes8(bytes calldata m, uint256 pos) private pure returns (uint256 offset, uint256 length, uint256 next) {
        if (m.length < pos + 1) revert ShanduRejected("TRUNCATED");
        length = uint8(m[pos]);
        if (length > MAX_ADDRESS_BYTES) revert ShanduRejected("FIELD_TOO_LONG");
        offset = pos + 1;
        next = offset + length;
        if (m.length < next) revert ShanduRejected("TRUNCATED");
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
